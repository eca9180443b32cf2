// Pacing of the pushes (server_info 100, hashmask 120) to a client of the original protocol (it
// said hello, 10): at most one push unacknowledged at a time, a bounded queue of the rest (later
// news of the same bucket or address replaces or joins what waits), and a deadline for the ack.
//
// BACKGROUND: the 2012 C client reads at most 1,024 bytes at a time and cannot put together a frame
// split across two reads. A burst of 256 hashmask pushes (6,156 bytes) broke it at connect.
// BEHAVIOR: a push is written only once the client acked the one before (reply 1, reply-to = the
// push's command, the same request id). Replies to the client's own commands never wait here.
// A client that leaves a push unacknowledged for ackTimeoutMs, or lets more pushes wait than the
// queue holds, is given up (the session closes the connection and logs why); it reconnects and
// learns the whole state afresh with its next hello.
import type { Writer } from '../protocol/codec.js';
import type { Clock, Timer } from '../shared/clock.js';
import type { Frame } from '../protocol/header.js';

/** server_info pushes that may wait at once (one per address; a cluster has far fewer nodes). */
export const SERVER_INFO_QUEUED_MAX = 256;

export type GiveUpWhy = 'ackTimeout' | 'queueFull';

export interface PacerEvents {
  /** Writes the push now and returns the request id it carries. */
  write(command: number, encode: (w: Writer) => void): number;
  /** The client does not keep up: the connection is to be closed (the pacer stopped already). */
  giveUp(why: GiveUpWhy, waiting: number): void;
}

interface Outstanding {
  command: number;
  id: number;
  sinceMs: number;
}

interface Queued {
  command: number;
  encode: (w: Writer) => void;
}

export class PushPacer {
  /** Pushes not yet written, in order; keyed so that news of one bucket (or address) waits once. */
  private readonly queue = new Map<number | string, Queued>();
  private outstanding: Outstanding | null = null;
  private timer: Timer | null = null;
  private stopped = false;
  /** Room for the widest table pushed so far, twice (a widening while the old table still waits). */
  private hashmasksQueuedMax = 2 * 256;

  constructor(
    private readonly ackTimeoutMs: number,
    private readonly clock: Clock,
    private readonly events: PacerEvents,
  ) {}

  /** Pushes written and not yet acknowledged (0 or 1) plus pushes waiting. */
  get waiting(): number {
    return this.queue.size + (this.outstanding === null ? 0 : 1);
  }

  /** server_info for an address: not queued twice while it waits. */
  serverInfo(command: number, addr: string, encode: (w: Writer) => void): void {
    const key = `s${addr}`;
    if (this.queue.has(key)) return;
    this.add(key, { command, encode });
  }

  /** hashmask for a bucket (mask, hash): replaces a hashmask of the same bucket that still waits. */
  hashmask(command: number, mask: number, hash: number, encode: (w: Writer) => void): void {
    // mask and hash are at most 0xffff: one number names the bucket.
    const key = mask * 0x10000 + (hash & mask);
    this.queue.delete(key); // the newer news goes last, after everything it may depend on
    this.hashmasksQueuedMax = Math.max(this.hashmasksQueuedMax, 2 * (mask + 1));
    this.add(key, { command, encode });
  }

  /** A reply from the client; true when it acknowledged the push outstanding (the next one goes). */
  onReply(frame: Frame): boolean {
    const o = this.outstanding;
    if (o === null || frame.replyTo !== o.command || frame.requestId !== o.id) return false;
    this.outstanding = null;
    this.pump();
    return true;
  }

  /** Ends the pacing (connection closed): nothing more is written, the timer ends. */
  stop(): void {
    this.stopped = true;
    this.queue.clear();
    this.outstanding = null;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private add(key: number | string, push: Queued): void {
    if (this.stopped) return;
    this.queue.set(key, push);
    if (this.queue.size > this.hashmasksQueuedMax + SERVER_INFO_QUEUED_MAX) return this.giveUp('queueFull');
    this.pump();
  }

  private pump(): void {
    if (this.stopped || this.outstanding !== null) return;
    const next = this.queue.entries().next();
    if (next.done === true) return;
    const [key, push] = next.value;
    this.queue.delete(key);
    const id = this.events.write(push.command, push.encode);
    this.outstanding = { command: push.command, id, sinceMs: this.clock.nowMs() };
    if (this.timer === null) this.arm(this.ackTimeoutMs);
  }

  /** One timer per connection, re-armed lazily: it checks how long the current push has waited. */
  private arm(delayMs: number): void {
    this.timer = this.clock.setTimeout(() => this.onTimer(), delayMs);
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = null;
    const o = this.outstanding;
    if (this.stopped || o === null) return;
    const waitedMs = this.clock.nowMs() - o.sinceMs;
    if (waitedMs >= this.ackTimeoutMs) return this.giveUp('ackTimeout');
    this.arm(this.ackTimeoutMs - waitedMs);
  }

  private giveUp(why: GiveUpWhy): void {
    const waiting = this.waiting;
    this.stop();
    this.events.giveUp(why, waiting);
  }
}
