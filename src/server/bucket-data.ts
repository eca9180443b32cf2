// One bucket's data: its tables (plain items, and each map) from key to a slot of the bucket's
// ItemSlots (item-slots.ts), the item as handed out, and the memory model of an entry.
import type { Value } from '../protocol/values.js';
import type { Item } from '../protocol/messages/node.js';
import type { VersionStamp } from './versions.js';
import { ItemSlots, SLOT_BYTES } from './item-slots.js';
import { ENTRY_BYTES, KeyIndex } from './key-index.js';

/**
 * An item as read() hands it out: a fresh object each time (the store keeps slots, not objects);
 * vEpoch and vSeq are its version (versions.ts), both 0 when unknown (a save file's items). A
 * string's bytes are a view of the store's arena, valid for as long as it is held (item-slots.ts);
 * the holder must not write into them.
 */
export interface StoredItem extends VersionStamp {
  value: Value;
  /** Absolute expiry in ms since 1970; 0 = never. */
  expiresAtMs: number;
  /** When the item was last written or read, in store ticks (the sampled LRU of memory-limit.ts); a copy. */
  usedTick: number;
}

/** What a caller gives put(): the store stamps the item itself. */
export type ItemInput = Omit<StoredItem, 'usedTick'>;

/**
 * The memory model (memory-limit.ts uses it for --max-memory and `stats`): a bucket's arena chunks,
 * slot records and key indexes are counted as allocated (item-slots.ts, key-index.ts: measured,
 * not modelled), each item adds ALLOCATOR_SLACK_BYTES, and each map MAP_OVERHEAD_BYTES. What one
 * more item will cost (itemCostBytes, asked before a write) is modelled: its slot, value bytes,
 * key bytes and index entry, with the room the arrays keep to grow (ENTRY_MODEL_BYTES).
 */
/** An index entry's record and order number, its share of the table and the arrays' room to grow, about. */
export const ENTRY_MODEL_BYTES = Math.ceil(ENTRY_BYTES * 1.25) + 8;
/**
 * RSS an item costs beyond the arrays that hold it: the allocator's free room left by the records
 * and indexes as they grew (each growth frees the smaller copy, which malloc keeps for reuse).
 * CALIBRATED with `npm run bench:compare -- --cases mem-100b-1m` (1M items of 100 B, 10-byte
 * keys): the arrays counted 197 B per item where RSS grew 242 B.
 */
export const ALLOCATOR_SLACK_BYTES = 40;
/** Memory of a map beyond its entries: its Table, Map and name (a rough constant: maps are few). */
export const MAP_OVERHEAD_BYTES = 256;

function valueSize(v: Value): number {
  return v.t === 1 ? 0 : v.t === 2 ? 8 : v.v.length;
}

/** The modelled memory one more item adds (what a write asks the memory limit for). */
export function itemCostBytes(key: string, value: Value): number {
  return ENTRY_MODEL_BYTES + ALLOCATOR_SLACK_BYTES + key.length + SLOT_BYTES + valueSize(value);
}

/** One table of a bucket (its plain items, or one map): key -> slot, in order of first write. */
export class Table implements Iterable<[string, StoredItem]> {
  readonly index = new KeyIndex();
  constructor(private readonly slots: ItemSlots) {}

  get size(): number {
    return this.index.size;
  }

  /** The item of key, expired or not (read() is the lookup that expires). */
  get(key: string): StoredItem | undefined {
    const s = this.index.get(key);
    return s < 0 ? undefined : itemAt(this.slots, s);
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  keys(): IterableIterator<string> {
    return this.index.keyList();
  }

  *[Symbol.iterator](): Generator<[string, StoredItem]> {
    for (const [key, s] of this.index) yield [key, itemAt(this.slots, s)];
  }
}

function itemAt(slots: ItemSlots, s: number): StoredItem {
  return { value: slots.value(s), expiresAtMs: slots.expiresAt(s), usedTick: slots.usedTick(s), vEpoch: slots.vEpoch(s), vSeq: slots.vSeq(s) };
}

/** One bucket's data on this node. */
export class BucketData {
  readonly slots = new ItemSlots();
  readonly items = new Table(this.slots);
  readonly maps = new Map<string, Table>();
  /** Sequence number of the last update applied to this bucket (continues across owners). */
  seq = 0;
  itemCount = 0;
  /** Bytes of every table's key index (kept by the store as it adds and deletes keys). */
  indexBytes = this.items.index.bytes;

  /** The bucket's memory (see MAP_OVERHEAD_BYTES). */
  get bytes(): number {
    return this.slots.bytes + this.indexBytes + this.itemCount * ALLOCATOR_SLACK_BYTES + this.maps.size * MAP_OVERHEAD_BYTES;
  }

  /** Every item of the bucket, maps included, visited live (items added meanwhile are visited too). */
  *entries(): Generator<Item> {
    const sl = this.slots;
    for (const [key, s] of this.items.index) yield { map: '', key, expiresAtMs: sl.expiresAt(s), value: sl.value(s), vEpoch: sl.vEpoch(s), vSeq: sl.vSeq(s) };
    for (const [map, t] of this.maps) {
      for (const [key, s] of t.index) yield { map, key, expiresAtMs: sl.expiresAt(s), value: sl.value(s), vEpoch: sl.vEpoch(s), vSeq: sl.vSeq(s) };
    }
  }

  table(map: string): Table | undefined {
    return map.length === 0 ? this.items : this.maps.get(map);
  }
}
