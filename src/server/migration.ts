// Moving buckets between nodes, as the node sees it: one copy out (copy-sender.ts), one hand-over
// and its outcome (hand-over.ts) and one copy in (copy-receiver.ts) at a time. Also the dispatch
// of the node commands of bucket moves and backups (sync_update goes to backup-receiver.ts), and
// backup_release, which must wait for a hand-over of the same bucket.
import { Cmd, ErrorCode, Reply } from '../protocol/commands.js';
import type { Reader } from '../protocol/codec.js';
import { unknown } from '../protocol/messages/legacy.js';
import type { Frame } from '../protocol/header.js';
import * as nodeMsg from '../protocol/messages/node.js';
import { refuseOtherMask, type PeerLink } from './peer-link.js';
import { HandOver, type HandOverHost, type MoveDone } from './hand-over.js';
import { CopySender, type CopySenderHost } from './copy-sender.js';
import { CopyReceiver, type CopyReceiverHost } from './copy-receiver.js';
import { onSyncUpdate, type BackupReceiverHost } from './backup-receiver.js';
import { TransferSummary } from './transfer-summary.js';

export type { MoveDone } from './hand-over.js';

/** What bucket moves need of the node: the union of what each part needs. */
export type MigrationHost = HandOverHost &
  CopySenderHost &
  CopyReceiverHost &
  BackupReceiverHost & {
    readonly stats: { unknownCommands: number };
  };

export class Migration {
  private readonly handOver: HandOver;
  private readonly sender: CopySender;
  private readonly receiver: CopyReceiver;
  private readonly summary: TransferSummary;

  constructor(private readonly node: MigrationHost) {
    this.summary = new TransferSummary(node.log);
    this.handOver = new HandOver(node);
    this.sender = new CopySender(node, this.handOver);
    this.receiver = new CopyReceiver(node);
  }

  /** A copy out, a frozen bucket or a hand-over with an unknown outcome: no other move starts. */
  get busy(): boolean {
    return this.sender.busy || this.handOver.busy;
  }

  /** Buckets handed over (copies and promotions) since start. */
  get moved(): number {
    return this.handOver.moved;
  }

  /** The copy arriving here, if any. */
  get incoming(): { readonly b: number; readonly from: string } | null {
    return this.receiver.current;
  }

  isFrozen(b: number): boolean {
    return this.handOver.isFrozen(b);
  }

  isHandOverSent(b: number): boolean {
    return this.handOver.isHandOverSent(b);
  }

  isIncoming(b: number): boolean {
    return this.receiver.isIncoming(b);
  }

  copyTargetLink(b: number): PeerLink | null {
    return this.sender.copyTargetLink(b);
  }

  describe(): { bucket: number; to: string; role: string; items: number } | null {
    return this.sender.describe();
  }

  /** Copies bucket b to `target`, which becomes its primary or its backup. */
  startCopy(b: number, target: string, role: number, onDone: MoveDone): boolean {
    if (this.busy) return false;
    const kind = role === nodeMsg.CopyRole.primary ? 'primary' : 'backup';
    const done: MoveDone = (ok, items) => {
      this.summary.moveDone(target, kind, ok, items ?? 0, this.node.clock.nowMs());
      onDone(ok, items);
    };
    const started = this.sender.start(b, target, role, done);
    if (started) this.summary.moveStarted(target, this.node.clock.nowMs());
    return started;
  }

  /** Gives bucket b to its backup `target` in place: no data moves. */
  promote(b: number, target: string, keepMeAsBackup: boolean, onDone: MoveDone): boolean {
    if (this.busy) return false;
    const done: MoveDone = (ok) => {
      this.summary.moveDone(target, 'promote', ok, 0, this.node.clock.nowMs());
      onDone(ok);
    };
    const started = this.handOver.promote(b, target, keepMeAsBackup, done);
    if (started) this.summary.moveStarted(target, this.node.clock.nowMs());
    return started;
  }

  // ---- events ----

  onFullTable(from: string): void {
    this.handOver.onFullTable(from);
  }

  onTableMerged(): void {
    this.handOver.onTableMerged();
  }

  onMemberGone(addr: string): void {
    this.handOver.onMemberGone(addr);
  }

  /** A link closed (possibly one replaced by a newer link to the same member). */
  onLinkClosed(link: PeerLink): void {
    this.sender.onLinkClosed(link);
    this.receiver.onLinkClosed(link);
  }

  onLinkLost(addr: string): void {
    this.sender.onLinkLost(addr);
    this.receiver.onLinkLost(addr);
  }

  onTableChanged(b: number): void {
    this.sender.onTableChanged(b);
  }

  tick(nowMs: number): void {
    this.receiver.tick(nowMs);
    this.handOver.askUnsure(nowMs);
    this.summary.tick(nowMs);
  }

  /** Everything stops (mask widened, node rejoining). */
  abortAll(why: string): void {
    this.sender.abortAll(why);
    this.receiver.drop(why);
  }

  // ---- node commands ----

  onCommand(link: PeerLink, frame: Frame, r: Reader): void {
    switch (frame.command) {
      case Cmd.copyBegin:
        return this.receiver.onCopyBegin(link, frame, nodeMsg.copyBegin.decode(r));
      case Cmd.copyItems:
        return this.receiver.onCopyItems(link, frame, nodeMsg.copyItems.decode(r));
      case Cmd.copyAbort:
        return this.receiver.onCopyAbort(link, frame, nodeMsg.bucketRef.decode(r));
      case Cmd.copyFinalise:
        return this.receiver.onFinalise(link, frame, nodeMsg.copyFinalise.decode(r));
      case Cmd.syncUpdate:
        return onSyncUpdate(this.node, this.receiver, link, frame, nodeMsg.syncUpdate.decode(r));
      case Cmd.backupRelease:
        return this.onBackupRelease(link, frame, nodeMsg.bucketRef.decode(r));
      default:
        this.node.stats.unknownCommands++;
        link.replyWith(frame, Reply.unknown, (w) => unknown.encode(w, frame.command));
    }
  }

  /** The backup of one of our buckets no longer wants to be (it is leaving): the bucket drops it. */
  private onBackupRelease(link: PeerLink, frame: Frame, ref: nodeMsg.BucketRef): void {
    if (refuseOtherMask(link, frame, ref.mask, this.node.table.mask)) return;
    const e = this.node.table.get(ref.hash);
    if (this.handOver.isFrozen(ref.hash) || this.sender.bucket === ref.hash) {
      // One decision per bucket at a time: the hand-over in flight decides first.
      return link.fail(frame, ErrorCode.retryLater, `bucket ${ref.hash} is being handed over; ask again`);
    }
    if (e.primary === this.node.me && e.backup === link.addr) {
      this.node.commit(ref.hash, { epoch: e.epoch + 1, primary: this.node.me, backup: '' });
    }
    link.ack(frame);
  }
}
