// VirtualClock: the simulator's Clock. Virtual time stands still while callbacks run and jumps to
// the next due event when the simulator steps; events run in (due time, insertion order), so a run
// is a deterministic function of its inputs. Every run is bounded (events and virtual time).
import { assert } from '../shared/assert.js';
import type { Clock, Timer } from '../shared/clock.js';
import { EventHeap } from './heap.js';

/** Node runs a timer of less than 1 ms (or of no finite delay) after 1 ms; so do we. */
const TIMER_MIN_MS = 1;
const TIMER_MAX_MS = 2 ** 31 - 1;
/** "soon" callbacks that schedule more of themselves are a loop: bounded per drain. */
const SOON_PER_DRAIN_MAX = 1_000_000;
/** Rounds of soon callbacks and promise continuations settled between two events. */
const SETTLE_ROUNDS_MAX = 10_000;
/** Wall time at virtual 0 unless given: fixed, so wall-clock stamps are the same on every run. */
const DEFAULT_WALL_START_MS = Date.UTC(2030, 0, 1);

export class VirtualTimer implements Timer {
  cancelled = false;
  constructor(
    readonly clock: VirtualClock,
    readonly intervalMs: number | undefined,
    readonly fn: () => void,
  ) {}

  /** Nothing keeps a simulation alive but its run limits: unref() only keeps the real API's shape. */
  unref(): Timer {
    return this;
  }
}

interface Event {
  readonly dueMs: number;
  readonly seq: number;
  readonly fn: () => void;
  readonly timer: VirtualTimer | undefined;
}

export interface RunLimits {
  /** Stop after this many events (default 1,000,000). */
  maxEvents?: number;
  /** Stop before running an event due after this virtual time. */
  untilMs?: number;
  /** Stop as soon as this holds (checked before each event). */
  until?: () => boolean;
}

export interface RunResult {
  reason: 'idle' | 'maxEvents' | 'untilMs' | 'until';
  events: number;
  nowMs: number;
}

export class VirtualClock implements Clock {
  private now = 0;
  private seq = 0;
  private readonly heap = new EventHeap<Event>();
  private soonQueue: (() => void)[] = [];
  private readonly wallStartMs: number;
  /** Events run so far (timers, immediates, the network's deliveries). */
  eventsRun = 0;

  constructor(opts: { wallStartMs?: number } = {}) {
    this.wallStartMs = opts.wallStartMs ?? DEFAULT_WALL_START_MS;
  }

  nowMs(): number {
    return this.now;
  }

  wallMs(): number {
    return this.wallStartMs + this.now;
  }

  /** Events waiting (cancelled timers included until they come up). */
  get pending(): number {
    return this.heap.size;
  }

  setTimeout(fn: () => void, delayMs: number): Timer {
    const timer = new VirtualTimer(this, undefined, fn);
    this.push(this.now + timerDelay(delayMs), fn, timer);
    return timer;
  }

  setInterval(fn: () => void, intervalMs: number): Timer {
    const timer = new VirtualTimer(this, timerDelay(intervalMs), fn);
    this.push(this.now + timer.intervalMs!, fn, timer);
    return timer;
  }

  clearTimeout(timer: Timer | null | undefined): void {
    if (timer === null || timer === undefined) return;
    assert(timer instanceof VirtualTimer && timer.clock === this, 'a timer of another clock given to VirtualClock');
    timer.cancelled = true;
  }

  clearInterval(timer: Timer | null | undefined): void {
    this.clearTimeout(timer);
  }

  setImmediate(fn: () => void): void {
    this.push(this.now, fn, undefined);
  }

  soon(fn: () => void): void {
    this.soonQueue.push(fn);
  }

  /** For the simulator's own events (deliveries): fn runs at atMs (not before now), no 1 ms floor. */
  at(atMs: number, fn: () => void): void {
    assert(Number.isFinite(atMs), `event time ${atMs} is not finite`);
    this.push(Math.max(this.now, atMs), fn, undefined);
  }

  /**
   * Runs the soon callbacks, then the next due event (virtual time jumps to it), then the soon
   * callbacks it left. False when no event was waiting. A callback's throw propagates (a crash).
   */
  step(): boolean {
    this.drainSoon();
    for (;;) {
      const ev = this.heap.pop();
      if (ev === undefined) return false;
      if (ev.timer?.cancelled === true) continue;
      this.runEvent(ev);
      return true;
    }
  }

  /**
   * Runs events until a limit is reached or nothing is left. Between events it lets promise
   * continuations run (code on async/await), at the same virtual time, until all is settled.
   */
  async run(limits: RunLimits = {}): Promise<RunResult> {
    const maxEvents = limits.maxEvents ?? 1_000_000;
    let events = 0;
    for (;;) {
      await this.settle();
      if (limits.until?.() === true) return { reason: 'until', events, nowMs: this.now };
      if (events >= maxEvents) return { reason: 'maxEvents', events, nowMs: this.now };
      const next = this.nextLive();
      if (next === undefined) return { reason: 'idle', events, nowMs: this.now };
      if (limits.untilMs !== undefined && next.dueMs > limits.untilMs) {
        this.now = Math.max(this.now, limits.untilMs);
        return { reason: 'untilMs', events, nowMs: this.now };
      }
      this.heap.pop();
      this.runEvent(next);
      events++;
    }
  }

  /** Runs soon callbacks and pending promise continuations until neither is left (bounded). */
  async settle(): Promise<void> {
    for (let round = 0; round < SETTLE_ROUNDS_MAX; round++) {
      this.drainSoon();
      // A real macrotask: every promise continuation queued so far runs first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.soonQueue.length === 0) return;
    }
    assert(false, `soon callbacks and promises still queued after ${SETTLE_ROUNDS_MAX} rounds (a loop)`);
  }

  private nextLive(): Event | undefined {
    for (;;) {
      const ev = this.heap.peek();
      if (ev === undefined || ev.timer?.cancelled !== true) return ev;
      this.heap.pop();
    }
  }

  private runEvent(ev: Event): void {
    assert(ev.dueMs >= this.now, `event due at ${ev.dueMs} ran after ${this.now}`);
    this.now = ev.dueMs;
    this.eventsRun++;
    const timer = ev.timer;
    try {
      ev.fn();
    } finally {
      // As in Node, an interval's next run is scheduled once this one returns.
      if (timer?.intervalMs !== undefined && !timer.cancelled) this.push(this.now + timer.intervalMs, timer.fn, timer);
    }
    this.drainSoon();
  }

  private drainSoon(): void {
    let ran = 0;
    while (this.soonQueue.length > 0) {
      const queue = this.soonQueue;
      this.soonQueue = [];
      for (let i = 0; i < queue.length; i++) {
        try {
          queue[i]!();
        } catch (error) {
          // The throw goes on (a crash); the callbacks after it stay queued for the next drain.
          this.soonQueue = queue.slice(i + 1).concat(this.soonQueue);
          throw error;
        }
      }
      ran += queue.length;
      assert(ran <= SOON_PER_DRAIN_MAX, `more than ${SOON_PER_DRAIN_MAX} soon callbacks in a row (a loop)`);
    }
  }

  private push(dueMs: number, fn: () => void, timer: VirtualTimer | undefined): void {
    this.heap.push({ dueMs, seq: this.seq++, fn, timer });
  }
}

function timerDelay(delayMs: number): number {
  return delayMs >= TIMER_MIN_MS && delayMs <= TIMER_MAX_MS ? delayMs : TIMER_MIN_MS;
}
