// The node's data: per bucket, plain items and maps of items, keyed by full names (latin1 strings)
// mapped to slots of the bucket's ItemSlots (item-slots.ts: packed metadata, values in arenas),
// with lazy expiry on read, a bounded periodic sweep, and a modelled memory count.
import { assert, fail } from '../shared/assert.js';
import { itemRouteHashLatin1 } from '../shared/fnv.js';
import { isValidMask } from '../shared/buckets.js';
import { UpdateOp, type Update } from '../protocol/messages/node.js';
import type { Writer } from '../protocol/codec.js';
import { TICK_MAX } from './item-slots.js';
import { BucketData, Table, type ItemInput, type StoredItem } from './bucket-data.js';

export { BucketData, Table, ENTRY_MODEL_BYTES, MAP_OVERHEAD_BYTES, itemCostBytes } from './bucket-data.js';
export type { ItemInput, StoredItem } from './bucket-data.js';


/** The item of a bucket that eviction would take first there (memory-limit.ts). */
export interface EvictionCandidate {
  map: string;
  key: string;
  usedTick: number;
  expiresAtMs: number;
}

export function isExpired(it: StoredItem, nowMs: number): boolean {
  return it.expiresAtMs !== 0 && it.expiresAtMs <= nowMs;
}

/** Which hash places an item: the map's for map entries, the key's for plain items. */
export function routeHash(map: string, key: string): number {
  return itemRouteHashLatin1(map, key);
}


export type ExpiredHandler = (bucket: number, map: string, key: string) => void;

export class Store {
  private buckets: (BucketData | undefined)[];
  /** The modelled memory of every held bucket (BucketData.bytes), kept up to date by each change. */
  approxBytes = 0;
  private sweepBucket = 0;
  /** Advances on every write and read hit: items' usedTick stamps order them by last use. */
  private tick = 0;

  constructor(public mask: number) {
    assert(isValidMask(mask), 'store mask must be valid');
    this.buckets = new Array<BucketData | undefined>(mask + 1).fill(undefined);
  }

  bucketOf(map: string, key: string): number {
    return (routeHash(map, key) & this.mask) >>> 0;
  }

  bucket(b: number): BucketData | undefined {
    return this.buckets[b];
  }

  /** Starts holding bucket b (empty) if not held. */
  hold(b: number): BucketData {
    let data = this.buckets[b];
    if (data === undefined) {
      data = new BucketData();
      this.buckets[b] = data;
      this.approxBytes += data.bytes;
    }
    return data;
  }

  /** Forgets bucket b and all its items. */
  drop(b: number): void {
    this.detach(b);
  }

  /** Takes bucket b out of the store, items and all (lost-buckets.ts keeps it for a while). */
  detach(b: number): BucketData | undefined {
    const data = this.buckets[b];
    if (data === undefined) return undefined;
    this.approxBytes -= data.bytes;
    this.buckets[b] = undefined;
    return data;
  }

  /** Puts a detached bucket back as bucket b, replacing what was held there. */
  attach(b: number, data: BucketData): void {
    if (!(b >= 0 && b <= this.mask)) fail(`bucket ${b} is outside mask ${this.mask}`);
    this.detach(b);
    this.buckets[b] = data;
    this.approxBytes += data.bytes;
  }

  heldBuckets(): number[] {
    const out: number[] = [];
    for (let b = 0; b < this.buckets.length; b++) if (this.buckets[b] !== undefined) out.push(b);
    return out;
  }

  /** Items in bucket b (0 when not held). */
  itemsIn(b: number): number {
    return this.buckets[b]?.itemCount ?? 0;
  }

  totalItems(): number {
    let n = 0;
    for (const d of this.buckets) if (d !== undefined) n += d.itemCount;
    return n;
  }

  totalMaps(): number {
    let n = 0;
    for (const d of this.buckets) if (d !== undefined) n += d.maps.size;
    return n;
  }

  /** Looks an item up; an expired one is removed and reported, and reads as missing. */
  read(b: number, map: string, key: string, nowMs: number, onExpired: ExpiredHandler | null): StoredItem | undefined {
    const data = this.buckets[b];
    if (data === undefined) return undefined;
    const s = this.liveSlot(data, b, map, key, nowMs, onExpired);
    if (s < 0) return undefined;
    const sl = data.slots;
    return { value: sl.value(s), expiresAtMs: sl.expiresAt(s), usedTick: sl.usedTick(s), vEpoch: sl.vEpoch(s), vSeq: sl.vSeq(s) };
  }

