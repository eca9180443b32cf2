// Moving buckets between nodes: copying one (to make a new primary or a new backup) while it keeps
// serving, promoting a backup in place, and the receiving side of both. One copy out and one copy
// in at a time per node.
// BACKGROUND: the source walks the bucket live while every change is also pushed to the target on
// the same ordered link, so whatever the target receives last is the newest value. BEHAVIOR: at the
// end the source freezes writes to the bucket (they answer retryLater) for one round trip, sends
// copy_finalise with the new owners and epoch, and commits once the target has acked it.
import { Cmd, ErrorCode, Reply } from '../protocol/commands.js';
import { Reader } from '../protocol/codec.js';
import { failinfo, unknown } from '../protocol/messages/legacy.js';
import type { Frame } from '../protocol/header.js';
import * as nodeMsg from '../protocol/messages/node.js';
import { COPY_BATCH_BYTES_MAX, COPY_BATCH_ITEMS_MAX } from '../shared/limits.js';
import { assert } from '../shared/assert.js';
import type { PeerLink } from './peer-link.js';
import type { ClusterNode } from './node.js';
import { compareOwners, type Owners } from './table.js';

const { CopyRole } = nodeMsg;
const BATCHES_IN_FLIGHT_MAX = 4;
const COPY_CALL_TIMEOUT_MS = 15_000;

export type MoveDone = (ok: boolean) => void;

interface Outgoing {
  b: number;
  target: string;
  link: PeerLink;
  role: number;
  epoch: number;
  iter: Generator<nodeMsg.Item> | null;
  inFlight: number;
  items: number;
  finalising: boolean;
  onDone: MoveDone;
}

interface Incoming {
  b: number;
  from: string;
  link: PeerLink;
  role: number;
  items: number;
  /** Monotonic ms of the last copy traffic: a copy silent past INCOMING_STALL_MS is dropped. */
  lastMs: number;
}

const INCOMING_STALL_MS = 30_000;
const UNSURE_ASK_EVERY_MS = 500;

/**
 * A hand-over whose copy_finalise got no answer (timeout, link lost): the target may or may not
 * have taken the new owners. The bucket stays frozen until that is known.
 */
interface Unsure {
  b: number;
  target: string;
  owners: Owners;
  askAtMs: number;
  asking: boolean;
}

export class Migration {
  outgoing: Outgoing | null = null;
  incoming: Incoming | null = null;
  private frozen = -1;
  private finaliseSent = false;
  private unsure: Unsure | null = null;
  moved = 0;

  constructor(private readonly node: ClusterNode) {}

  get busy(): boolean {
    return this.outgoing !== null || this.frozen >= 0 || this.unsure !== null;
  }

  isFrozen(b: number): boolean {
    return this.frozen === b;
  }

  /** b is frozen and its copy_finalise is out (not merely waiting for the backup's answers). */
  isHandOverSent(b: number): boolean {
    return this.frozen === b && this.finaliseSent;
  }

  isIncoming(b: number): boolean {
    return this.incoming?.b === b;
  }

  copyTargetLink(b: number): PeerLink | null {
    const out = this.outgoing;
    return out !== null && out.b === b ? out.link : null;
  }

  describe(): { bucket: number; to: string; role: string; items: number } | null {
    const out = this.outgoing;
    if (out === null) return null;
    return { bucket: out.b, to: out.target, role: out.role === CopyRole.primary ? 'primary' : 'backup', items: out.items };
  }

  // ---- source side ----

  /** Copies bucket b to `target`, which becomes its primary or its backup. */
  startCopy(b: number, target: string, role: number, onDone: MoveDone): boolean {
    if (this.busy) return false;
    const link = this.node.members.linkOf(target);
    const e = this.node.table.get(b);
    if (link === null || e.primary !== this.node.me) return false;
    const data = this.node.store.hold(b);
    const out: Outgoing = { b, target, link, role, epoch: e.epoch, iter: data.entries(), inFlight: 0, items: 0, finalising: false, onDone };
    this.outgoing = out;
    const begin = { mask: this.node.table.mask, hash: b, epoch: e.epoch, role };
    this.node.log.info({ bucket: b, to: target, role: role === CopyRole.primary ? 'primary' : 'backup' }, 'bucket copy started');
    link.call(Cmd.copyBegin, (w) => nodeMsg.copyBegin.encode(w, begin), (reply, err) => {
      if (this.outgoing !== out) return;
      if (reply?.command !== Reply.ack) return this.abort(out, `copy_begin refused: ${err ?? replyWhy(reply)}`);
      this.pump(out);
    }, COPY_CALL_TIMEOUT_MS);
    return true;
  }

