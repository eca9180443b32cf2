// The feed of updates and bucket snapshots to the logging nodes subscribed to this node: one FIFO
// per logger, sent as log_batch (541) and log_snapshot (543) calls with a bounded number unanswered.
//
// SEAM RULE: a snapshot of bucket b is a place in the logger's FIFO. When it reaches the head
// (every update queued before it has been sent), the bucket's items, epoch and seq are captured in
// one synchronous pass, so the captured state is exactly the bucket at that seq; updates of b
// queued behind it carry seqs after the ones queued before it, and the logger skips those not
// above the snapshot's seq (already in it). Nothing of b is missing or doubled at the seam.
// BOUNDS: updates queued per logger (LOGGER_QUEUE_MAX, then dropped: the logger sees a gap and asks
// for a snapshot); one snapshot job per bucket per logger; one captured bucket per logger at a time
// (the capture holds references to the bucket's values, not copies); parts of at most
// SNAPSHOT_PART_ITEMS_MAX items and about LOG_BATCH_BYTES_MAX bytes.
import { sleep, type Clock } from '../shared/clock.js';
import { Cmd, ErrorCode } from '../protocol/commands.js';
import { logBatch, logSnapshot, SubscribeFlag, type BucketRef, type Item, type SyncUpdateMsg } from '../protocol/messages/node.js';
import type { Frame } from '../protocol/header.js';
import type { PeerLink } from './peer-link.js';
import type { BucketTable } from './table.js';
import type { Store } from './store.js';
import type { Logger } from './log.js';

export interface LoggerFeedHost {
  readonly me: string;
  readonly clock: Clock;
  readonly table: Pick<BucketTable, 'get' | 'mask'>;
  readonly store: Pick<Store, 'bucket'>;
  readonly log: Logger;
  safely(what: string, fn: () => void): void;
}

const CALL_TIMEOUT_MS = 10_000;
/** Updates one logger may have queued here; past it they are dropped (the logger sees a gap). */
const LOGGER_QUEUE_MAX = 100_000;
/** Calls one logger may have unanswered; past it the queue waits. */
const LOGGER_CALLS_MAX = 8;
const LOG_BATCH_MAX = 2000;
const LOG_BATCH_BYTES_MAX = 1024 * 1024;
const SNAPSHOT_PART_ITEMS_MAX = 2000;

/** A snapshot of bucket b waiting in a logger's FIFO; captured when it reaches the head. */
interface SnapshotJob {
  b: number;
  /** The table's mask when asked: if it widened since, the job is dropped (the logger asks again). */
  mask: number;
  capture: { epoch: number; seq: number; items: Item[] } | null;
  sent: number;
}

type Entry = SyncUpdateMsg | SnapshotJob;

interface Subscriber {
  link: PeerLink;
  snapshots: boolean;
  queue: Entry[];
  /** Buckets with a snapshot job in the queue (one each). */
  jobs: Set<number>;
  dropped: number;
  flushScheduled: boolean;
}

export class LoggerFeed {
  private readonly subscribers = new Map<PeerLink, Subscriber>();
  drops = 0;
  snapshotsSent = 0;

  constructor(private readonly node: LoggerFeedHost) {}

  /** Entries waiting in the logging nodes' queues, all together. */
  get backlog(): number {
    let n = 0;
    for (const sub of this.subscribers.values()) n += sub.queue.length;
    return n;
  }

  get count(): number {
    return this.subscribers.size;
  }

  /** A logger subscribed; with the snapshots flag, every bucket this node is primary of is snapshotted first. */
  subscribe(link: PeerLink, flags: number): void {
    const sub: Subscriber = { link, snapshots: (flags & SubscribeFlag.snapshots) !== 0, queue: [], jobs: new Set(), dropped: 0, flushScheduled: false };
    this.subscribers.set(link, sub);
    if (!sub.snapshots) return;
    const n = this.enqueueSnapshots(sub, { mask: 0, hash: 0 });
    this.node.log.info({ logger: link.addr, buckets: n }, 'logging node subscribed: snapshots of the buckets this node is primary of come first');
  }

  unsubscribe(link: PeerLink): void {
    this.subscribers.delete(link);
  }

  /** Queues an update the primary just applied for every logger. */
  publish(msg: SyncUpdateMsg): void {
    for (const sub of this.subscribers.values()) {
      if (sub.queue.length >= LOGGER_QUEUE_MAX) {
        this.noteDrop(sub);
        continue;
      }
      sub.queue.push(msg);
      this.schedule(sub);
    }
  }

  /**
   * snapshot_request (542): queues a snapshot of every bucket this node is primary of that lies in
   * the one asked (the same, or its parts if the mask widened since). Answers ack when at least one
   * is queued, failinfo noOwner when this node is primary of none (the logger asks every node).
   */
  onSnapshotRequest(link: PeerLink, frame: Frame, ref: BucketRef): void {
    const sub = this.subscribers.get(link);
    if (sub === undefined || !sub.snapshots) return link.fail(frame, ErrorCode.badRequest, 'subscribe_updates with the snapshots flag first');
    if (ref.mask > this.node.table.mask || (ref.hash & ref.mask) !== ref.hash) {
      return link.fail(frame, ErrorCode.staleEpoch, `bucket ${ref.mask.toString(16)}/${ref.hash.toString(16)} is not a bucket of mask 0x${this.node.table.mask.toString(16)}`);
    }
    const n = this.enqueueSnapshots(sub, ref);
    if (n === 0) return link.fail(frame, ErrorCode.noOwner, 'this node is not the primary of that bucket');
    link.ack(frame);
  }

