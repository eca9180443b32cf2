// The node's data: per bucket, plain items and maps of items, keyed by full names (latin1 strings),
// with lazy expiry on read, a bounded periodic sweep, and an approximate memory count.
import { assert } from '../shared/assert.js';
import { itemRouteHashLatin1 } from '../shared/fnv.js';
import { isValidMask } from '../shared/buckets.js';
import type { Value } from '../protocol/values.js';
import { UpdateOp, type Item, type Update } from '../protocol/messages/node.js';
import type { VersionStamp } from './versions.js';

/** An item; vEpoch and vSeq are its version (versions.ts), both 0 when unknown (a save file's items). */
export interface StoredItem extends VersionStamp {
  value: Value;
  /** Absolute expiry in ms since 1970; 0 = never. */
  expiresAtMs: number;
  /** When the item was last written or read, in store ticks (the sampled LRU of memory-limit.ts). */
  usedTick: number;
}

/** What a caller gives put(): the store stamps the item itself. */
export type ItemInput = Omit<StoredItem, 'usedTick'>;

/**
 * The process memory one item costs, as a model calibrated against RSS (memory-limit.ts says how
 * it was measured): a fixed part per item (the item and value objects, the Buffer object and its
 * share of an 8 KiB pool slab, the Map entry, the key string's header, and the heap's free room
 * that V8 keeps beside live objects), plus the key and value bytes with the heap's room for them.
 */
export const ITEM_OVERHEAD_BYTES = 600;
/** Per byte of key and value (the bytes themselves plus the room V8 and malloc keep beside them). */
export const ITEM_BYTE_FACTOR = 2.2;

function valueSize(v: Value): number {
  return v.t === 1 ? 4 : v.t === 2 ? 8 : v.v.length;
}

/** The modelled memory of one item (see ITEM_OVERHEAD_BYTES). */
export function itemCostBytes(key: string, value: Value): number {
  return ITEM_OVERHEAD_BYTES + Math.ceil((key.length + valueSize(value)) * ITEM_BYTE_FACTOR);
}

function itemSize(key: string, it: ItemInput): number {
  return itemCostBytes(key, it.value);
}

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

/** One bucket's data on this node. */
export class BucketData {
  readonly items = new Map<string, StoredItem>();
  readonly maps = new Map<string, Map<string, StoredItem>>();
  /** Sequence number of the last update applied to this bucket (continues across owners). */
  seq = 0;
  itemCount = 0;

  /** Every item of the bucket, maps included, visited live (items added meanwhile are visited too). */
  *entries(): Generator<Item> {
    for (const [key, it] of this.items) yield { map: '', key, expiresAtMs: it.expiresAtMs, value: it.value, vEpoch: it.vEpoch, vSeq: it.vSeq };
    for (const [map, entries] of this.maps) {
      for (const [key, it] of entries) yield { map, key, expiresAtMs: it.expiresAtMs, value: it.value, vEpoch: it.vEpoch, vSeq: it.vSeq };
    }
  }
}

export type ExpiredHandler = (bucket: number, map: string, key: string) => void;

export class Store {
  private buckets: (BucketData | undefined)[];
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
    this.approxBytes -= bucketBytes(data);
    this.buckets[b] = undefined;
    return data;
  }

  /** Puts a detached bucket back as bucket b, replacing what was held there. */
  attach(b: number, data: BucketData): void {
    assert(b >= 0 && b <= this.mask, `bucket ${b} is outside mask ${this.mask}`);
    this.detach(b);
    this.buckets[b] = data;
    this.approxBytes += bucketBytes(data);
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
    const table = map.length === 0 ? data.items : data.maps.get(map);
    const it = table?.get(key);
    if (it === undefined) return undefined;
    if (isExpired(it, nowMs)) {
      this.removeFrom(data, map, key);
      onExpired?.(b, map, key);
      return undefined;
    }
    it.usedTick = ++this.tick;
    return it;
  }

  /**
   * Stores an item, stamped as just used. An item written again moves to the end of its table's
   * order, so each table runs from the least recently written item (what eviction samples first).
   */
  put(b: number, map: string, key: string, input: ItemInput): void {
    const data = this.hold(b);
    let table: Map<string, StoredItem>;
    if (map.length === 0) {
      table = data.items;
    } else {
      let m = data.maps.get(map);
      if (m === undefined) {
        m = new Map();
        data.maps.set(map, m);
      }
      table = m;
    }
    const old = table.get(key);
    if (old === undefined) data.itemCount++;
    else {
      this.approxBytes -= itemSize(key, old);
      table.delete(key);
    }
    const it: StoredItem = { ...input, usedTick: ++this.tick };
    table.set(key, it);
    this.approxBytes += itemSize(key, it);
  }

  /**
   * The item eviction would take first in bucket b: of the first `scanMax` items of each table (the
   * least recently written) and the first item of each of the first `scanMax` maps, the least
   * recently used one; with `volatileOnly` only items that expire, and `byTtl` the one expiring
   * soonest. Undefined when the bucket has none. Bounded: at most about 2 * scanMax items are seen.
   */
  evictionCandidate(b: number, scanMax: number, volatileOnly: boolean, byTtl: boolean): EvictionCandidate | undefined {
    const data = this.buckets[b];
    if (data === undefined || data.itemCount === 0) return undefined;
    let best: EvictionCandidate | undefined;
    const consider = (map: string, key: string, it: StoredItem): void => {
      if (volatileOnly && it.expiresAtMs === 0) return;
      const better = best === undefined || (byTtl ? it.expiresAtMs < best.expiresAtMs : it.usedTick < best.usedTick);
      if (better) best = { map, key, usedTick: it.usedTick, expiresAtMs: it.expiresAtMs };
    };
    let seen = 0;
    for (const [key, it] of data.items) {
      if (seen++ >= scanMax) break;
      consider('', key, it);
    }
    let maps = 0;
    for (const [map, entries] of data.maps) {
      if (maps++ >= scanMax) break;
      let inMap = 0;
      for (const [key, it] of entries) {
        consider(map, key, it);
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
    const table = map.length === 0 ? data.items : data.maps.get(map);
    const old = table?.get(key);
    if (table === undefined || old === undefined) return false;
    table.delete(key);
    data.itemCount--;
    this.approxBytes -= itemSize(key, old);
    if (map.length > 0 && table.size === 0) data.maps.delete(map);
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
    for (const [key, it] of m) {
      this.approxBytes -= itemSize(key, it);
      data.itemCount--;
    }
    data.maps.delete(map);
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
      for (const it of data.entries()) {
        looked++;
        if (it.expiresAtMs !== 0 && it.expiresAtMs <= nowMs) expired.push([it.map, it.key]);
        if (looked >= itemsMax) break;
      }
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
      for (let nb = ob; nb <= newMask; nb += oldMask + 1) this.hold(nb).seq = data.seq;
      for (const [key, it] of data.items) this.moveIn(routeHash('', key) & newMask, '', key, it);
      for (const [map, entries] of data.maps) {
        const nb = routeHash(map, '') & newMask;
        for (const [key, it] of entries) this.moveIn(nb, map, key, it);
      }
    }
  }

  private moveIn(b: number, map: string, key: string, it: StoredItem): void {
    this.approxBytes -= itemSize(key, it);
    this.put(b >>> 0, map, key, it);
  }
}

function bucketBytes(data: BucketData): number {
  let n = 0;
  for (const [key, it] of data.items) n += itemSize(key, it);
  for (const entries of data.maps.values()) for (const [key, it] of entries) n += itemSize(key, it);
  return n;
}