  private pump(out: Outgoing): void {
    const now = Date.now();
    while (this.outgoing === out && out.inFlight < BATCHES_IN_FLIGHT_MAX && out.iter !== null) {
      const items: nodeMsg.Item[] = [];
      let bytes = 0;
      let next = out.iter.next();
      while (!next.done) {
        const it = next.value;
        if (it.expiresAtMs === 0 || it.expiresAtMs > now) {
          items.push(it);
          bytes += 32 + it.key.length + it.map.length + (it.value.t >= 3 ? (it.value.v as Buffer).length : 8);
        }
        if (items.length >= COPY_BATCH_ITEMS_MAX || bytes >= COPY_BATCH_BYTES_MAX) break;
        next = out.iter.next();
      }
      if (next.done) out.iter = null;
      if (items.length === 0) break;
      out.inFlight++;
      out.items += items.length;
      const msg = { mask: this.node.table.mask, hash: out.b, items };
      out.link.call(Cmd.copyItems, (w) => nodeMsg.copyItems.encode(w, msg), (reply, err) => {
        if (this.outgoing !== out) return;
        out.inFlight--;
        if (reply?.command !== Reply.ack) return this.abort(out, `copy_items failed: ${err ?? replyWhy(reply)}`);
        this.pump(out);
      }, COPY_CALL_TIMEOUT_MS);
    }
    if (this.outgoing === out && out.iter === null && out.inFlight === 0 && !out.finalising) this.finaliseCopy(out);
  }

  private finaliseCopy(out: Outgoing): void {
    const e = this.node.table.get(out.b);
    if (e.primary !== this.node.me || e.epoch !== out.epoch) return this.abort(out, 'the bucket changed owner during the copy');
    const owners: Owners =
      out.role === CopyRole.primary
        ? { epoch: e.epoch + 1, primary: out.target, backup: e.backup === out.target ? '' : e.backup }
        : { epoch: e.epoch + 1, primary: this.node.me, backup: out.target };
    out.finalising = true;
    this.finalise(out.b, out.link, owners, (ok) => {
      if (this.outgoing !== out) return;
      this.outgoing = null;
      if (!ok) this.sendAbort(out);
      else this.moved++;
      this.node.log.info({ bucket: out.b, to: out.target, items: out.items, ok }, 'bucket copy finished');
      out.onDone(ok);
    });
  }

  /** Gives bucket b to its backup `target` in place: no data moves. */
  promote(b: number, target: string, keepMeAsBackup: boolean, onDone: MoveDone): boolean {
    if (this.busy) return false;
    const link = this.node.members.linkOf(target);
    const e = this.node.table.get(b);
    if (link === null || e.primary !== this.node.me || e.backup !== target) return false;
    const owners: Owners = { epoch: e.epoch + 1, primary: target, backup: keepMeAsBackup ? this.node.me : '' };
    this.finalise(b, link, owners, (ok) => {
      if (ok) this.moved++;
      onDone(ok);
    });
    return true;
  }

  /**
   * Freezes writes to b, waits until the backup answered every push of b, has the target take the
   * new owners, then commits them here.
   */
  private finalise(b: number, link: PeerLink, owners: Owners, done: MoveDone): void {
    assert(this.frozen < 0, 'one bucket frozen at a time');
    this.frozen = b;
    const epoch = this.node.table.get(b).epoch;
    // Frozen, no new writes: the backup first has every push answered, then the owners change.
    this.node.repl.whenPushesAnswered(b, () => {
      const e = this.node.table.get(b);
      if (link.closedFlag || e.primary !== this.node.me || e.epoch !== epoch) {
        // Nothing was sent: the outcome is known (no change), and the bucket serves again.
        this.unfreeze();
        this.node.log.warn({ bucket: b, to: link.addr }, 'hand-over dropped before it was sent: the target\'s link or the bucket changed');
        this.node.repairOwners(b);
        done(false);
        return;
      }
      this.sendFinalise(b, link, owners, done);
    });
  }

  private unfreeze(): void {
    this.frozen = -1;
    this.finaliseSent = false;
  }

