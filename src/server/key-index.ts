// One table's keys (a bucket's plain items, or one map's entries): key -> slot number, in order of
// first insertion, iterated live as a Map is, with no heap object per key.
//
// BACKGROUND: a Map<string, number> cost ~95 B of RSS per key (its entry, its share of the hash
// table, the key string and V8's free room beside them), and every key was one more object for each
// major GC to mark. A lookup touched the table, the entry and the stored key string, each a cache
// miss on a large store.
// BEHAVIOR: entries are records in an Int32Array (hash, slot, key offset, key length), appended in
// insertion order, with an order number each (Float64Array); key bytes (latin1, the node's key
// form) sit in one key arena Buffer; an open-addressing table (linear probing, a power of two, at
// most LOAD_MAX full) holds entry index + 1 per place. A deleted entry stays as a tombstone (slot
// -1) until the next rebuild, which runs when the entries are full or under a quarter live: it
// drops the dead entries and their key bytes and sizes everything for the live ones. Iteration visits entries in order and
// survives a rebuild: it finds its place again by order number (orders only grow).
import { assert } from '../shared/assert.js';
import { fnv1aLatin1 } from '../shared/fnv.js';

const E_HASH = 0;
const E_SLOT = 1;
const E_KEY_OFF = 2;
const E_KEY_LEN = 3;
const ENTRY_INTS = 4;
/** Bytes of one entry: its record and its order number. */
export const ENTRY_BYTES = ENTRY_INTS * 4 + 8;
const ENTRIES_MIN = 4;
/** The table is at most this full (live and dead entries), so a probe ends at an empty place soon. */
const LOAD_MAX = 0.7;
/** Multiplier spreading the key hash over the table (Fibonacci hashing: a bucket's keys share their low hash bits). */
const SPREAD = 0x9e3779b1;

export class KeyIndex {
  private ent = new Int32Array(ENTRIES_MIN * ENTRY_INTS);
  private order = new Float64Array(ENTRIES_MIN);
  /** Entries used, live and dead, in order. */
  private top = 0;
  private live = 0;
  private nextOrder = 0;
  private table = new Int32Array(8);
  /** 32 - log2(table.length): a spread hash's top bits are its place. */
  private shift = 29;
  private keys: Buffer = Buffer.allocUnsafeSlow(64);
  private keysUsed = 0;
  /** Bumps when a rebuild moves entries (iterators then find their place again). */
  private generation = 0;

  get size(): number {
    return this.live;
  }

  /** Bytes held: records, order numbers, table and key arena. */
  get bytes(): number {
    return this.ent.byteLength + this.order.byteLength + this.table.byteLength + this.keys.length;
  }

  /** key's slot, or -1. */
  get(key: string): number {
    const e = this.find(key, fnv1aLatin1(key) | 0);
    return e < 0 ? -1 : this.ent[e * ENTRY_INTS + E_SLOT]!;
  }

  has(key: string): boolean {
    return this.find(key, fnv1aLatin1(key) | 0) >= 0;
  }