  /**
   * read() for a reply: writes the item's value in its wire form into w and answers true, or
   * writes nothing and answers false when there is no such item. Makes no object per item (the
   * batch read's hot path).
   */
  writeValueOf(b: number, map: string, key: string, nowMs: number, onExpired: ExpiredHandler | null, w: Writer): boolean {
    const data = this.buckets[b];
    if (data === undefined) return false;
    const s = this.liveSlot(data, b, map, key, nowMs, onExpired);
    if (s < 0) return false;
    data.slots.writeValue(s, w);
    return true;
  }

  /** The slot of a live item, stamped as just used; -1 when there is none (an expired one is removed). */
  private liveSlot(data: BucketData, b: number, map: string, key: string, nowMs: number, onExpired: ExpiredHandler | null): number {
    const s = data.table(map)?.index.get(key) ?? -1;
    if (s < 0) return -1;
    const sl = data.slots;
    const exp = sl.expiresAt(s);
    if (exp !== 0 && exp <= nowMs) {
      this.removeFrom(data, map, key);
      onExpired?.(b, map, key);
      return -1;
    }
    sl.touch(s, this.nextTick());
    return s;
  }

  /**
   * Stores an item, stamped as just used; its value's bytes are copied into the bucket's arena. An
   * item written again keeps its place in its table's order (the order of first writes, which
   * eviction samples first; the stamps rank the sampled items): moving it to the end would put
   * the request's fresh key string in the table and leave the old one as old-generation garbage.
   */
  put(b: number, map: string, key: string, input: ItemInput): void {
    const data = this.hold(b);
    const before = data.bytes;
    let table: Table;
    if (map.length === 0) {
      table = data.items;
    } else {
      let m = data.maps.get(map);
      if (m === undefined) {
        m = new Table(data.slots);
        data.maps.set(map, m);
        data.indexBytes += m.index.bytes;
      }
      table = m;
    }
    const s = table.index.get(key);
    if (s < 0) {
      const indexBefore = table.index.bytes;
      table.index.add(key, data.slots.add(input.value, input.expiresAtMs, this.nextTick(), input.vEpoch, input.vSeq));
      data.indexBytes += table.index.bytes - indexBefore;
      data.itemCount++;
    } else {
      data.slots.set(s, input.value, input.expiresAtMs, this.nextTick(), input.vEpoch, input.vSeq);
    }
    this.approxBytes += data.bytes - before;
  }

  /** The next last-use stamp; before the 32-bit stamps would wrap, all are halved (order kept). */
  private nextTick(): number {
    if (this.tick >= TICK_MAX) {
      for (const d of this.buckets) d?.slots.halveTicks();
      this.tick = this.tick >>> 1;
    }
    return ++this.tick;
  }

  /**
   * The item eviction would take first in bucket b: of the first `scanMax` items of each table (the
   * earliest first written) and the first item of each of the first `scanMax` maps, the least
   * recently used one; with `volatileOnly` only items that expire, and `byTtl` the one expiring
   * soonest. Undefined when the bucket has none. Bounded: at most about 2 * scanMax items are seen.
   */
  evictionCandidate(b: number, scanMax: number, volatileOnly: boolean, byTtl: boolean): EvictionCandidate | undefined {
    const data = this.buckets[b];
    if (data === undefined || data.itemCount === 0) return undefined;
    const sl = data.slots;
    let best: EvictionCandidate | undefined;
    const consider = (map: string, key: string, s: number): void => {
      const exp = sl.expiresAt(s);
      const used = sl.usedTick(s);
      if (volatileOnly && exp === 0) return;
      const better = best === undefined || (byTtl ? exp < best.expiresAtMs : used < best.usedTick);
      if (better) best = { map, key, usedTick: used, expiresAtMs: exp };
    };
    let seen = 0;
    for (const [key, s] of data.items.index) {
      if (seen++ >= scanMax) break;
      consider('', key, s);
    }
    let maps = 0;
    for (const [map, t] of data.maps) {
      if (maps++ >= scanMax) break;
      let inMap = 0;
      for (const [key, s] of t.index) {
        consider(map, key, s);
        if (++inMap >= (volatileOnly ? scanMax : 1)) break;
      }
    }
    return best;
  }

  /** Removes an item; true if it was there (expired or not). */
  remove(b: number, map: string, key: string): boolean {
    const data = this.buckets[b];
    return data === undefined ? false : this.removeFrom(data, map, key);
  }

  private removeFrom(data: BucketData, map: string, key: string): boolean {
    const table = data.table(map);
    if (table === undefined) return false;
    const before = data.bytes;
    const indexBefore = table.index.bytes;
    const s = table.index.delete(key);
    if (s < 0) return false;
    data.indexBytes += table.index.bytes - indexBefore;
    data.slots.free(s);
    data.itemCount--;
    if (map.length > 0 && table.size === 0) {
      data.maps.delete(map);
      data.indexBytes -= table.index.bytes;
    }
    this.approxBytes += data.bytes - before;
    return true;
  }