  /** Queues snapshot jobs for the buckets of the table under `ref` (mask 0: all) that this node is primary of. */
  private enqueueSnapshots(sub: Subscriber, ref: BucketRef): number {
    const mask = this.node.table.mask;
    let n = 0;
    for (let b = ref.hash; b <= mask; b += ref.mask + 1) {
      if (this.node.table.get(b).primary !== this.node.me || sub.jobs.has(b)) continue;
      sub.jobs.add(b);
      sub.queue.push({ b, mask, capture: null, sent: 0 });
      n++;
    }
    if (n > 0) this.schedule(sub);
    return n;
  }

  private noteDrop(sub: Subscriber): void {
    sub.dropped++;
    this.drops++;
    if (sub.dropped === 1 || sub.dropped % 10_000 === 0) {
      this.node.log.warn({ logger: sub.link.addr, dropped: sub.dropped }, 'logging node falls behind: updates dropped (it will see a gap)');
    }
  }

  private schedule(sub: Subscriber): void {
    if (sub.flushScheduled) return;
    sub.flushScheduled = true;
    this.node.clock.setImmediate(() => this.node.safely('logger flush', () => this.flush(sub)));
  }

  private flush(sub: Subscriber): void {
    sub.flushScheduled = false;
    if (this.subscribers.get(sub.link) !== sub) return;
    while (sub.queue.length > 0 && sub.link.pendingCalls < LOGGER_CALLS_MAX) {
      const head = sub.queue[0]!;
      if ('b' in head) {
        this.sendSnapshotPart(sub, head);
        continue;
      }
      const batch = sub.queue.splice(0, batchLength(sub.queue)) as SyncUpdateMsg[];
      sub.link.call(Cmd.logBatch, (w) => logBatch.encode(w, batch), () => this.schedule(sub), CALL_TIMEOUT_MS);
    }
  }

  /** Sends the next part of the job at the head of the queue (capturing the bucket first); removes it when done. */
  private sendSnapshotPart(sub: Subscriber, job: SnapshotJob): void {
    const node = this.node;
    if (job.capture === null) {
      const e = node.table.get(job.b);
      if (node.table.mask !== job.mask || e.primary !== node.me) {
        // The bucket moved or split meanwhile: its new owner's stream shows the logger what to ask.
        this.finishJob(sub, job);
        return;
      }
      const data = node.store.bucket(job.b);
      job.capture = { epoch: e.epoch, seq: data?.seq ?? 0, items: data === undefined ? [] : [...data.entries()] };
    }
    const c = job.capture;
    const count = partLength(c.items, job.sent);
    const msg = { mask: job.mask, hash: job.b, epoch: c.epoch, seq: c.seq, total: c.items.length, offset: job.sent, items: c.items.slice(job.sent, job.sent + count) };
    job.sent += count;
    if (job.sent >= c.items.length) {
      this.finishJob(sub, job);
      this.snapshotsSent++;
    }
    sub.link.call(Cmd.logSnapshot, (w) => logSnapshot.encode(w, msg), () => this.schedule(sub), CALL_TIMEOUT_MS);
  }

  private finishJob(sub: Subscriber, job: SnapshotJob): void {
    sub.queue.shift();
    sub.jobs.delete(job.b);
  }

  /** Bounded: waits until every logger has been sent and has acked what was queued for it. */
  async drain(timeoutMs: number): Promise<void> {
    const end = this.node.clock.nowMs() + timeoutMs;
    const busy = (): boolean => [...this.subscribers.values()].some((s) => s.queue.length > 0 || s.link.pendingCalls > 0);
    while (busy() && this.node.clock.nowMs() < end) await sleep(this.node.clock, 10);
  }
}

/** How many queued updates go in one log_batch: at most LOG_BATCH_MAX and about LOG_BATCH_BYTES_MAX, up to a snapshot job. */
function batchLength(queue: readonly Entry[]): number {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && n < LOG_BATCH_MAX && bytes < LOG_BATCH_BYTES_MAX) {
    const entry = queue[n]!;
    if ('b' in entry) break;
    const u = entry.update;
    bytes += 48 + u.map.length + u.key.length + (u.value === null ? 0 : u.value.t >= 3 ? (u.value.v as Buffer).length : 8);
    n++;
  }
  return Math.max(1, n);
}

/** How many items from `from` go in one log_snapshot part: at most SNAPSHOT_PART_ITEMS_MAX and about LOG_BATCH_BYTES_MAX. */
function partLength(items: readonly Item[], from: number): number {
  let bytes = 0;
  let n = 0;
  while (from + n < items.length && n < SNAPSHOT_PART_ITEMS_MAX && bytes < LOG_BATCH_BYTES_MAX) {
    const it = items[from + n]!;
    bytes += 32 + it.map.length + it.key.length + (it.value.t >= 3 ? (it.value.v as Buffer).length : 8);
    n++;
  }
  return n;
}
