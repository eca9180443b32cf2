// Requests in flight: each request is one object carrying what to send, its absolute deadline and
// retry counts. One deadline list with one sweep timer, and one parking queue with one retry timer.
import { Cmd } from '../protocol/commands.js';
import { assert } from '../shared/assert.js';
import type { Reader, Writer } from '../protocol/codec.js';
import type { ClusterValueInput } from './values.js';

/** A command encoded and decoded outside wire.ts (batches, scan: batch-ops.ts, scan.ts). */
export interface CustomWire {
  /** The reply number that means success. */
  readonly reply: number;
  /** An upper bound of the payload's bytes (checked against the node's frame limit). */
  readonly bytesBound: number;
  encode(w: Writer): void;
  decode(r: Reader): unknown;
}

/** How a request picks its node. */
export const Route = {
  /** The primary of the bucket of `hash`. */
  bucket: 0,
  /** Any usable node. */
  any: 1,
  /** The node named in `target`. */
  node: 2,
} as const;

/** Minimal view of the link a request was written to (avoids an import cycle with node-link). */
export interface RequestHolder {
  readonly addr: string;
  forget(requestId: number): void;
}

export class Request {
  // ---- what to send ----
  cmd = 0;
  map = '';
  key = '';
  /** set/expire: expiry seconds; get: the expected value type. */
  num = 0;
  flags = 0;
  valueType = 0;
  value: ClusterValueInput | undefined = undefined;
  /** incr: the amount; set_if, delete_if: the expected version. */
  big = 0n;
  /** set_if: the condition (SetCondition). */
  cond = 0;
  route: number = Route.bucket;
  /** Routing hash (fnv1a of the key, or of the map name for map entries). */
  hash = 0;
  target = '';
  /** Set for the commands wire.ts does not know (batches, scan). */
  custom: CustomWire | null = null;
  // ---- progress ----
  deadlineMs = 0;
  redirects = 0;
  retries = 0;
  /** Sends whose outcome is unknown (written, no definitive "not applied" answer since). */
  unsureSends = 0;
  /** How many times a link dropped with this request on it. */
  linkLosses = 0;
  /** The link holding this request while in flight, and its request id there. */
  link: RequestHolder | null = null;
  id = 0;
  sentAtMs = 0;
  retryAtMs = 0;
  done = false;
  resolve: (v: unknown) => void = noop;
  reject: (e: Error) => void = noop;
  // ---- deadline list ----
  prev: Request | null = null;
  next: Request | null = null;
}

function noop(): void {}

/** setTimeout's largest delay. */
const TIMER_MAX_MS = 2 ** 31 - 1;

function timerDelay(atMs: number, nowMs: number): number {
  return Math.min(TIMER_MAX_MS, Math.max(1, Math.ceil(atMs - nowMs)));
}

/** Commands that change data: their outcome is unknown once sent and not answered. */
export function isWrite(cmd: number): boolean {
  return cmd === Cmd.set || cmd === Cmd.del || cmd === Cmd.expire || cmd === Cmd.mapDelete || cmd === Cmd.mset || cmd === Cmd.mdelete ||
    (cmd >= Cmd.incr && cmd <= Cmd.deleteIf && cmd !== Cmd.getWithVersion);
}

/**
 * Whether a write may be sent again after its link dropped with it unanswered: the plain writes
 * (batches of them included) land in the same state twice. The atomic ones do not (a second incr
 * adds twice, a second ifAbsent answers false): they fail INDETERMINATE instead.
 */
export function isRetrySafe(cmd: number): boolean {
  return !isWrite(cmd) || cmd === Cmd.set || cmd === Cmd.del || cmd === Cmd.expire || cmd === Cmd.mapDelete || cmd === Cmd.mset || cmd === Cmd.mdelete;
}

/**
 * Every live request, in deadline order. All requests of a client share one timeout, so the order
 * of creation is the order of deadlines and the list stays sorted by appending; one timer is armed
 * for the head's deadline.
 */
export class RequestTracker {
  private head: Request | null = null;
  private tail: Request | null = null;
  count = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly now: () => number,
    private readonly onExpire: (req: Request) => void,
  ) {}

  add(req: Request): void {
    assert(req.deadlineMs >= (this.tail?.deadlineMs ?? 0), 'deadlines must be appended in order');
    req.prev = this.tail;
    req.next = null;
    if (this.tail === null) this.head = req;
    else this.tail.next = req;
    this.tail = req;
    this.count++;
    if (this.timer === null) this.arm();
  }

  remove(req: Request): void {
    if (req.prev === null && this.head !== req) return; // not in the list
    if (req.prev === null) this.head = req.next;
    else req.prev.next = req.next;
    if (req.next === null) this.tail = req.prev;
    else req.next.prev = req.prev;
    req.prev = null;
    req.next = null;
    this.count--;
  }

  /** Removes and returns every live request (close). */
  drain(): Request[] {
    const out: Request[] = [];
    for (let r = this.head; r !== null; r = this.head) {
      this.remove(r);
      out.push(r);
    }
    this.stop();
    return out;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.head === null) return;
    this.timer = setTimeout(() => this.sweep(), timerDelay(this.head.deadlineMs, this.now()));
  }

  private sweep(): void {
    this.timer = null;
    const now = this.now();
    let bound = this.count; // each step removes one request: the loop ends
    while (this.head !== null && this.head.deadlineMs <= now && bound-- > 0) {
      const req = this.head;
      this.remove(req);
      this.onExpire(req);
    }
    this.arm();
  }
}

/**
 * Requests waiting a short while before another attempt (no usable node, retryLater). One timer
 * for the earliest; entries that finished meanwhile (deadline) are skipped when their time comes.
 */
export class ParkQueue {
  private items: Request[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAtMs = Infinity;

  constructor(
    private readonly now: () => number,
    private readonly onRetry: (req: Request) => void,
  ) {}

  get size(): number {
    return this.items.length;
  }

  park(req: Request, delayMs: number): void {
    req.retryAtMs = this.now() + delayMs;
    this.items.push(req);
    if (req.retryAtMs < this.timerAtMs) this.arm(req.retryAtMs);
  }

  /** Retries everything now (a node became usable, the table changed). */
  flushNow(): void {
    if (this.items.length === 0) return;
    const due = this.items;
    this.items = [];
    this.clearTimer();
    for (const r of due) if (!r.done) this.onRetry(r);
  }

  stop(): Request[] {
    this.clearTimer();
    const out = this.items;
    this.items = [];
    return out;
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAtMs = Infinity;
  }

  private arm(atMs: number): void {
    this.clearTimer();
    this.timerAtMs = atMs;
    this.timer = setTimeout(() => this.fire(), timerDelay(atMs, this.now()));
  }

  private fire(): void {
    this.timer = null;
    this.timerAtMs = Infinity;
    const now = this.now();
    const due: Request[] = [];
    const keep: Request[] = [];
    let nextAtMs = Infinity;
    for (const r of this.items) {
      if (r.done) continue;
      if (r.retryAtMs <= now) due.push(r);
      else {
        keep.push(r);
        if (r.retryAtMs < nextAtMs) nextAtMs = r.retryAtMs;
      }
    }
    this.items = keep;
    if (nextAtMs < Infinity) this.arm(nextAtMs);
    for (const r of due) this.onRetry(r);
  }
}
