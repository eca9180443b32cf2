// Every change a primary applies is published here: pushed in order to the bucket's backup (and to
// a node receiving a copy of the bucket), and queued for the logging nodes (logger-feed.ts), with a
// per-bucket seq.
// The backup's side (applying those pushes) is backup-receiver.ts.
import { Cmd, ErrorCode, Reply } from '../protocol/commands.js';
import { syncUpdate, type SyncUpdateMsg, type Update } from '../protocol/messages/node.js';
import { failinfo } from '../protocol/messages/legacy.js';
import { Reader } from '../protocol/codec.js';
import type { Frame } from '../protocol/header.js';
import type { PeerLink } from './peer-link.js';
import { fail } from '../shared/assert.js';
import type { BucketTable, Owners } from './table.js';
import type { Store } from './store.js';
import type { Logger } from './log.js';
import type { Clock } from '../shared/clock.js';
import { LoggerFeed } from './logger-feed.js';
import { OutOfStep } from './out-of-step.js';

/** What replication needs of the node. */
export interface ReplicationHost {
  readonly me: string;
  readonly incarnation: bigint;
  readonly clock: Clock;
  readonly opts: { readonly deadAfterMs: number };
  readonly table: Pick<BucketTable, 'get' | 'mask' | 'size'>;
  readonly store: Pick<Store, 'hold' | 'bucket'>;
  readonly log: Logger;
  readonly members: { linkOf(addr: string): PeerLink | null; readonly members: { has(addr: string): boolean }; dataMembers(): readonly unknown[]; leaseValid(strict?: boolean): boolean };
  readonly migration: { copyTargetLink(b: number): PeerLink | null; isHandOverSent(b: number): boolean };
  commit(b: number, owners: Owners): void;
  safely(what: string, fn: () => void): void;
}

/** Told of a write applied by `writer` (addr#incarnation) as primary of bucket b at that epoch. */
export type WriteObserver = (writer: string, b: number, epoch: number) => void;

/** code 0: the backup applied it; otherwise a failinfo code and why. */
export type BackupDone = (code: number, why: string) => void;

const SYNC_TIMEOUT_MS = 10_000;

/** A full-wait write whose backup could not be reached: it waits for the backup's fate. */
interface Parked {
  b: number;
  done: BackupDone;
  sinceMs: number;
}

/** A full-wait write whose backup `behind` missed it: it waits for a backup other than that copy. */
interface Rebacking extends Parked {
  behind: string;
  /**
   * The bucket's backup was other than `behind` (or none) at some point since: a backup named
   * `behind` again is a new copy (a restarted node on the same address), made from this primary.
   */
  replaced: boolean;
}

export class Replication {
  readonly loggers: LoggerFeed;
  private readonly parked = new Map<string, Parked[]>();
  /** Full-wait writes whose backup fell out of step, by bucket: they wait for its new backup. */
  private readonly rebacking = new Map<number, Rebacking[]>();
  private readonly outOfStep: OutOfStep;
  /** Backup pushes sent and not answered yet, per bucket (absent: none). */
  private readonly pushesInFlight = new Map<number, number>();
  private readonly pushWaiters = new Map<number, (() => void)[]>();
  /** Buckets of this primary that lost their backup (a death, or a copy out of step): see awaitsBackup. */
  private readonly lostBackups = new Set<number>();
  syncFailures = 0;

  constructor(
    private readonly node: ReplicationHost,
    private readonly observeWrite: WriteObserver | undefined = undefined,
  ) {
    this.loggers = new LoggerFeed(node);
    this.outOfStep = new OutOfStep(node);
  }

  get loggerDrops(): number {
    return this.loggers.drops;
  }

  /** No backup push unanswered, no full-wait write waiting for a backup, no backup known out of step (the simulator's settled check). */
  get quiet(): boolean {
    return this.pushesInFlight.size === 0 && this.parked.size === 0 && this.rebacking.size === 0 && this.outOfStep.size === 0;
  }

  hasBackup(b: number): boolean {
    return this.node.table.get(b).backup !== '';
  }

  /** Bucket b, whose primary this node is, just lost its backup. */
  noteLostBackup(b: number): void {
    this.lostBackups.add(b);
  }