  private sendFinalise(b: number, link: PeerLink, owners: Owners, done: MoveDone): void {
    this.finaliseSent = true;
    const data = this.node.store.hold(b);
    const msg = { mask: this.node.table.mask, hash: b, epoch: owners.epoch, seq: data.seq, primary: owners.primary, backup: owners.backup };
    link.call(Cmd.copyFinalise, (w) => nodeMsg.copyFinalise.encode(w, msg), (reply, err) => {
      if (reply?.command === Reply.ack) {
        this.unfreeze();
        this.node.commit(b, owners);
        done(true);
        return;
      }
      if (reply === null) {
        this.unsure = { b, target: link.addr, owners, askAtMs: performance.now(), asking: false };
        this.node.log.warn({ bucket: b, to: link.addr, why: err }, 'hand-over outcome unknown: the bucket stays frozen until the target\'s view is known');
        done(false);
        return;
      }
      this.unfreeze();
      this.node.log.warn({ bucket: b, to: link.addr, why: replyWhy(reply) }, 'bucket hand-over refused');
      if (failCode(reply) === ErrorCode.seqGap) this.node.repl.dropBackup(b, link.addr, 'behind at hand-over');
      // A member that died while the bucket was frozen was not acted on for it: do it now.
      this.node.repairOwners(b);
      done(false);
    }, COPY_CALL_TIMEOUT_MS);
  }

  // ---- a hand-over with an unknown outcome ----

  /** The target's whole table arrived (on relink, or asked for): its entry for b is known now. */
  onFullTable(from: string): void {
    const u = this.unsure;
    if (u !== null && u.target === from) this.settleUnsure('the target\'s table is known');
  }

  /** Any table change: a newer entry for the frozen bucket settles it. */
  onTableMerged(): void {
    const u = this.unsure;
    if (u !== null && this.node.table.get(u.b).epoch >= u.owners.epoch) this.settleUnsure('a newer entry arrived');
  }

  private settleUnsure(why: string): void {
    const u = this.unsure!;
    this.unsure = null;
    this.unfreeze();
    this.node.log.info({ bucket: u.b, target: u.target, owner: this.node.table.get(u.b).primary, why }, 'hand-over outcome settled');
  }

  /**
   * The target died with the outcome unknown. BEHAVIOR: decide again at the planned epoch + 1, above
   * anything the target may have told others. The bucket goes to the planned backup when it lives
   * (it has every write: writes were frozen, and it would choose itself on the target's death),
   * else stays here.
   */
  onMemberGone(addr: string): void {
    const u = this.unsure;
    if (u === null || u.target !== addr) return;
    this.unsure = null;
    this.unfreeze();
    const e = this.node.table.get(u.b);
    if (e.epoch >= u.owners.epoch && e.primary !== addr) return;
    const me = this.node.me;
    const heirBackup = u.owners.primary === addr && u.owners.backup !== '' && u.owners.backup !== me && this.node.members.members.has(u.owners.backup);
    const heir = heirBackup ? u.owners.backup : me;
    this.node.log.warn({ bucket: u.b, target: addr, heir }, 'hand-over target died with the outcome unknown: deciding again');
    this.node.commit(u.b, { epoch: Math.max(e.epoch, u.owners.epoch) + 1, primary: heir, backup: '' });
  }

  private askUnsure(nowMs: number): void {
    const u = this.unsure;
    if (u === null || u.asking || nowMs < u.askAtMs) return;
    const link = this.node.members.linkOf(u.target);
    if (link === null) return;
    u.asking = true;
    link.call(Cmd.getTable, null, (reply) => {
      u.asking = false;
      u.askAtMs = performance.now() + UNSURE_ASK_EVERY_MS;
      if (this.unsure !== u || reply?.command !== Reply.table) return;
      this.node.mergeTable(nodeMsg.table.decode(new Reader(reply.payload)), u.target);
      if (this.unsure === u) this.settleUnsure('asked the target');
    }, COPY_CALL_TIMEOUT_MS);
  }

  private abort(out: Outgoing, why: string): void {
    if (this.outgoing !== out) return;
    this.outgoing = null;
    this.node.log.warn({ bucket: out.b, to: out.target, why }, 'bucket copy aborted');
    this.sendAbort(out);
    out.onDone(false);
  }

  private sendAbort(out: Outgoing): void {
    const ref = { mask: this.node.table.mask, hash: out.b };
    out.link.call(Cmd.copyAbort, (w) => nodeMsg.bucketRef.encode(w, ref), () => undefined, COPY_CALL_TIMEOUT_MS);
  }