  /** Adds key (which must be absent) with its slot, after every other entry. */
  add(key: string, slot: number): void {
    assert(slot >= 0, 'a slot number is not negative');
    const h = fnv1aLatin1(key) | 0;
    if (this.top * ENTRY_INTS === this.ent.length) this.rebuild(this.live + 1);
    // The walk to the key's empty place passes every live entry that could be the same key.
    const t = this.table;
    const mask = t.length - 1;
    let p = Math.imul(h, SPREAD) >>> this.shift;
    for (let v = t[p]!; v !== 0; p = (p + 1) & mask, v = t[p]!) {
      const at = (v - 1) * ENTRY_INTS;
      assert(this.ent[at + E_HASH] !== h || this.ent[at + E_SLOT]! < 0 || !this.keyIs(at, key), 'key is already in the index');
    }
    const n = key.length;
    if (this.keysUsed + n > this.keys.length) this.growKeys(n);
    const kb = this.keys;
    const off = this.keysUsed;
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      assert(c <= 0xff, 'a key is a latin1 string');
      kb[off + i] = c;
    }
    this.keysUsed += n;
    const e = this.top++;
    const at = e * ENTRY_INTS;
    this.ent[at + E_HASH] = h;
    this.ent[at + E_SLOT] = slot;
    this.ent[at + E_KEY_OFF] = off;
    this.ent[at + E_KEY_LEN] = n;
    this.order[e] = this.nextOrder++;
    t[p] = e + 1;
    this.live++;
  }

  /** Removes key; its slot, or -1 when it was not there. */
  delete(key: string): number {
    const e = this.find(key, fnv1aLatin1(key) | 0);
    if (e < 0) return -1;
    const at = e * ENTRY_INTS + E_SLOT;
    const slot = this.ent[at]!;
    this.ent[at] = -1;
    this.live--;
    if (this.live * 4 < this.order.length && this.order.length > ENTRIES_MIN * 4) this.rebuild(this.live);
    return slot;
  }

  /** Every [key, slot], in insertion order, live: entries added meanwhile are visited too. */
  *entries(): Generator<[string, number]> {
    let gen = this.generation;
    let lastOrder = -1;
    for (let e = 0; ; e++) {
      if (gen !== this.generation) {
        gen = this.generation;
        e = this.firstAfter(lastOrder);
      }
      if (e >= this.top) return;
      const at = e * ENTRY_INTS;
      const slot = this.ent[at + E_SLOT]!;
      if (slot < 0) continue;
      lastOrder = this.order[e]!;
      const off = this.ent[at + E_KEY_OFF]!;
      yield [this.keys.toString('latin1', off, off + this.ent[at + E_KEY_LEN]!), slot];
    }
  }

  *keyList(): Generator<string> {
    for (const [key] of this.entries()) yield key;
  }

  [Symbol.iterator](): Generator<[string, number]> {
    return this.entries();
  }

  /** The entry of key, or -1. */
  private find(key: string, h: number): number {
    const t = this.table;
    const mask = t.length - 1;
    const ent = this.ent;
    for (let p = Math.imul(h, SPREAD) >>> this.shift; ; p = (p + 1) & mask) {
      const v = t[p]!;
      if (v === 0) return -1;
      const at = (v - 1) * ENTRY_INTS;
      if (ent[at + E_HASH] === h && ent[at + E_SLOT]! >= 0 && this.keyIs(at, key)) return v - 1;
    }
  }

  private keyIs(at: number, key: string): boolean {
    const n = this.ent[at + E_KEY_LEN]!;
    if (n !== key.length) return false;
    const kb = this.keys;
    const off = this.ent[at + E_KEY_OFF]!;
    for (let i = 0; i < n; i++) if (kb[off + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** Puts entry e in the first empty place of its probe sequence. */
  private place(h: number, e: number): void {
    const t = this.table;
    const mask = t.length - 1;
    let p = Math.imul(h, SPREAD) >>> this.shift;
    while (t[p] !== 0) p = (p + 1) & mask;
    t[p] = e + 1;
  }

  /** The first entry whose order number is above o (binary search: orders grow with the entry index). */
  private firstAfter(o: number): number {
    let lo = 0;
    let hi = this.top;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order[mid]! > o) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private growKeys(n: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(64, (this.keysUsed + n) * 2));
    this.keys.copy(next, 0, 0, this.keysUsed);
    this.keys = next;
  }

  /**
   * Drops the dead entries and their key bytes, and sizes records, table and key arena for `need`
   * entries with room to grow by half. Bounded by the entries held; runs after at least a third as
   * many adds or deletes as it handles entries, so its cost per add or delete is constant.
   */
  private rebuild(need: number): void {
    const cap = Math.max(ENTRIES_MIN, Math.ceil(need * 1.5));
    const ent = new Int32Array(cap * ENTRY_INTS);
    const order = new Float64Array(cap);
    let keyBytes = 0;
    for (let e = 0; e < this.top; e++) if (this.ent[e * ENTRY_INTS + E_SLOT]! >= 0) keyBytes += this.ent[e * ENTRY_INTS + E_KEY_LEN]!;
    const keys = Buffer.allocUnsafeSlow(Math.max(64, Math.ceil(keyBytes * 1.5)));
    let size = 8;
    while (size * LOAD_MAX < cap) size *= 2;
    this.table = new Int32Array(size);
    this.shift = 32 - Math.log2(size);
    let n = 0;
    let used = 0;
    for (let e = 0; e < this.top; e++) {
      const from = e * ENTRY_INTS;
      if (this.ent[from + E_SLOT]! < 0) continue;
      const to = n * ENTRY_INTS;
      const len = this.ent[from + E_KEY_LEN]!;
      const off = this.ent[from + E_KEY_OFF]!;
      this.keys.copy(keys, used, off, off + len);
      ent[to + E_HASH] = this.ent[from + E_HASH]!;
      ent[to + E_SLOT] = this.ent[from + E_SLOT]!;
      ent[to + E_KEY_OFF] = used;
      ent[to + E_KEY_LEN] = len;
      order[n] = this.order[e]!;
      used += len;
      n++;
    }
    assert(n === this.live, 'the live count matches the live entries');
    if (n !== this.top) this.generation++;
    this.ent = ent;
    this.order = order;
    this.keys = keys;
    this.keysUsed = used;
    this.top = n;
    for (let e = 0; e < n; e++) this.place(ent[e * ENTRY_INTS + E_HASH]!, e);
  }
}
