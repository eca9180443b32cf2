// The hand-over of a bucket this node is primary of, and its one outcome: freeze the bucket, wait
// for the backup's answers, have the target take the new owners (copy_finalise), commit; or, with
// no answer, keep the bucket frozen until the target's view is known or the target is declared dead.
// Used at the end of a copy (copy-sender.ts) and to promote a backup in place (no data moves).
// BEHAVIOR: writes to the frozen bucket answer retryLater (routing.ts) for about one round trip.
import { Cmd, ErrorCode, Reply } from '../protocol/commands.js';
import { Reader } from '../protocol/codec.js';
import * as nodeMsg from '../protocol/messages/node.js';
import { assert } from '../shared/assert.js';
import { replyFailCode, replyWhy, type PeerLink } from './peer-link.js';
import type { BucketTable, Owners } from './table.js';
import type { Store } from './store.js';
import type { Logger } from './log.js';
import type { Clock } from '../shared/clock.js';

/** A move ended; `items`: how many a copy sent (0 for a promotion). */
export type MoveDone = (ok: boolean, items?: number) => void;

export const HAND_OVER_CALL_TIMEOUT_MS = 15_000;
const UNSURE_ASK_EVERY_MS = 500;

/** What every part of a move (the copy's source, the hand-over) needs of the node. */
export interface MoveHostBase {
  readonly me: string;
  readonly clock: Clock;
  readonly table: Pick<BucketTable, 'get' | 'mask'>;
  readonly store: Pick<Store, 'hold'>;
  readonly log: Logger;
  readonly members: { linkOf(addr: string): PeerLink | null };
}

/** What the hand-over needs of the node. */
export interface HandOverHost extends MoveHostBase {
  readonly members: { linkOf(addr: string): PeerLink | null; readonly members: { has(addr: string): boolean } };
  readonly repl: { whenPushesAnswered(b: number, fn: () => void): void; dropBackup(b: number, addr: string, why: string): void };
  /** Applies owners for b here and tells every member. */
  commit(b: number, owners: Owners): void;
  /** After a refused hand-over of b: a backup that died meanwhile is dropped. */
  repairOwners(b: number): void;
  mergeTable(msg: nodeMsg.TableMsg, from: string): void;
}

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

export class HandOver {
  private frozen = -1;
  private finaliseSent = false;
  private unsure: Unsure | null = null;
  /** Buckets handed over (copies and promotions) since start. */
  moved = 0;

  constructor(private readonly node: HandOverHost) {}

  /** A bucket is frozen or its outcome unknown: no other move starts. */
  get busy(): boolean {
    return this.frozen >= 0 || this.unsure !== null;
  }

  isFrozen(b: number): boolean {
    return this.frozen === b;
  }

  /** b is frozen and its copy_finalise is out (not merely waiting for the backup's answers). */
  isHandOverSent(b: number): boolean {
    return this.frozen === b && this.finaliseSent;
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
  finalise(b: number, link: PeerLink, owners: Owners, done: MoveDone): void {
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
        this.unsure = { b, target: link.addr, owners, askAtMs: this.node.clock.nowMs(), asking: false };
        this.node.log.warn({ bucket: b, to: link.addr, why: err }, 'hand-over outcome unknown: the bucket stays frozen until the target\'s view is known');
        done(false);
        return;
      }
      this.unfreeze();
      // retryLater (the target is not linked to the new backup yet: a join in progress) is ordinary.
      const ordinary = replyFailCode(reply) === ErrorCode.retryLater;
      this.node.log[ordinary ? 'debug' : 'warn']({ bucket: b, to: link.addr, why: replyWhy(reply) }, 'bucket hand-over refused');
      if (replyFailCode(reply) === ErrorCode.seqGap) this.node.repl.dropBackup(b, link.addr, 'behind at hand-over');
      // A member that died while the bucket was frozen was not acted on for it: do it now.
      this.node.repairOwners(b);
      done(false);
    }, HAND_OVER_CALL_TIMEOUT_MS);
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

  /** Called by the node's tick: asks the target of an unsure hand-over for its table, at most every UNSURE_ASK_EVERY_MS. */
  askUnsure(nowMs: number): void {
    const u = this.unsure;
    if (u === null || u.asking || nowMs < u.askAtMs) return;
    const link = this.node.members.linkOf(u.target);
    if (link === null) return;
    u.asking = true;
    link.call(Cmd.getTable, null, (reply) => {
      u.asking = false;
      u.askAtMs = this.node.clock.nowMs() + UNSURE_ASK_EVERY_MS;
      if (this.unsure !== u || reply?.command !== Reply.table) return;
      this.node.mergeTable(nodeMsg.table.decode(new Reader(reply.payload)), u.target);
      if (this.unsure === u) this.settleUnsure('asked the target');
    }, HAND_OVER_CALL_TIMEOUT_MS);
  }
}
