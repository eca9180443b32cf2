// One bucket's items stored compactly: per-item metadata in one fixed-size record per slot number
// (all records in one buffer), and value bytes in append-only arenas (a few large Uint8Arrays), compacted when dead bytes pile up.
//
// BACKGROUND: an item kept as objects (item, value, Buffer, its 8 KiB pool share) costs ~420 B of
// RSS for a 100-byte value and is 4 heap objects the GC marks again on every major collection.
// BEHAVIOR: here an item is a slot number: its type, value place, expiry, last use and version
// live in its record (SLOT_BYTES), its value bytes in an arena chunk. value() hands string and
// binary values out as views of their chunk, and marks the slot VIEWED: bytes once handed out are
// never rewritten, so a view stays valid (e.g. queued in a socket) after the item is overwritten,
// removed or compacted: such an overwrite appends, and compaction copies live values into fresh
// chunks and drops the old ones (the GC frees a chunk once no view holds it). Bytes never handed
// out are rewritten in place by a value no longer than them: a key written again and again with
// values of one size, and not read in between, makes no dead bytes, no compaction and no garbage
// chunks for the GC. A value of OWN_CHUNK_BYTES or more gets a chunk of its own, freed when the
// value goes. An int takes no arena bytes (it sits in the offset field); a long is 8 arena bytes,
// decoded on the way out (never a view).
import { assert, fail } from '../shared/assert.js';
import { writeValue, type Value } from '../protocol/values.js';
import type { Writer } from '../protocol/codec.js';

/**
 * The first arena chunk of a bucket; later ones grow with the bucket (CHUNK_GROWTH_DIVISOR-th of
 * its arena bytes), so the current chunk's unused room averages half that share of the bucket.
 */
export const CHUNK_MIN_BYTES = 4096;
export const CHUNK_MAX_BYTES = 1 << 20;
/** 8 left 7-8% of a 10 KiB fill's arena unused, 16 about half as much (bench/notes-S.md). */
const CHUNK_GROWTH_DIVISOR = 16;
/** Values this long or longer get a chunk of their own. */
export const OWN_CHUNK_BYTES = 64 * 1024;
/** Compaction runs when dead bytes pass both this and half the live bytes. */
export const COMPACT_MIN_DEAD_BYTES = 64 * 1024;
/**
 * Bytes of a slot's record: tag 1 (type | VIEWED; 0 free), chunk 2, offset 4 (an int's value; a
 * free slot's next free slot), length 4, expiry 8 (f64 ms), last use 4, epoch 4, seq 8 (f64).
 * BACKGROUND: one record per item, not one column per field: a read touches one or two cache
 * lines of metadata instead of six (on 10k random keys it was a third of an mget's store time).
 */
export const SLOT_BYTES = 35;
const F_TAG = 0;
const F_CHUNK = 1;
const F_OFF = 3;
const F_LEN = 7;
const F_EXPIRES = 11;
const F_USED = 19;
const F_EPOCH = 23;
const F_SEQ = 27;
/** Last-use ticks are 32-bit: the store halves them all (halveTicks) before its tick passes this. */
export const TICK_MAX = 0xffffffff;
const SLOTS_MIN = 16;
/** Chunk field value of a value with no arena bytes (an int, an empty string). */
const NO_CHUNK = 0xffff;
const EMPTY = Buffer.alloc(0);
/** Bits of the tag field: the type tag, and whether the slot's bytes were handed out as a view. */
const TYPE_MASK = 0x7;
const VIEWED = 0x80;

export class ItemSlots {
  private capacity = 0;
  /** One record of SLOT_BYTES per slot, fields at the F_ offsets (see there). */
  private rec = new DataView(new ArrayBuffer(0));
  /** Slots ever handed out (the rest of the records is unused room). */
  private top = 0;
  private freeHead = -1;
  /** Slots in use. */
  count = 0;

  /** Plain Uint8Arrays: a reply copies from them with V8's builtins, not Buffer.copy (see Writer.strCopy). */
  private chunks: (Uint8Array | null)[] = [];
  private chunkLive: number[] = [];
  private freeChunks: number[] = [];
  private cur = -1;
  private curPos = 0;
  /** Sum of the chunks' sizes. */
  arenaBytes = 0;
  /** Bytes of live values in the chunks. */
  liveBytes = 0;
  /** Times this bucket's arena was compacted (tests and stats). */
  compactions = 0;

