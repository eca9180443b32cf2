// NodeClock: one simulated node's view of the shared VirtualClock. It is how the simulator kills a
// node (kill -9: none of its callbacks runs again, its intervals are dropped) and stalls one (a long
// GC pause: callbacks that come due meanwhile wait and run in order once the stall is over).
import { assert } from '../shared/assert.js';
import type { Clock, Timer } from '../shared/clock.js';
import type { VirtualClock } from './clock.js';

/** Callbacks one stall may hold (an interval is held once, however many ticks it missed). */
const DEFERRED_MAX = 100_000;

interface Deferred {
  fn: () => void;
  /** Set for an interval: a stalled interval runs once after the stall, as a blocked Node loop does. */
  key: object | undefined;
}

export class NodeClock implements Clock {
  private deadFlag = false;
  private stallEndMs = 0;
  private deferred: Deferred[] = [];
  private readonly deferredKeys = new Set<object>();

  constructor(readonly base: VirtualClock) {}

  /** True once the node was killed: nothing of it runs any more. */
  get dead(): boolean {
    return this.deadFlag;
  }

  /** True while the node is paused. */
  get stalled(): boolean {
    return this.base.nowMs() < this.stallEndMs;
  }

  kill(): void {
    this.deadFlag = true;
    this.deferred = [];
    this.deferredKeys.clear();
  }

  /** Pauses the node for ms of virtual time (a stall during a stall extends it). */
  stall(ms: number): void {
    assert(ms > 0 && Number.isFinite(ms), `stall of ${ms} ms`);
    this.stallEndMs = Math.max(this.stallEndMs, this.base.nowMs() + ms);
    const end = this.stallEndMs;
    this.base.at(end, () => {
      if (end === this.stallEndMs) this.drain();
    });
  }

  /** When the current stall ends (0 or a past time: not stalled). */
  get stallEnd(): number {
    return this.stallEndMs;
  }

  nowMs(): number {
    return this.base.nowMs();
  }

  wallMs(): number {
    return this.base.wallMs();
  }

  setTimeout(fn: () => void, delayMs: number): Timer {
    return this.base.setTimeout(this.guard(fn, undefined), delayMs);
  }

  setInterval(fn: () => void, intervalMs: number): Timer {
    const key = {};
    let timer: Timer | undefined;
    const guarded = this.guard(fn, key, () => this.base.clearInterval(timer));
    timer = this.base.setInterval(guarded, intervalMs);
    return timer;
  }

  clearTimeout(timer: Timer | null | undefined): void {
    this.base.clearTimeout(timer);
  }

  clearInterval(timer: Timer | null | undefined): void {
    this.base.clearInterval(timer);
  }

  setImmediate(fn: () => void): void {
    this.base.setImmediate(this.guard(fn, undefined));
  }

  soon(fn: () => void): void {
    this.base.soon(this.guard(fn, undefined));
  }

  private guard(fn: () => void, key: object | undefined, onDead?: () => void): () => void {
    return () => {
      if (this.deadFlag) {
        onDead?.();
        return;
      }
      if (this.stalled) {
        if (key !== undefined) {
          if (this.deferredKeys.has(key)) return;
          this.deferredKeys.add(key);
        }
        this.deferred.push({ fn, key });
        assert(this.deferred.length <= DEFERRED_MAX, `a stalled node holds more than ${DEFERRED_MAX} callbacks`);
        return;
      }
      fn();
    };
  }

  /** The stall is over: what came due meanwhile runs now, in the order it came due. */
  private drain(): void {
    const queue = this.deferred;
    this.deferred = [];
    this.deferredKeys.clear();
    for (const d of queue) {
      if (this.deadFlag) return;
      d.fn();
    }
  }
}
