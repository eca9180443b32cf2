// What a table from another member means here: the cluster's mask adopted by a node that has not
// heard from its cluster yet, newer entries applied, and entries naming this address for buckets
// this incarnation never held given away (ownership.ts).
import type * as nodeMsg from '../protocol/messages/node.js';
import type { Logger } from './log.js';
import type { Migration } from './migration.js';
import type { ServerOptions } from './options.js';
import { disownStale, type OwnershipView } from './ownership.js';
import type { LostBuckets } from './lost-buckets.js';
import { Store } from './store.js';
import { BucketTable, compareOwners, type Owners } from './table.js';

export interface TableMergeHost {
  readonly me: string;
  readonly log: Logger;
  readonly opts: Pick<ServerOptions, 'mask' | 'maskGiven'>;
  table: BucketTable;
  store: Store;
  readonly migration: Pick<Migration, 'isIncoming' | 'incoming' | 'onTableMerged' | 'onFullTable'>;
  readonly ownershipView: OwnershipView;
  readonly lost: Pick<LostBuckets, 'handBack'>;
  widen(newMask: number): void;
  /** Sets b's owners here and does what that means (data kept or dropped, clients told). */
  applyOwners(b: number, owners: Owners): void;
  afterChange(b: number, before?: number): void;
  commitMany(list: [number, Owners][]): void;
}

export class TableMerge {
  private maskWarned = false;

  constructor(private readonly node: TableMergeHost) {}

  /** Entries from another member: newer ones win. */
  merge(msg: nodeMsg.TableMsg, from: string): void {
    this.adoptClusterMask(msg.mask, from);
    this.mergeEntries(msg);
    this.node.migration.onTableMerged();
    if (msg.entries.length === this.node.table.size) this.node.migration.onFullTable(from);
  }

  private mergeEntries(msg: nodeMsg.TableMsg): void {
    const node = this.node;
    if (msg.mask > node.table.mask) node.widen(msg.mask);
    const stale: number[] = [];
    for (const e of msg.entries) {
      if (msg.mask < node.table.mask) {
        const before = new Map<number, number>();
        for (let b = e.hash & msg.mask; b <= node.table.mask; b += msg.mask + 1) before.set(b, node.table.level(b, node.me));
        for (const b of node.table.merge(msg.mask, e)) {
          if (this.namesMeWithoutData(b, node.table.get(b))) stale.push(b);
          node.afterChange(b, before.get(b));
        }
        continue;
      }
      const b = e.hash & node.table.mask;
      if (compareOwners(e, node.table.get(b)) > 0) {
        if (this.namesMeWithoutData(b, e)) stale.push(b);
        node.applyOwners(b, e);
      }
    }
    // Kept data first (a rejoining node's own buckets the cluster has no copy of), then the rest.
    node.commitMany(node.lost.handBack(stale));
    node.commitMany(disownStale(node.ownershipView, stale));
  }

  /** The entry names this node primary of b, whose data this incarnation neither holds nor receives. */
  private namesMeWithoutData(b: number, e: Owners): boolean {
    const node = this.node;
    return e.primary === node.me && node.store.bucket(b) === undefined && !node.migration.isIncoming(b);
  }

  /**
   * BACKGROUND: a joining node builds its table from its own --mask (default 0xff) before it has
   * heard from the cluster; merging that table made every other node widen to it.
   * BEHAVIOR: the mask belongs to the cluster. A blank table (no entry decided: the node is joining
   * or rejoining, holds no bucket and receives none) takes the mask of the first table that reaches
   * it, narrower or wider; a --mask that differs is ignored with one warning line. A blank table is
   * never sent (sendTable), so it never widens anyone. Widening as nodes join stays the balancer's.
   */
  private adoptClusterMask(mask: number, from: string): void {
    const node = this.node;
    if (mask === node.table.mask || !node.table.blank) return;
    if (node.store.heldBuckets().length > 0 || node.migration.incoming !== null) return;
    if (node.opts.maskGiven && mask !== node.opts.mask && !this.maskWarned) {
      this.maskWarned = true;
      const hex = (m: number): string => `0x${m.toString(16)}`;
      node.log.warn({ mask: hex(node.opts.mask), clusterMask: hex(mask), from }, '--mask ignored: this node joined a cluster, which keeps its own mask (--mask is for a new cluster)');
    }
    node.log.info({ mask, from }, 'took the cluster\'s bucket mask');
    node.table = new BucketTable(mask, { epoch: 0, primary: '', backup: '' });
    node.store = new Store(mask);
  }
}