  /** Bytes held: arena chunks plus the records' room. */
  get bytes(): number {
    return this.arenaBytes + this.capacity * SLOT_BYTES;
  }

  /** A new slot holding the item. */
  add(value: Value, expiresAtMs: number, usedTick: number, vEpoch: number, vSeq: number): number {
    let s = this.freeHead;
    if (s >= 0) this.freeHead = this.offAt(s) === 0xffffffff ? -1 : this.offAt(s);
    else {
      if (this.top === this.capacity) this.grow();
      s = this.top++;
    }
    this.count++;
    this.setMeta(s, expiresAtMs, usedTick, vEpoch, vSeq);
    this.store(s, value);
    return s;
  }

  /** Frees slot s and its value's bytes. */
  free(s: number): void {
    this.check(s);
    this.release(s);
    this.setTag(s, 0);
    this.setOff(s, this.freeHead < 0 ? 0xffffffff : this.freeHead);
    this.freeHead = s;
    this.count--;
    this.maybeCompact();
  }

  typeOf(s: number): number {
    return this.tagOf(s) & TYPE_MASK;
  }
  expiresAt(s: number): number {
    return this.rec.getFloat64(s * SLOT_BYTES + F_EXPIRES, true);
  }
  usedTick(s: number): number {
    return this.rec.getUint32(s * SLOT_BYTES + F_USED, true);
  }
  touch(s: number, tick: number): void {
    this.rec.setUint32(s * SLOT_BYTES + F_USED, tick, true);
  }
  vEpoch(s: number): number {
    return this.rec.getUint32(s * SLOT_BYTES + F_EPOCH, true);
  }
  vSeq(s: number): number {
    return this.rec.getFloat64(s * SLOT_BYTES + F_SEQ, true);
  }

  // The record's other fields (little-endian, unaligned: DataView reads any offset).
  private tagOf(s: number): number {
    return this.rec.getUint8(s * SLOT_BYTES + F_TAG);
  }
  private setTag(s: number, tag: number): void {
    this.rec.setUint8(s * SLOT_BYTES + F_TAG, tag);
  }
  private chunkAt(s: number): number {
    return this.rec.getUint16(s * SLOT_BYTES + F_CHUNK, true);
  }
  private setChunk(s: number, c: number): void {
    this.rec.setUint16(s * SLOT_BYTES + F_CHUNK, c, true);
  }
  private offAt(s: number): number {
    return this.rec.getUint32(s * SLOT_BYTES + F_OFF, true);
  }
  private setOff(s: number, at: number): void {
    this.rec.setUint32(s * SLOT_BYTES + F_OFF, at, true);
  }
  private intAt(s: number): number {
    return this.rec.getInt32(s * SLOT_BYTES + F_OFF, true);
  }
  private setInt(s: number, v: number): void {
    this.rec.setInt32(s * SLOT_BYTES + F_OFF, v, true);
  }
  private lenAt(s: number): number {
    return this.rec.getUint32(s * SLOT_BYTES + F_LEN, true);
  }
  private setLen(s: number, n: number): void {
    this.rec.setUint32(s * SLOT_BYTES + F_LEN, n, true);
  }
  private setMeta(s: number, expiresAtMs: number, usedTick: number, vEpoch: number, vSeq: number): void {
    const at = s * SLOT_BYTES;
    this.rec.setFloat64(at + F_EXPIRES, expiresAtMs, true);
    this.rec.setUint32(at + F_USED, usedTick, true);
    this.rec.setUint32(at + F_EPOCH, vEpoch, true);
    this.rec.setFloat64(at + F_SEQ, vSeq, true);
  }

  /** Length of the value's bytes (4 for an int). */
  valueBytes(s: number): number {
    return (this.tagOf(s) & TYPE_MASK) === 1 ? 4 : this.lenAt(s);
  }

  /** The value: string and binary bytes are a view of the arena, never rewritten from now on (see above). */
  value(s: number): Value {
    this.check(s);
    const t = this.tagOf(s) & TYPE_MASK;
    if (t === 1) return { t: 1, v: this.intAt(s) };
    const n = this.lenAt(s);
    if (n === 0) return { t: t as 3 | 4, v: EMPTY };
    const chunk = this.chunks[this.chunkAt(s)]!;
    const at = this.offAt(s);
    if (t === 2) return { t: 2, v: longView(chunk, at).getBigInt64(0) };
    this.setTag(s, t | VIEWED);
    return { t: t as 3 | 4, v: Buffer.from(chunk.buffer, chunk.byteOffset + at, n) };
  }

