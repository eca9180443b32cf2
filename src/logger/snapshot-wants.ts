// The buckets the logging node needs a snapshot of (a gap, a rewind, a restarted history, or a
// bucket first seen without one), and the asking: snapshot_request to every linked node (only the
// primary acks and sends it), again every RETRY_MS until a whole snapshot of the bucket arrives,
// at most ATTEMPTS_MAX times; then the logger says so and compact reports the gap.
import type { Logger } from 'pino';
import type { BucketRef } from '../protocol/messages/node.js';
import { bucketName } from './bucket-tracker.js';

/** Buckets wanted at once, at most (a table has at most this many); further wants are counted and dropped. */
export const WANTED_MAX = 65_536;
/** Requests sent per link per tick, at most. */
const REQUESTS_PER_TICK_MAX = 64;
const RETRY_MS = 5000;
const ATTEMPTS_MAX = 12;

interface Want {
  ref: BucketRef;
  why: string;
  askedAtMs: number;
  attempts: number;
}

/** What the wants need of a link. */
export interface SnapshotSource {
  readonly open: boolean;
  requestSnapshot(ref: BucketRef): void;
}

export class SnapshotWants {
  private readonly wanted = new Map<string, Want>();
  requested = 0;
  received = 0;
  givenUp = 0;
  overflow = 0;

  constructor(private readonly log: Logger) {}

  get outstanding(): number {
    return this.wanted.size;
  }

  want(ref: BucketRef, why: string): void {
    const name = bucketName(ref.mask, ref.hash);
    if (this.wanted.has(name)) return;
    if (this.wanted.size >= WANTED_MAX) {
      this.overflow++;
      return;
    }
    this.wanted.set(name, { ref: { mask: ref.mask, hash: ref.hash }, why, askedAtMs: 0, attempts: 0 });
  }

  /** A whole snapshot of `ref` arrived: it and the buckets it holds are no longer wanted. */
  done(ref: BucketRef): void {
    this.received++;
    for (const [name, w] of this.wanted) {
      if (ref.mask <= w.ref.mask && ((w.ref.hash & ref.mask) >>> 0) === ref.hash) this.wanted.delete(name);
    }
    if (this.wanted.size === 0 && this.requested > 0) this.log.info({ received: this.received }, 'every snapshot asked for has arrived');
  }

  /** Asks for the buckets due, over every open link. */
  tick(nowMs: number, links: readonly SnapshotSource[]): void {
    const open = links.filter((l) => l.open);
    if (open.length === 0 || this.wanted.size === 0) return;
    let sent = 0;
    for (const [name, w] of this.wanted) {
      if (sent >= REQUESTS_PER_TICK_MAX) break;
      if (nowMs - w.askedAtMs < RETRY_MS) continue;
      if (w.attempts >= ATTEMPTS_MAX) {
        this.wanted.delete(name);
        this.givenUp++;
        this.log.warn({ bucket: name, why: w.why, attempts: w.attempts }, 'no snapshot of the bucket came: its gap stays open (compact reports it)');
        continue;
      }
      w.askedAtMs = nowMs;
      w.attempts++;
      if (w.attempts === 1) this.log.info({ bucket: name, why: w.why }, 'asking for a snapshot of the bucket');
      for (const l of open) l.requestSnapshot(w.ref);
      this.requested++;
      sent++;
    }
  }
}
