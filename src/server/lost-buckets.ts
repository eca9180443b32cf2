// Buckets the cluster has no live copy of: they wait ownerless for a node that holds one, and are
// taken over empty only after the grace time; a node that must rejoin as a new member keeps the
// data of its buckets meanwhile and hands back those the cluster found no copy of.
//
// BACKGROUND: with two copies of each bucket, a kill -9 of one holder followed by a cut that
// isolates the other (before a new backup was made) left no copy the others could reach; they took
// the bucket over empty at once, served "no such item" for acknowledged writes, and the isolated
// holder, told on its return that it had been declared dead, dropped its data to rejoin (the
// simulator's seeds 580, 621, 783, 945). A copy cut off is not a copy lost.
// BEHAVIOR: the lowest live address marks such a bucket ownerless (primary none, a new epoch):
// requests are answered noOwner, which clients retry. A node rejoining as a new member keeps the
// data of every bucket it held (for the grace time) and, once the cluster's table names no owner
// for one of them (or names this address primary of it with no backup), takes it back as primary
// with that data. A bucket still ownerless after the grace time is taken over empty by the lowest
// live address and logged at error level: its copies are gone.
import type { Clock } from '../shared/clock.js';
import type { Logger } from './log.js';
import type { BucketData, Store } from './store.js';
import type { BucketTable, Owners } from './table.js';

export interface LostBucketsHost {
  readonly me: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly table: Pick<BucketTable, 'get' | 'size' | 'mask' | 'blank'>;
  readonly store: Pick<Store, 'detach' | 'attach' | 'heldBuckets' | 'mask'>;
  readonly opts: { readonly lostBucketGraceMs: number };
  readonly ownershipView: { liveAddrs(): Set<string> };
  readonly migration: { isIncoming(b: number): boolean };
}

/** The data a rejoining node kept, with the mask it was kept under and when. */
interface Kept {
  mask: number;
  sinceMs: number;
  buckets: Map<number, BucketData>;
}

export class LostBuckets {
  /** When this node first saw each ownerless bucket (its own clock). */
  private readonly ownerlessSince = new Map<number, number>();
  private kept: Kept | null = null;

  constructor(private readonly node: LostBucketsHost) {}

  /** This node is about to rejoin as a new member: it keeps the data of every bucket it holds. */
  keepAll(): void {
    const node = this.node;
    const buckets = new Map<number, BucketData>();
    for (const b of node.store.heldBuckets()) {
      const data = node.store.detach(b);
      if (data !== undefined && data.itemCount > 0) buckets.set(b, data);
    }
    this.kept = buckets.size > 0 ? { mask: node.store.mask, sinceMs: node.clock.nowMs(), buckets } : null;
    if (this.kept !== null) node.log.info({ buckets: buckets.size }, 'keeping the data of this node\'s buckets until the cluster says which it has no copy of');
  }

  /** Whether b's kept data can be handed back now (this node kept it under the cluster's mask). */
  keeps(b: number): boolean {
    return this.kept !== null && this.kept.mask === this.node.table.mask && this.kept.buckets.has(b);
  }

  /**
   * The table changed (a merge): kept buckets the cluster has no copy of are taken back, with their
   * data, at a new epoch. `namedMine` are buckets an entry names this address primary of, which this
   * incarnation does not hold (table-merge.ts); those taken here are removed from it.
   */
  handBack(namedMine: number[]): [number, Owners][] {
    const kept = this.kept;
    if (kept === null || this.node.table.blank || kept.mask !== this.node.table.mask) return [];
    const node = this.node;
    const live = node.ownershipView.liveAddrs();
    const out: [number, Owners][] = [];
    for (const [b, data] of kept.buckets) {
      const e = node.table.get(b);
      const mine = namedMine.includes(b) && (e.backup === '' || !live.has(e.backup));
      if (e.primary !== '' && !mine) continue;
      if (node.migration.isIncoming(b)) continue;
      kept.buckets.delete(b);
      if (mine) namedMine.splice(namedMine.indexOf(b), 1);
      node.store.attach(b, data);
      this.ownerlessSince.delete(b);
      node.log.warn({ bucket: b, items: data.itemCount }, 'handed back a bucket the cluster had no live copy of');
      out.push([b, { epoch: e.epoch + 1, primary: node.me, backup: '' }]);
    }
    if (kept.buckets.size === 0) this.kept = null;
    return out;
  }

  /**
   * Periodic: kept data past the grace time is dropped (the cluster has owners for it), and a
   * bucket ownerless past the grace time is taken over empty by the lowest live address.
   */
  tick(): [number, Owners][] {
    const node = this.node;
    const now = node.clock.nowMs();
    const graceMs = node.opts.lostBucketGraceMs;
    if (this.kept !== null && now - this.kept.sinceMs > graceMs) {
      node.log.info({ buckets: this.kept.buckets.size }, 'kept data dropped: the cluster has an owner for each of those buckets');
      this.kept = null;
    }
    if (node.table.blank) return [];
    const lowest = [...node.ownershipView.liveAddrs()].sort()[0];
    const out: [number, Owners][] = [];
    for (let b = 0; b < node.table.size; b++) {
      const e = node.table.get(b);
      if (e.primary !== '') {
        this.ownerlessSince.delete(b);
        continue;
      }
      const since = this.ownerlessSince.get(b);
      if (since === undefined) {
        this.ownerlessSince.set(b, now);
        continue;
      }
      if (now - since < graceMs || lowest !== node.me || node.migration.isIncoming(b)) continue;
      node.log.error({ bucket: b, waitedMs: Math.round(now - since) }, 'bucket lost: no copy came back within the grace time; taken over empty');
      this.ownerlessSince.delete(b);
      out.push([b, { epoch: e.epoch + 1, primary: node.me, backup: '' }]);
    }
    return out;
  }

  /** The node's mask widened: ownerless times are per bucket of the old mask; start them again. */
  reset(): void {
    this.ownerlessSince.clear();
  }
}