  /**
   * Writes the value in its wire form (values.ts writeValue) into w. A string or binary value
   * shorter than w.refMinBytes is copied straight from the arena, with no view or object made;
   * a longer one goes out as a view (value()).
   */
  writeValue(s: number, w: Writer): void {
    this.check(s);
    const t = this.tagOf(s) & TYPE_MASK;
    const n = this.lenAt(s);
    if ((t === 3 || t === 4) && n < w.refMinBytes) {
      w.i32(t);
      if (n === 0) w.i32(0);
      else w.strCopy(this.chunks[this.chunkAt(s)]!, this.offAt(s), n);
      return;
    }
    writeValue(w, this.value(s));
  }

  private check(s: number): void {
    // The message is built only on failure: this runs for every read (a template here cost each
    // key of an mget a number-to-string and a concatenation).
    if (!(s >= 0 && s < this.top && this.tagOf(s) !== 0)) fail(`slot ${s} is not in use`);
  }

  private grow(): void {
    // Growth by a quarter: the unused room averages an eighth of the records (a bucket's records
    // are a few hundred KiB at most, so the copies stay cheap).
    const cap = Math.max(SLOTS_MIN, Math.ceil(this.capacity * 1.25));
    const next = new ArrayBuffer(cap * SLOT_BYTES);
    new Uint8Array(next).set(new Uint8Array(this.rec.buffer));
    this.rec = new DataView(next);
    this.capacity = cap;
  }

  /** Writes value's type and place into slot s (its bytes into the arena). */
  private store(s: number, value: Value): void {
    this.setTag(s, value.t);
    if (value.t === 1) {
      this.setInt(s, value.v);
      this.setChunk(s, NO_CHUNK);
      this.setLen(s, 0);
      return;
    }
    const n = value.t === 2 ? 8 : value.v.length;
    this.setLen(s, n);
    if (n === 0) {
      this.setChunk(s, NO_CHUNK);
      this.setOff(s, 0);
      return;
    }
    const c = this.reserve(n);
    const chunk = this.chunks[c]!;
    const at = c === this.cur ? this.curPos : 0;
    if (value.t === 2) longView(chunk, at).setBigInt64(0, value.v);
    else chunk.set(value.v, at);
    if (c === this.cur) this.curPos += n;
    this.setChunk(s, c);
    this.setOff(s, at);
    this.chunkLive[c]! += n;
    this.liveBytes += n;
  }

  /** The chunk n bytes go to: the current one if they fit, a new current one, or one of their own. */
  private reserve(n: number): number {
    if (n >= OWN_CHUNK_BYTES) return this.newChunk(n);
    if (this.cur >= 0 && this.curPos + n <= this.chunks[this.cur]!.length) return this.cur;
    const size = Math.min(CHUNK_MAX_BYTES, Math.max(CHUNK_MIN_BYTES, n, roundUp(this.arenaBytes / CHUNK_GROWTH_DIVISOR, CHUNK_MIN_BYTES)));
    const c = this.newChunk(size);
    const old = this.cur;
    this.cur = c;
    this.curPos = 0;
    if (old >= 0 && this.chunkLive[old] === 0) this.dropChunk(old);
    return c;
  }

  private newChunk(size: number): number {
    const c = this.freeChunks.length > 0 ? this.freeChunks.pop()! : this.chunks.length;
    assert(c < NO_CHUNK, 'too many arena chunks in one bucket');
    this.chunks[c] = new Uint8Array(size);
    this.chunkLive[c] = 0;
    this.arenaBytes += size;
    return c;
  }

  private dropChunk(c: number): void {
    this.arenaBytes -= this.chunks[c]!.length;
    this.chunks[c] = null;
    this.chunkLive[c] = 0;
    this.freeChunks.push(c);
  }

  /** Forgets slot s's bytes (they become dead; a chunk left with none is dropped at once). */
  private release(s: number): void {
    const n = this.lenAt(s);
    const c = this.chunkAt(s);
    if ((this.tagOf(s) & TYPE_MASK) === 1 || n === 0 || c === NO_CHUNK) return;
    this.chunkLive[c]! -= n;
    this.liveBytes -= n;
    if (this.chunkLive[c] === 0 && c !== this.cur) this.dropChunk(c);
  }

