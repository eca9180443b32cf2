// The backup's side of replication: sync_update from a bucket's primary (or from the source of a
// copy arriving here) is applied in order. The primary's side is replication.ts.
// BEHAVIOR: a push is taken only from the primary of the current entry (epoch not older) or on the
// link of the copy in progress; a backup that missed a push (seq gap) refuses it with seqGap, and
// the primary then rebuilds it. A copy's pushes are applied as they come (the copy sets its seq).
import { ErrorCode } from '../protocol/commands.js';
import type { Frame } from '../protocol/header.js';
import type { SyncUpdateMsg } from '../protocol/messages/node.js';
import { refuseOtherMask, type PeerLink } from './peer-link.js';
import type { BucketTable } from './table.js';
import type { Store } from './store.js';

/** What the backup's side needs of the node. */
export interface BackupReceiverHost {
  readonly me: string;
  readonly table: Pick<BucketTable, 'get' | 'mask'>;
  readonly store: Pick<Store, 'hold' | 'apply' | 'bucket'>;
}

/** Whether a copy of the bucket is arriving on that link (copy-receiver.ts). */
export interface CopiesArriving {
  isCopyFrom(b: number, link: PeerLink): boolean;
}

export function onSyncUpdate(node: BackupReceiverHost, copies: CopiesArriving, link: PeerLink, frame: Frame, m: SyncUpdateMsg): void {
  if (refuseOtherMask(link, frame, m.mask, node.table.mask)) return;
  const e = node.table.get(m.hash);
  const copying = copies.isCopyFrom(m.hash, link);
  const backingUp = e.primary === link.addr && e.backup === node.me && m.epoch >= e.epoch;
  if (!copying && !backingUp) {
    return link.fail(frame, ErrorCode.staleEpoch, `bucket ${m.hash}: epoch ${m.epoch} from ${link.addr} is not current (${e.epoch}, primary ${e.primary || 'none'})`);
  }
  // A backup that holds no copy (a new incarnation on the address the entry names) has none of the
  // bucket's earlier items: acknowledging pushes would pass it off as a whole copy. The gap makes
  // the primary rebuild it.
  const held = node.store.bucket(m.hash);
  if (!copying && held === undefined) {
    return link.fail(frame, ErrorCode.seqGap, `bucket ${m.hash}: this node holds no copy of it (expected a copy first)`);
  }
  const data = node.store.hold(m.hash);
  if (!copying && data.seq !== 0 && m.seq !== data.seq + 1) {
    return link.fail(frame, ErrorCode.seqGap, `bucket ${m.hash}: expected seq ${data.seq + 1}, got ${m.seq}`);
  }
  node.store.apply(m.hash, m.update, m.epoch, m.seq);
  data.seq = m.seq;
  link.ack(frame);
}