  // ---- events ----

  /** A link closed (possibly one replaced by a newer link to the same member). */
  onLinkClosed(link: PeerLink): void {
    if (this.outgoing?.link === link) this.abort(this.outgoing, 'link to the target closed');
    if (this.incoming?.link === link) this.dropIncoming('link to the source closed');
  }

  tick(nowMs: number): void {
    if (this.incoming !== null && nowMs - this.incoming.lastMs > INCOMING_STALL_MS) this.dropIncoming('copy stalled');
    this.askUnsure(nowMs);
  }

  onLinkLost(addr: string): void {
    if (this.outgoing?.target === addr) this.abort(this.outgoing, 'link to the target lost');
    if (this.incoming?.from === addr) this.dropIncoming('link to the source lost');
  }

  /** The table changed for b: a copy of b that no longer makes sense stops. */
  onTableChanged(b: number): void {
    const out = this.outgoing;
    if (out !== null && out.b === b && !out.finalising) {
      const e = this.node.table.get(b);
      if (e.primary !== this.node.me || e.epoch !== out.epoch) this.abort(out, 'bucket changed owner');
    }
  }

  /** Everything stops (mask widened, node rejoining). */
  abortAll(why: string): void {
    if (this.outgoing !== null) this.abort(this.outgoing, why);
    if (this.incoming !== null) this.dropIncoming(why);
  }

  private dropIncoming(why: string): void {
    const inc = this.incoming;
    if (inc === null) return;
    this.incoming = null;
    if (this.node.table.level(inc.b, this.node.me) < 0) this.node.store.drop(inc.b);
    this.node.log.info({ bucket: inc.b, from: inc.from, why }, 'incoming copy dropped');
  }

  // ---- target side ----

  onCommand(link: PeerLink, frame: Frame, r: Reader): void {
    switch (frame.command) {
      case Cmd.copyBegin:
        return this.onCopyBegin(link, frame, nodeMsg.copyBegin.decode(r));
      case Cmd.copyItems:
        return this.onCopyItems(link, frame, nodeMsg.copyItems.decode(r));
      case Cmd.copyAbort: {
        const ref = nodeMsg.bucketRef.decode(r);
        if (this.incoming?.b === ref.hash && this.incoming.link === link) this.dropIncoming('source aborted');
        return link.ack(frame);
      }
      case Cmd.copyFinalise:
        return this.onFinalise(link, frame, nodeMsg.copyFinalise.decode(r));
      case Cmd.syncUpdate:
        return this.onSync(link, frame, nodeMsg.syncUpdate.decode(r));
      case Cmd.backupRelease:
        return this.onBackupRelease(link, frame, nodeMsg.bucketRef.decode(r));
      default:
        this.node.stats.unknownCommands++;
        link.replyWith(frame, Reply.unknown, (w) => unknown.encode(w, frame.command));
    }
  }

  private wrongMask(link: PeerLink, frame: Frame, mask: number): boolean {
    if (mask === this.node.table.mask) return false;
    link.fail(frame, ErrorCode.staleEpoch, `mask 0x${mask.toString(16)} differs from 0x${this.node.table.mask.toString(16)}`);
    return true;
  }

  private onCopyBegin(link: PeerLink, frame: Frame, m: nodeMsg.CopyBeginMsg): void {
    if (this.wrongMask(link, frame, m.mask)) return;
    if (this.node.leaving) return link.fail(frame, ErrorCode.shuttingDown, 'shutting down');
    if (this.incoming !== null && !(this.incoming.b === m.hash && this.incoming.link === link)) {
      return link.fail(frame, ErrorCode.busy, `already receiving bucket ${this.incoming.b}`);
    }
    const e = this.node.table.get(m.hash);
    if (m.epoch < e.epoch || e.primary !== link.addr) return link.fail(frame, ErrorCode.staleEpoch, 'sender is not the current primary');
    if (this.node.table.level(m.hash, this.node.me) < 0) this.node.store.drop(m.hash);
    this.node.store.hold(m.hash);
    this.incoming = { b: m.hash, from: link.addr, link, role: m.role, items: 0, lastMs: performance.now() };
    link.ack(frame);
  }