  /**
   * Overwrites slot s with a new value and metadata: in place when the old bytes were never handed
   * out as a view and the new ones fit in them (the rest of them becomes dead), else appended (the
   * old bytes become dead, and stay as they are for the views of them).
   */
  set(s: number, value: Value, expiresAtMs: number, usedTick: number, vEpoch: number, vSeq: number): void {
    this.check(s);
    this.setMeta(s, expiresAtMs, usedTick, vEpoch, vSeq);
    const t = this.tagOf(s);
    const had = this.lenAt(s);
    const n = value.t === 1 ? 0 : value.t === 2 ? 8 : value.v.length;
    if (t !== 1 && (t & VIEWED) === 0 && value.t !== 1 && n > 0 && n <= had) {
      const c = this.chunkAt(s);
      const chunk = this.chunks[c]!;
      if (value.t === 2) longView(chunk, this.offAt(s)).setBigInt64(0, value.v);
      else chunk.set(value.v, this.offAt(s));
      this.setTag(s, value.t);
      this.setLen(s, n);
      this.chunkLive[c]! -= had - n;
      this.liveBytes -= had - n;
      if (n === had) return;
    } else {
      this.release(s);
      this.store(s, value);
    }
    this.maybeCompact();
  }

  /** Dead bytes: in chunks, neither live nor the current chunk's unused room. */
  get deadBytes(): number {
    const room = this.cur >= 0 ? this.chunks[this.cur]!.length - this.curPos : 0;
    return this.arenaBytes - this.liveBytes - room;
  }

  private maybeCompact(): void {
    const dead = this.deadBytes;
    if (dead > COMPACT_MIN_DEAD_BYTES && dead > this.liveBytes / 2) this.compact();
  }

  /**
   * Copies every live value below OWN_CHUNK_BYTES into one fresh chunk (or a few, past
   * CHUNK_MAX_BYTES) and drops the old chunks; values with a chunk of their own keep it. Bounded
   * by the bucket's live bytes, and runs only after at least half as many dead bytes were made.
   */
  compact(): void {
    let small = 0;
    for (let s = 0; s < this.top; s++) if ((this.tagOf(s) & TYPE_MASK) > 1 && this.lenAt(s) < OWN_CHUNK_BYTES) small += this.lenAt(s);
    const old = this.chunks;
    this.chunks = [];
    this.chunkLive = [];
    this.freeChunks = [];
    this.arenaBytes = 0;
    this.liveBytes = 0;
    this.cur = -1;
    this.curPos = 0;
    if (small > 0) {
      this.cur = this.newChunk(Math.min(CHUNK_MAX_BYTES, Math.max(CHUNK_MIN_BYTES, roundUp(small + (small >>> 4), 256))));
    }
    const moved = new Map<number, number>();
    for (let s = 0; s < this.top; s++) {
      const n = this.lenAt(s);
      if ((this.tagOf(s) & TYPE_MASK) <= 1 || n === 0) continue;
      const from = old[this.chunkAt(s)]!;
      if (n >= OWN_CHUNK_BYTES) {
        let c = moved.get(this.chunkAt(s));
        if (c === undefined) {
          c = this.chunks.length;
          this.chunks.push(from);
          this.chunkLive.push(0);
          this.arenaBytes += from.length;
          moved.set(this.chunkAt(s), c);
        }
        this.setChunk(s, c);
        this.chunkLive[c]! += n;
        this.liveBytes += n;
        continue;
      }
      const at = this.offAt(s);
      const c = this.reserve(n);
      const pos = this.curPos;
      this.setTag(s, this.tagOf(s) & TYPE_MASK); // its new bytes were never handed out
      this.chunks[c]!.set(from.subarray(at, at + n), pos);
      this.curPos += n;
      this.setChunk(s, c);
      this.setOff(s, pos);
      this.chunkLive[c]! += n;
      this.liveBytes += n;
    }
    this.compactions++;
  }

  /** Halves every last-use tick (the store's tick is about to pass TICK_MAX): their order stays. */
  halveTicks(): void {
    for (let s = 0; s < this.top; s++) this.touch(s, this.usedTick(s) >>> 1);
  }

  /** Every slot in use, in slot order (tests). */
  *slots(): Generator<number> {
    for (let s = 0; s < this.top; s++) if (this.tagOf(s) !== 0) yield s;
  }
}

function roundUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit;
}

/** The 8 bytes of a long value (big-endian, as the wire has it). */
function longView(chunk: Uint8Array, at: number): DataView {
  return new DataView(chunk.buffer, chunk.byteOffset + at, 8);
}