  /** The live (unexpired) entries of a map; expired ones found on the way are removed and reported. */
  mapEntries(b: number, map: string, nowMs: number, onExpired: ExpiredHandler | null): [string, StoredItem][] {
    const data = this.buckets[b];
    const m = data?.maps.get(map);
    if (data === undefined || m === undefined) return [];
    const out: [string, StoredItem][] = [];
    const expired: string[] = [];
    for (const [key, it] of m) {
      if (isExpired(it, nowMs)) expired.push(key);
      else out.push([key, it]);
    }
    for (const key of expired) {
      this.removeFrom(data, map, key);
      onExpired?.(b, map, key);
    }
    return out;
  }

  removeMap(b: number, map: string): boolean {
    const data = this.buckets[b];
    const m = data?.maps.get(map);
    if (data === undefined || m === undefined) return false;
    for (const key of [...m.keys()]) this.removeFrom(data, map, key);
    return true;
  }

  /** Applies a replicated or logged update (backups, copies, save files), made by the write (vEpoch, vSeq) (versions.ts; 0 unknown). */
  apply(b: number, u: Update, vEpoch = 0, vSeq = 0): void {
    switch (u.op) {
      case UpdateOp.set:
        assert(u.value !== null, 'set update carries a value');
        this.put(b, u.map, u.key, { value: u.value, expiresAtMs: u.expiresAtMs, vEpoch, vSeq });
        return;
      case UpdateOp.delete:
      case UpdateOp.expired:
      case UpdateOp.evicted:
        this.remove(b, u.map, u.key);
        return;
      case UpdateOp.expire: {
        const it = this.read(b, u.map, u.key, 0, null);
        if (it !== undefined) this.put(b, u.map, u.key, { value: it.value, expiresAtMs: u.expiresAtMs, vEpoch, vSeq });
        return;
      }
      case UpdateOp.mapDelete:
        this.removeMap(b, u.map);
        return;
    }
  }

  /**
   * Removes up to itemsMax expired items, visiting buckets round robin from where the last sweep
   * stopped; only buckets for which `owned(b)` holds (the primary's) are swept.
   */
  sweep(nowMs: number, itemsMax: number, owned: (b: number) => boolean, onExpired: ExpiredHandler): number {
    let looked = 0;
    let removed = 0;
    const n = this.buckets.length;
    for (let step = 0; step < n && looked < itemsMax; step++) {
      const b = this.sweepBucket;
      this.sweepBucket = (this.sweepBucket + 1) % n;
      const data = this.buckets[b];
      if (data === undefined || !owned(b)) continue;
      const expired: [string, string][] = [];
      const visit = (map: string, t: Table): void => {
        for (const [key, s] of t.index) {
          if (looked >= itemsMax) return;
          looked++;
          const exp = data.slots.expiresAt(s);
          if (exp !== 0 && exp <= nowMs) expired.push([map, key]);
        }
      };
      visit('', data.items);
      for (const [map, t] of data.maps) visit(map, t);
      for (const [map, key] of expired) {
        if (this.removeFrom(data, map, key)) {
          removed++;
          onExpired(b, map, key);
        }
      }
    }
    return removed;
  }

  /** Splits every bucket onto a wider mask; items move to the bucket of their routing hash. */
  widen(newMask: number): void {
    assert(isValidMask(newMask) && newMask >= this.mask, 'widen needs a wider mask');
    if (newMask === this.mask) return;
    const old = this.buckets;
    this.buckets = new Array<BucketData | undefined>(newMask + 1).fill(undefined);
    const oldMask = this.mask;
    this.mask = newMask;
    for (let ob = 0; ob <= oldMask; ob++) {
      const data = old[ob];
      if (data === undefined) continue;
      this.approxBytes -= data.bytes;
      for (let nb = ob; nb <= newMask; nb += oldMask + 1) this.hold(nb).seq = data.seq;
      const sl = data.slots;
      const moveAll = (map: string, t: Table, nb: number | null): void => {
        for (const [key, s] of t.index) {
          const to = nb ?? (routeHash('', key) & newMask) >>> 0;
          this.put(to, map, key, { value: sl.value(s), expiresAtMs: sl.expiresAt(s), vEpoch: sl.vEpoch(s), vSeq: sl.vSeq(s) });
        }
      };
      moveAll('', data.items, null);
      for (const [map, t] of data.maps) moveAll(map, t, (routeHash(map, '') & newMask) >>> 0);
    }
  }
}