  private onCopyItems(link: PeerLink, frame: Frame, m: nodeMsg.CopyItemsMsg): void {
    const inc = this.incoming;
    if (inc === null || inc.b !== m.hash || inc.link !== link || m.mask !== this.node.table.mask) {
      return link.fail(frame, ErrorCode.staleEpoch, 'no copy of that bucket in progress');
    }
    const now = Date.now();
    for (const it of m.items) {
      if (it.expiresAtMs !== 0 && it.expiresAtMs <= now) continue;
      this.node.store.put(m.hash, it.map, it.key, { value: it.value, expiresAtMs: it.expiresAtMs });
    }
    inc.items += m.items.length;
    inc.lastMs = performance.now();
    link.ack(frame);
  }

  private onFinalise(link: PeerLink, frame: Frame, m: nodeMsg.CopyFinaliseMsg): void {
    if (this.wrongMask(link, frame, m.mask)) return;
    const e = this.node.table.get(m.hash);
    const copying = this.incoming?.b === m.hash && this.incoming.link === link;
    const promoting = e.primary === link.addr && e.backup === this.node.me;
    const owners: Owners = { epoch: m.epoch, primary: m.primary, backup: m.backup };
    if ((!copying && !promoting) || compareOwners(owners, e) <= 0) {
      return link.fail(frame, ErrorCode.staleEpoch, 'hand-over does not match this node\'s table');
    }
    if (this.node.leaving) return link.fail(frame, ErrorCode.shuttingDown, 'this node is shutting down');
    if (owners.primary === this.node.me && owners.backup !== '' && this.node.members.linkOf(owners.backup) === null) {
      return link.fail(frame, ErrorCode.retryLater, `not linked to the backup ${owners.backup} yet`);
    }
    const data = this.node.store.hold(m.hash);
    if (promoting && !copying && data.seq !== m.seq) {
      return link.fail(frame, ErrorCode.seqGap, `bucket ${m.hash}: this backup is at seq ${data.seq}, the primary at ${m.seq}`);
    }
    if (copying) this.incoming = null;
    data.seq = Math.max(data.seq, m.seq);
    this.node.commit(m.hash, owners); // applied here and told to everyone, as the source does
    link.ack(frame);
  }

  private onSync(link: PeerLink, frame: Frame, m: nodeMsg.SyncUpdateMsg): void {
    if (this.wrongMask(link, frame, m.mask)) return;
    const e = this.node.table.get(m.hash);
    const copying = this.incoming?.b === m.hash && this.incoming.link === link;
    const backingUp = e.primary === link.addr && e.backup === this.node.me && m.epoch >= e.epoch;
    if (!copying && !backingUp) {
      return link.fail(frame, ErrorCode.staleEpoch, `bucket ${m.hash}: epoch ${m.epoch} from ${link.addr} is not current (${e.epoch}, primary ${e.primary || 'none'})`);
    }
    const data = this.node.store.hold(m.hash);
    if (!copying && data.seq !== 0 && m.seq !== data.seq + 1) {
      return link.fail(frame, ErrorCode.seqGap, `bucket ${m.hash}: expected seq ${data.seq + 1}, got ${m.seq}`);
    }
    this.node.store.apply(m.hash, m.update);
    data.seq = m.seq;
    link.ack(frame);
  }

  private onBackupRelease(link: PeerLink, frame: Frame, ref: nodeMsg.BucketRef): void {
    if (this.wrongMask(link, frame, ref.mask)) return;
    const e = this.node.table.get(ref.hash);
    if (this.isFrozen(ref.hash) || this.outgoing?.b === ref.hash) {
      // One decision per bucket at a time: the hand-over in flight decides first.
      return link.fail(frame, ErrorCode.retryLater, `bucket ${ref.hash} is being handed over; ask again`);
    }
    if (e.primary === this.node.me && e.backup === link.addr) {
      this.node.commit(ref.hash, { epoch: e.epoch + 1, primary: this.node.me, backup: '' });
    }
    link.ack(frame);
  }
}

function replyWhy(reply: Frame | null): string {
  if (reply === null) return 'no reply';
  if (reply.command !== Reply.failinfo) return `reply ${reply.command}`;
  try {
    const info = failinfo.decode(new Reader(reply.payload));
    return `failinfo ${info.code}: ${info.message}`;
  } catch {
    return 'a malformed failinfo';
  }
}

function failCode(reply: Frame): number {
  if (reply.command !== Reply.failinfo) return 0;
  try {
    return failinfo.decode(new Reader(reply.payload)).code;
  } catch {
    return 0;
  }
}
