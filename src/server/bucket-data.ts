// One bucket's data: its tables (plain items, and each map) from key to a slot of the bucket's
// ItemSlots (item-slots.ts), the item as handed out, and the memory model of an entry.
import type { Value } from '../protocol/values.js';
import type { Item } from '../protocol/messages/node.js';
import type { VersionStamp } from './versions.js';
import { ItemSlots, SLOT_BYTES } from './item-slots.js';

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
 * The memory model (memory-limit.ts uses it for --max-memory and `stats`): a bucket's arena chunks
 * and slot columns are counted as allocated (item-slots.ts: measured, not modelled), and each entry
 * adds ENTRY_OVERHEAD_BYTES plus its key string's characters rounded up to 8 bytes. The overhead is
 * the Map entry (3 words and half a bucket word per place of the table, which holds 1 to 2 places
 * per entry), the key string's 16-byte header, and the free room V8 keeps beside a heap of that
 * size. CALIBRATED with bench/mem-store.ts (fresh node, 3 s of 10k-key sets first, then RSS growth
 * while 1M items of 100 bytes with 10-byte keys were loaded: 251 B per item, of which arena and
 * columns 146 MiB and the entries' heap ~95 B each; bench/notes-S.md): 72 counted 234 B per item
 * (7% under RSS), 88 meets RSS there.
 */
export const ENTRY_OVERHEAD_BYTES = 88;
/** Memory of a map beyond its entries: its Table, Map and name (a rough constant: maps are few). */
export const MAP_OVERHEAD_BYTES = 256;

function valueSize(v: Value): number {
  return v.t === 1 ? 0 : v.t === 2 ? 8 : v.v.length;
}

/** The modelled bytes of an entry beyond its slot and value bytes. */
export function keyBytes(key: string): number {
  return ENTRY_OVERHEAD_BYTES + ((key.length + 7) & ~7);
}

/** The modelled memory one more item adds (what a write asks the memory limit for). */
export function itemCostBytes(key: string, value: Value): number {
  return keyBytes(key) + SLOT_BYTES + valueSize(value);
}

/** One table of a bucket (its plain items, or one map): key -> slot, in order of first write. */
export class Table implements Iterable<[string, StoredItem]> {
  readonly index = new Map<string, number>();
  constructor(private readonly slots: ItemSlots) {}

  get size(): number {
    return this.index.size;
  }

  /** The item of key, expired or not (read() is the lookup that expires). */
  get(key: string): StoredItem | undefined {
    const s = this.index.get(key);
    return s === undefined ? undefined : itemAt(this.slots, s);
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  keys(): IterableIterator<string> {
    return this.index.keys();
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
  /** The entries' modelled bytes beyond slots and arena (keyBytes of each key). */
  keyBytes = 0;

  /** The bucket's modelled memory (see ENTRY_OVERHEAD_BYTES). */
  get bytes(): number {
    return this.slots.bytes + this.keyBytes + this.maps.size * MAP_OVERHEAD_BYTES;
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