  /**
   * Whether a full-wait write to b must wait for a new backup (routing.ts): b lost its backup, has
   * none yet, and another data member runs that can become it. A lone node writes with one copy.
   */
  awaitsBackup(b: number): boolean {
    if (!this.lostBackups.has(b)) return false;
    const e = this.node.table.get(b);
    if (e.backup !== '' || e.primary !== this.node.me) {
      this.lostBackups.delete(b);
      return false;
    }
    return this.node.members.dataMembers().length > 0;
  }

  /** Backup pushes sent and not answered yet, plus full-wait writes parked for a backup. */
  get backlog(): number {
    let n = 0;
    for (const c of this.pushesInFlight.values()) n += c;
    for (const list of this.parked.values()) n += list.length;
    for (const list of this.rebacking.values()) n += list.length;
    return n;
  }

  get loggerCount(): number {
    return this.loggers.count;
  }

  /** Publishes an update the primary just applied to bucket b; `done` (full wait) hears the backup's answer. */
  publish(b: number, update: Update, done: BackupDone | null): void {
    const node = this.node;
    const data = node.store.hold(b);
    data.seq++;
    const e = node.table.get(b);
    if (this.observeWrite !== undefined) this.observeWrite(`${node.me}#${node.incarnation}`, b, e.epoch);
    const copyLink = node.migration.copyTargetLink(b);
    if (e.backup === '' && copyLink === null && this.loggers.count === 0) {
      done?.(0, ''); // nobody to tell: a lone node's hot path allocates nothing more
      return;
    }
    const msg: SyncUpdateMsg = { mask: node.table.mask, hash: b, epoch: e.epoch, seq: data.seq, update };
    if (e.backup !== '') this.pushTo(e.backup, node.members.linkOf(e.backup), msg, done, true);
    else done?.(0, '');
    if (copyLink !== null) this.pushTo(copyLink.addr, copyLink, msg, null, false);
    if (this.loggers.count > 0) this.loggers.publish(msg);
  }

  private pushTo(addr: string, link: PeerLink | null, msg: SyncUpdateMsg, done: BackupDone | null, toBackup: boolean): void {
    if (link === null) {
      this.syncFailures++;
      this.outOfStep.mark(addr, msg.hash);
      if (done !== null) this.park(addr, msg.hash, done);
      return;
    }
    const b = msg.hash;
    if (toBackup) this.pushesInFlight.set(b, (this.pushesInFlight.get(b) ?? 0) + 1);
    link.call(Cmd.syncUpdate, (w) => syncUpdate.encode(w, msg), (reply, err) => {
      // The reply first (it may drop the backup, a new epoch), then a hand-over waiting on it.
      this.onSyncReply(link, msg, reply, err, done);
      if (toBackup) this.pushAnswered(b);
    }, SYNC_TIMEOUT_MS);
  }

  private pushAnswered(b: number): void {
    const left = (this.pushesInFlight.get(b) ?? 0) - 1;
    if (left < 0) fail(`bucket ${b}: more push answers than pushes`);
    if (left > 0) {
      this.pushesInFlight.set(b, left);
      return;
    }
    this.pushesInFlight.delete(b);
    const waiters = this.pushWaiters.get(b);
    if (waiters === undefined) return;
    this.pushWaiters.delete(b);
    for (const fn of waiters) this.node.safely('hand-over after backup pushes', fn);
  }

  /**
   * Calls `fn` once every backup push of bucket b sent so far is answered (at once if none is out).
   * BACKGROUND: a hand-over of a frozen bucket must not race its last pushes: the new primary's
   * table reaches the backup on another link, and the backup would refuse the old primary's late
   * pushes (stale epoch) and then see a gap in the new primary's. Bounded: every push is answered,
   * fails with its link, or times out after SYNC_TIMEOUT_MS.
   */
  whenPushesAnswered(b: number, fn: () => void): void {
    if (!this.pushesInFlight.has(b)) {
      fn();
      return;
    }
    appendTo(this.pushWaiters, b, fn);
  }

  /**
   * BACKGROUND: the backup of a full-wait write cannot be reached (its link dropped). BEHAVIOR: the
   * write waits for the backup's fate: once that node is declared dead or leaves, it waits for the
   * bucket's new backup (completeWithout), and is acknowledged if this node still owns the bucket
   * then, else answered retryLater (the client takes it to the new owner); if the backup is still
   * neither back nor gone after twice the dead-after time, backupFailed (indeterminate).
   */
  private park(addr: string, b: number, done: BackupDone): void {
    if (!this.node.members.members.has(addr)) {
      this.completeWithout(addr, b, done);
      return;
    }
    appendTo(this.parked, addr, { b, done, sinceMs: this.node.clock.nowMs() });
  }

