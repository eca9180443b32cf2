// Primitive codecs: a growable frame Writer here, and the bounds-checked payload Reader
// (reader.ts, re-exported). Strings are byte strings: the node keeps them as latin1 JS strings
// (one char per byte), the client encodes its text as UTF-8. Both are the same bytes on the wire.
import { HEADER_BYTES } from '../shared/limits.js';
import { assert } from '../shared/assert.js';
import { put32 } from '../shared/bytes.js';
import type { TextForm } from './reader.js';

export { DecodeError, Reader, type TextForm } from './reader.js';

const INITIAL_WRITER_BYTES = 16 * 1024;
const TAKE_MIN_BYTES = 512;
/** strUtf8 copies ASCII strings up to this long itself (measured: faster than Buffer.write below ~64). */
const ASCII_LOOP_CHARS_MAX = 48;
const TAKE_MAX_BYTES = 1024 * 1024;
/**
 * %TypedArray%.prototype's set and subarray, called as functions. BACKGROUND: in the node's
 * optimized mget path, `buf.set` and `src.subarray` stayed generic property loads (LoadIC, in
 * --print-opt-code of writeValueOf), two per key of the reply.
 */
const typedArraySet = Uint8Array.prototype.set;
const typedArraySubarray = Uint8Array.prototype.subarray;

/**
 * Writes frames back to back into one growing buffer. A frame is opened with begin(), its
 * payload written with the typed writers, and closed with end(), which patches the length.
 * take() hands out everything written so far and starts afresh.
 *
 * Shared bytes: strShared() writes a large byte string (at least refMinBytes; a Connection's
 * writer sets that, every other writer copies) as a reference to the caller's buffer instead of
 * copying it: the batch becomes a list of chunks (takeChunks(), written with one writev), so a
 * stored value leaves in a reply without a copy. The caller promises those bytes do not change
 * until the batch is written.
 */
export class Writer {
  buf: Buffer;
  pos = 0;
  /** strShared() references byte strings of at least this many bytes (Infinity: always copies). */
  refMinBytes = Infinity;
  private frameStart = -1;
  /** Chunks sealed before buf[segStart..pos): slices of earlier buffers, and shared byte strings. */
  private sealed: Buffer[] = [];
  private sealedBytes = 0;
  private segStart = 0;
  /** The buffer holding the open frame's header (buf, unless shared bytes sealed it off since). */
  private frameBuf: Buffer | null = null;
  /** The writer's state at begin(), to take back an abandoned frame that sealed chunks. */
  private beginSealedCount = 0;
  private beginSealedBytes = 0;
  private beginSegStart = 0;
  /** length at begin(): where the open frame starts in the batch. */
  private frameStartAbs = 0;

