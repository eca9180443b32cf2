// The log of bucket moves as people read it: the moves a node makes to one target are one
// transfer, logged as one info line once it has ended (buckets, items, time); each bucket's own
// lines are at debug. A node may alternate between targets (a primary to one, a backup to
// another): each target has its transfer.
import type { Logger } from './log.js';

/** A transfer ends when the node has given its target nothing for this long. */
export const TRANSFER_IDLE_MS = 2000;
/** Transfers tracked at once; past it the oldest is logged early. */
const TRANSFERS_MAX = 64;

export type MoveKind = 'primary' | 'backup' | 'promote';

interface Run {
  startedMs: number;
  lastMs: number;
  inFlight: boolean;
  primaries: number;
  backups: number;
  promoted: number;
  items: number;
  failed: number;
}

export class TransferSummary {
  private readonly runs = new Map<string, Run>();

  constructor(private readonly log: Logger) {}

  /** A move to `target` began at nowMs: its transfer's time counts from its first move. */
  moveStarted(target: string, nowMs: number): void {
    const run = this.runOf(target, nowMs);
    run.inFlight = true;
    run.lastMs = nowMs;
  }

  /** One move to `target` ended at nowMs (ok or not), carrying `items` items. */
  moveDone(target: string, kind: MoveKind, ok: boolean, items: number, nowMs: number): void {
    const run = this.runOf(target, nowMs);
    run.inFlight = false;
    run.lastMs = nowMs;
    if (!ok) {
      run.failed++;
      return;
    }
    if (kind === 'primary') run.primaries++;
    else if (kind === 'backup') run.backups++;
    else run.promoted++;
    run.items += items;
  }

  /** Logs the transfers that have been idle TRANSFER_IDLE_MS. */
  tick(nowMs: number): void {
    for (const [target, run] of this.runs) if (!run.inFlight && nowMs - run.lastMs >= TRANSFER_IDLE_MS) this.flush(target);
  }

  private runOf(target: string, nowMs: number): Run {
    let run = this.runs.get(target);
    if (run === undefined) {
      if (this.runs.size >= TRANSFERS_MAX) this.flush(this.runs.keys().next().value!);
      run = { startedMs: nowMs, lastMs: nowMs, inFlight: false, primaries: 0, backups: 0, promoted: 0, items: 0, failed: 0 };
      this.runs.set(target, run);
    }
    return run;
  }

  /** Logs one transfer, if any bucket moved (attempts that all failed were logged one by one). */
  private flush(target: string): void {
    const r = this.runs.get(target);
    this.runs.delete(target);
    if (r === undefined) return;
    const buckets = r.primaries + r.backups + r.promoted;
    if (buckets === 0) return;
    const ms = Math.round(r.lastMs - r.startedMs);
    this.log.info(
      { to: target, buckets, primariesCopied: r.primaries, backupsCopied: r.backups, promoted: r.promoted, items: r.items, failedAttempts: r.failed, ms },
      `transfer to ${target} done: ${buckets} buckets, ${r.items} items in ${(ms / 1000).toFixed(1)} s`,
    );
  }
}