  /** A write whose backup is gone: acknowledged only while this node still owns its bucket. */
  private complete(b: number, done: BackupDone): void {
    if (this.node.table.get(b).primary === this.node.me) done(0, '');
    else done(ErrorCode.retryLater, 'this node no longer owns the bucket; retry at its owner');
  }

  /**
   * A write whose backup `addr` stopped being the backup (it died, or its copy fell out of step)
   * before applying it. BEHAVIOR: the write waits for the bucket's new backup (every copy made from
   * this primary from here on has it), is then done as complete(), and is answered backupFailed if
   * no new backup comes within twice the dead-after time. Only a node left alone (no other data
   * member to be a backup) acknowledges it with its one copy. BACKGROUND: acknowledging with one
   * copy once the backup was declared dead lost the write when that one holder was cut off and
   * declared dead in turn (the simulator's seed 580).
   */
  private completeWithout(addr: string, b: number, done: BackupDone): void {
    const p: Rebacking = { b, done, sinceMs: this.node.clock.nowMs(), behind: addr, replaced: this.node.table.get(b).backup !== addr };
    if (this.node.members.dataMembers().length === 0 || this.rebacked(p)) {
      this.complete(b, done);
      return;
    }
    appendTo(this.rebacking, b, p);
  }

  /**
   * p's bucket has a backup other than the copy that missed p (made from this primary), or is no
   * longer ours. BACKGROUND: compared by address alone, a node killed and restarted at once on its
   * address, then made the backup again, never counted, and the write waited out its bound
   * (test/fault/restart.test.ts timed out one write).
   */
  private rebacked(p: Rebacking): boolean {
    const e = this.node.table.get(p.b);
    return e.primary !== this.node.me || (e.backup !== '' && (e.backup !== p.behind || p.replaced));
  }

  /** Buckets whose copy on `addr` may lack updates (it missed pushes): rebuilt when it links again. */
  bucketsOutOfStep(addr: string): number[] {
    const out = new Set(this.outOfStep.standing(addr));
    for (const p of this.parked.get(addr) ?? []) out.add(p.b);
    return [...out];
  }

  /** Bucket b's backup changed: writes parked on its old backup are complete (that copy is gone). */
  onBackupChanged(b: number): void {
    const e = this.node.table.get(b);
    const backup = e.backup;
    const waiting = this.rebacking.get(b);
    if (waiting !== undefined) {
      for (const p of waiting) if (backup !== p.behind) p.replaced = true;
      const keep = waiting.filter((p) => !this.rebacked(p));
      if (keep.length === 0) this.rebacking.delete(b);
      else this.rebacking.set(b, keep);
      for (const p of waiting) if (!keep.includes(p)) this.complete(b, p.done);
    }
    this.outOfStep.backupChanged(b, backup);
    if (this.parked.size === 0) return;
    for (const [addr, list] of this.parked) {
      if (addr === backup) continue;
      const keep = list.filter((p) => p.b !== b);
      if (keep.length === list.length) continue;
      for (const p of list) if (p.b === b) this.completeWithout(addr, b, p.done);
      if (keep.length === 0) this.parked.delete(addr);
      else this.parked.set(addr, keep);
    }
  }

  /** Periodic: backups known to be out of step whose node is linked again are rebuilt now. */
  rebuildOutOfStep(): void {
    for (const addr of this.outOfStep.addresses()) {
      const standing = this.outOfStep.standing(addr);
      if (standing.length === 0 || this.node.members.linkOf(addr) === null) continue;
      for (const b of standing) this.dropBackup(b, addr, 'relinked after missing updates');
    }
  }

  /**
   * The member is gone for good: writes waiting on it wait for their bucket's new backup instead
   * (acknowledged with one copy only by a node left alone; see expireParked).
   */
  onPeerGone(addr: string): void {
    // The copies that incarnation held went with it: a new one on the address, named backup by the
    // entries, holds none, so each is rebuilt when it links (Membership.attach). BACKGROUND: the
    // take-over that drops a dead backup waits for the lease; meanwhile a restarted process on the
    // address counted as that backup, and a bucket with no more writes never found out (seed 5222).
    this.outOfStep.markAllBackedBy(addr);
    const list = this.parked.get(addr);
    if (list === undefined) return;
    this.parked.delete(addr);
    for (const p of list) this.completeWithout(addr, p.b, p.done);
  }

