// The receiving side of a bucket copy (copy_begin, copy_items, copy_abort) and of a hand-over
// (copy_finalise, after a copy or to promote this backup in place). One copy in at a time; a copy
// silent past INCOMING_STALL_MS is dropped.
import { ErrorCode } from '../protocol/commands.js';
import type { Frame } from '../protocol/header.js';
import type * as nodeMsg from '../protocol/messages/node.js';
import { refuseOtherMask, type PeerLink } from './peer-link.js';
import { compareOwners, type BucketTable, type Owners } from './table.js';
import type { Store } from './store.js';
import type { Logger } from './log.js';
import type { Clock } from '../shared/clock.js';

const INCOMING_STALL_MS = 30_000;

/** What the receiving side needs of the node. */
export interface CopyReceiverHost {
  readonly me: string;
  readonly clock: Clock;
  readonly leaving: boolean;
  readonly table: Pick<BucketTable, 'get' | 'mask' | 'level'>;
  readonly store: Pick<Store, 'hold' | 'drop' | 'put'>;
  readonly log: Logger;
  readonly members: { linkOf(addr: string): PeerLink | null; leaseValid(strict?: boolean): boolean };
  /** Applies owners for b here and tells every member. */
  commit(b: number, owners: Owners): void;
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

export class CopyReceiver {
  private incoming: Incoming | null = null;

  constructor(private readonly node: CopyReceiverHost) {}

  /** The copy arriving here, if any. */
  get current(): { readonly b: number; readonly from: string } | null {
    return this.incoming;
  }

  isIncoming(b: number): boolean {
    return this.incoming?.b === b;
  }

  /** A copy of b is arriving on this link (its pushes are applied as they come, without seq checks). */
  isCopyFrom(b: number, link: PeerLink): boolean {
    return this.incoming?.b === b && this.incoming.link === link;
  }

  onCopyBegin(link: PeerLink, frame: Frame, m: nodeMsg.CopyBeginMsg): void {
    if (refuseOtherMask(link, frame, m.mask, this.node.table.mask)) return;
    if (this.node.leaving) return link.fail(frame, ErrorCode.shuttingDown, 'shutting down');
    if (this.incoming !== null && !this.isCopyFrom(m.hash, link)) {
      return link.fail(frame, ErrorCode.busy, `already receiving bucket ${this.incoming.b}`);
    }
    const e = this.node.table.get(m.hash);
    if (m.epoch < e.epoch || e.primary !== link.addr) return link.fail(frame, ErrorCode.staleEpoch, 'sender is not the current primary');
    if (this.node.table.level(m.hash, this.node.me) < 0) this.node.store.drop(m.hash);
    this.node.store.hold(m.hash);
    this.incoming = { b: m.hash, from: link.addr, link, role: m.role, items: 0, lastMs: this.node.clock.nowMs() };
    link.ack(frame);
  }

  onCopyItems(link: PeerLink, frame: Frame, m: nodeMsg.CopyItemsMsg): void {
    const inc = this.incoming;
    if (inc === null || inc.b !== m.hash || inc.link !== link || m.mask !== this.node.table.mask) {
      return link.fail(frame, ErrorCode.staleEpoch, 'no copy of that bucket in progress');
    }
    const now = this.node.clock.wallMs();
    for (const it of m.items) {
      if (it.expiresAtMs !== 0 && it.expiresAtMs <= now) continue;
      this.node.store.put(m.hash, it.map, it.key, { value: it.value, expiresAtMs: it.expiresAtMs, vEpoch: it.vEpoch ?? 0, vSeq: it.vSeq ?? 0 });
    }
    inc.items += m.items.length;
    inc.lastMs = this.node.clock.nowMs();
    link.ack(frame);
  }

  onCopyAbort(link: PeerLink, frame: Frame, ref: nodeMsg.BucketRef): void {
    if (this.isCopyFrom(ref.hash, link)) this.drop('source aborted');
    link.ack(frame);
  }

  onFinalise(link: PeerLink, frame: Frame, m: nodeMsg.CopyFinaliseMsg): void {
    if (refuseOtherMask(link, frame, m.mask, this.node.table.mask)) return;
    const e = this.node.table.get(m.hash);
    const copying = this.isCopyFrom(m.hash, link);
    const promoting = e.primary === link.addr && e.backup === this.node.me;
    const owners: Owners = { epoch: m.epoch, primary: m.primary, backup: m.backup };
    if ((!copying && !promoting) || compareOwners(owners, e) <= 0) {
      return link.fail(frame, ErrorCode.staleEpoch, 'hand-over does not match this node\'s table');
    }
    if (this.node.leaving) return link.fail(frame, ErrorCode.shuttingDown, 'this node is shutting down');
    // Only a node holding its lease changes the table (node.ts): a finalise that waited out a cut
    // reached a node declared dead meanwhile, and it took the bucket at an epoch the source had
    // already used to decide again (the simulator's seed 793).
    if (!this.node.members.leaseValid(true)) return link.fail(frame, ErrorCode.retryLater, 'this node does not hold its lease now');
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

  // ---- events ----

  onLinkClosed(link: PeerLink): void {
    if (this.incoming?.link === link) this.drop('link to the source closed');
  }

  onLinkLost(addr: string): void {
    if (this.incoming?.from === addr) this.drop('link to the source lost');
  }

  tick(nowMs: number): void {
    if (this.incoming !== null && nowMs - this.incoming.lastMs > INCOMING_STALL_MS) this.drop('copy stalled');
  }

  /** Drops the copy arriving here, if any; its data too unless the table gives this node the bucket. */
  drop(why: string): void {
    const inc = this.incoming;
    if (inc === null) return;
    this.incoming = null;
    if (this.node.table.level(inc.b, this.node.me) < 0) this.node.store.drop(inc.b);
    this.node.log.info({ bucket: inc.b, from: inc.from, why }, 'incoming copy dropped');
  }
}