  constructor(initialBytes = INITIAL_WRITER_BYTES) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.sealedBytes + this.pos - this.segStart;
  }

  ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const live = this.pos - this.segStart;
    let size = Math.max(this.buf.length, 64) * 2;
    while (size < live + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.segStart, this.pos);
    if (this.frameBuf === this.buf && this.frameStart >= this.segStart) {
      this.frameBuf = next;
      this.frameStart -= this.segStart;
    }
    if (this.beginSegStart === this.segStart && this.frameBuf === next) this.beginSegStart = 0;
    this.buf = next;
    this.pos = live;
    this.segStart = 0;
  }

  begin(command: number, replyTo: number, requestId: number): void {
    assert(this.frameStart < 0, 'begin() inside an open frame');
    this.ensure(HEADER_BYTES);
    this.frameStart = this.pos;
    this.frameBuf = this.buf;
    this.beginSealedCount = this.sealed.length;
    this.beginSealedBytes = this.sealedBytes;
    this.beginSegStart = this.segStart;
    this.frameStartAbs = this.length;
    const b = this.buf;
    const p = this.pos;
    b.writeUInt16BE(command, p);
    b.writeUInt16BE(replyTo, p + 2);
    put32(b, p + 4, requestId);
    this.pos += HEADER_BYTES;
  }

  /** Closes the open frame; returns its total size in bytes. */
  end(): number {
    assert(this.frameStart >= 0, 'end() without begin()');
    const size = this.frameBytes;
    put32(this.frameBuf!, this.frameStart + 8, size - HEADER_BYTES);
    this.frameStart = -1;
    this.frameBuf = null;
    return size;
  }

  /** Drops the open frame (used when encoding fails half way). */
  abandon(): void {
    if (this.frameStart < 0) return;
    if (this.sealed.length !== this.beginSealedCount) {
      // Shared bytes sealed part of the frame off: go back to the buffer and chunks of begin().
      this.sealed.length = this.beginSealedCount;
      this.sealedBytes = this.beginSealedBytes;
      this.buf = this.frameBuf!;
      this.segStart = this.beginSegStart;
    }
    this.pos = this.frameStart;
    this.frameStart = -1;
    this.frameBuf = null;
  }

  get inFrame(): boolean {
    return this.frameStart >= 0;
  }

  /** Bytes of the frame written so far, header included. */
  get frameBytes(): number {
    return this.frameStart < 0 ? 0 : this.length - this.frameStartAbs;
  }

  /** Everything written so far, as one buffer the writer no longer touches (shared bytes copied in). */
  take(): Buffer {
    if (this.sealed.length === 0) return this.takeBuf();
    return Buffer.concat(this.takeChunks());
  }

  /** Everything written so far, as chunks to write in order (one, unless bytes were shared). */
  takeChunks(): Buffer[] {
    if (this.sealed.length === 0) return [this.takeBuf()];
    assert(this.frameStart < 0, 'take() inside an open frame');
    const out = this.sealed;
    if (this.pos > this.segStart) out.push(this.buf.subarray(this.segStart, this.pos));
    this.sealed = [];
    this.sealedBytes = 0;
    this.buf = Buffer.allocUnsafe(TAKE_MIN_BYTES);
    this.pos = 0;
    this.segStart = 0;
    return out;
  }

  private takeBuf(): Buffer {
    assert(this.frameStart < 0, 'take() inside an open frame');
    const out = this.buf.subarray(this.segStart, this.pos);
    const used = this.pos - this.segStart;
    // The next buffer is sized by what this batch used: small batches (one request in flight)
    // come from Node's shared pool and make almost no garbage; large ones keep room to grow.
    let next = TAKE_MIN_BYTES;
    while (next < used * 2 && next < TAKE_MAX_BYTES) next *= 2;
    this.buf = Buffer.allocUnsafe(next);
    this.pos = 0;
    this.segStart = 0;
    return out;
  }

  i16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  i32(v: number): void {
    this.ensure(4);
    put32(this.buf, this.pos, v);
    this.pos += 4;
  }

  /** An unsigned 32-bit value written with the same bits as an int (hashes). */
  u32AsInt(v: number): void {
    this.i32(v);
  }

  i64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }

  /** A long from a JS number (times in ms, counts); must be a safe integer. */
  i64n(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / 4294967296);
    const lo = v - hi * 4294967296;
    put32(this.buf, this.pos, hi);
    put32(this.buf, this.pos + 4, lo);
    this.pos += 8;
  }

  /** A string given as latin1 (the node's internal form): one byte per char. */
  strLatin1(s: string): void {
    const n = s.length;
    this.ensure(4 + n);
    put32(this.buf, this.pos, n);
    this.buf.write(s, this.pos + 4, n, 'latin1');
    this.pos += 4 + n;
  }

  /** A string given as text, sent as UTF-8 bytes (the client's form). */
  strUtf8(s: string): void {
    // A short ASCII string (a key) is copied char by char: two native calls cost more than the loop.
    const chars = s.length;
    if (chars <= ASCII_LOOP_CHARS_MAX) {
      this.ensure(4 + chars);
      const b = this.buf;
      const at = this.pos + 4;
      let i = 0;
      for (; i < chars; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + i] = c;
      }
      if (i === chars) {
        put32(b, this.pos, chars);
        this.pos = at + chars;
        return;
      }
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(4 + n);
    put32(this.buf, this.pos, n);
    this.buf.write(s, this.pos + 4, n, 'utf8');
    this.pos += 4 + n;
  }

  /** A string in the given text form. */
  str(s: string, enc: TextForm): void {
    if (enc === 'latin1') this.strLatin1(s);
    else this.strUtf8(s);
  }

  /**
   * A string of raw bytes that the caller will not change until this writer's batch is written
   * (a stored value): from refMinBytes on, referenced instead of copied (see the class comment).
   */
  strShared(b: Buffer): void {
    if (b.length < this.refMinBytes) return this.strBytes(b);
    this.ensure(4);
    put32(this.buf, this.pos, b.length);
    this.pos += 4;
    this.sealed.push(this.buf.subarray(this.segStart, this.pos), b);
    this.sealedBytes += this.pos - this.segStart + b.length;
    this.segStart = this.pos;
  }

  /**
   * A string of n raw bytes copied from src at start. src should be a plain Uint8Array: its
   * subarray() and set() are V8's builtins. BACKGROUND: Buffer.copy (Node 20) reads .buffer
   * through a C++ accessor and makes a view on every call; for an mget's 100-byte values that
   * was about a fifth of the copy's cost (bench/RESULTS.md, issue 11).
   */
  strCopy(src: Uint8Array, start: number, n: number): void {
    this.ensure(4 + n);
    put32(this.buf, this.pos, n);
    typedArraySet.call(this.buf, typedArraySubarray.call(src, start, start + n), this.pos + 4);
    this.pos += 4 + n;
  }

  /** A string given as raw bytes. */
  strBytes(b: Uint8Array): void {
    const n = b.length;
    this.ensure(4 + n);
    put32(this.buf, this.pos, n);
    this.buf.set(b, this.pos + 4);
    this.pos += 4 + n;
  }
}