  /** This node drops everything (it rejoins as new): no waiting write was made durable anywhere. */
  failAll(why: string): void {
    const all = [...this.parked.values(), ...this.rebacking.values()].flat();
    this.parked.clear();
    this.rebacking.clear();
    this.outOfStep.clear();
    this.lostBackups.clear();
    for (const p of all) p.done(ErrorCode.retryLater, why);
  }

  /** Called by the node's tick: parked writes past their bound are answered backupFailed. */
  expireParked(nowMs: number): void {
    const boundMs = this.node.opts.deadAfterMs * 2;
    for (const [addr, list] of this.parked) {
      while (list.length > 0 && nowMs - list[0]!.sinceMs > boundMs) {
        list.shift()!.done(ErrorCode.backupFailed, `backup ${addr} neither answered nor was declared dead; applied on the primary only`);
      }
      if (list.length === 0) this.parked.delete(addr);
    }
    if (this.rebacking.size === 0) return;
    // Alone (no other data member at all, not merely none reachable): no backup can be made, and
    // the only copy has the write.
    const alone = this.node.members.dataMembers().length === 0;
    for (const [b, list] of this.rebacking) {
      while (list.length > 0 && (alone || nowMs - list[0]!.sinceMs > boundMs)) {
        const p = list.shift()!;
        if (alone) this.complete(b, p.done);
        else p.done(ErrorCode.backupFailed, `bucket ${b} got no new backup in time; applied on the primary only`);
      }
      if (list.length === 0) this.rebacking.delete(b);
    }
  }

  private onSyncReply(link: PeerLink, msg: SyncUpdateMsg, reply: Frame | null, err: string | null, done: BackupDone | null): void {
    if (reply !== null && reply.command === Reply.ack) {
      done?.(0, '');
      return;
    }
    this.syncFailures++;
    if (reply === null && link.closedFlag) {
      this.outOfStep.mark(link.addr, msg.hash);
      if (done !== null) this.park(link.addr, msg.hash, done);
      return;
    }
    let code: number = ErrorCode.backupFailed;
    let why = err ?? 'backup refused the update';
    if (reply !== null && reply.command === Reply.failinfo) {
      const info = failinfo.decode(new Reader(reply.payload));
      why = info.message;
      // The backup knows a newer owner: this node is stale for the bucket, the client must go there.
      if (info.code === ErrorCode.staleEpoch) code = ErrorCode.retryLater;
      if (info.code === ErrorCode.seqGap) {
        this.dropBackup(msg.hash, link.addr, why);
        if (done !== null) this.completeWithout(link.addr, msg.hash, done);
        return;
      }
    }
    this.node.log.debug({ peer: link.addr, bucket: msg.hash, seq: msg.seq, why }, 'backup push failed');
    done?.(code, why);
  }

  /** The backup of b missed updates: it stops being the backup (the balancer makes a new one). */
  dropBackup(b: number, addr: string, why: string): void {
    const e = this.node.table.get(b);
    if (e.primary !== this.node.me || e.backup !== addr) return;
    // A hand-over of b already sent decides first (two entries at one epoch otherwise); if it
    // fails, the next push finds the gap again. Writes that missed this backup wait meanwhile.
    if (this.node.migration.isHandOverSent(b)) return;
    // Only a node holding its lease changes the table (node.ts, takeOverOrphans); the mark stays,
    // and rebuildOutOfStep() tries again.
    if (!this.node.members.leaseValid(true)) return;
    this.node.log.warn({ bucket: b, backup: addr, why }, 'backup out of step: rebuilding it');
    this.node.commit(b, { epoch: e.epoch + 1, primary: this.node.me, backup: '' });
    this.noteLostBackup(b);
  }

  // ---- logging nodes (logger-feed.ts) ----

  subscribe(link: PeerLink, flags: number): void {
    this.loggers.subscribe(link, flags);
  }

  unsubscribe(link: PeerLink): void {
    this.loggers.unsubscribe(link);
  }

  /** Bounded: waits until every logger has been sent and has acked what was queued for it. */
  drainLoggers(timeoutMs: number): Promise<void> {
    return this.loggers.drain(timeoutMs);
  }
}

/** Appends to the list kept under `key`, making the list if there is none. */
function appendTo<K, V>(lists: Map<K, V[]>, key: K, value: V): void {
  const list = lists.get(key);
  if (list === undefined) lists.set(key, [value]);
  else list.push(value);
}
