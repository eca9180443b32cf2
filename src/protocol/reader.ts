// The bounds-checked payload Reader: every length is checked against the payload's end, and a
// payload that does not decode throws DecodeError.
import { fail } from '../shared/assert.js';
import { get32, getU32 } from '../shared/bytes.js';

/** How a side holds byte strings as JS strings: the node as latin1, the client as UTF-8 text. */
export type TextForm = 'latin1' | 'utf8';

export class DecodeError extends Error {
  override name = 'DecodeError';
}


/** Reads a payload with every length checked against the end; throws DecodeError. */
export class Reader {
  pos: number;
  /**
   * True when the buffer belongs to what is read from it alone (a frame with payloadOwned):
   * strKeep() may then hand out a view of it instead of a copy.
   */
  ownsBytes = false;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    // get32 reads without a check of its own (shared/bytes.ts): the payload must lie inside the buffer.
    if (!(start >= 0 && start <= end && end <= buf.length)) fail(`payload ${start}..${end} is not inside a buffer of ${buf.length} bytes`);
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new DecodeError(`payload too short for ${what}: need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  i16(): number {
    this.need(2, 'short');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u16(): number {
    this.need(2, 'short');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  i32(): number {
    this.need(4, 'int');
    const v = get32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  /** An int read as unsigned 32 bits (hashes). */
  u32(): number {
    this.need(4, 'int');
    const v = getU32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  i64(): bigint {
    this.need(8, 'long');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A long read as a JS number; throws when it is not a safe integer. */
  i64n(): number {
    this.need(8, 'long');
    const hi = get32(this.buf, this.pos);
    const lo = getU32(this.buf, this.pos + 4);
    this.pos += 8;
    const v = hi * 4294967296 + lo;
    if (!Number.isSafeInteger(v)) throw new DecodeError(`long ${v} out of safe range`);
    return v;
  }

  private strLength(): number {
    const n = this.i32();
    if (n < 0) throw new DecodeError(`negative string length ${n}`);
    if (this.pos + n > this.end) {
      throw new DecodeError(`string length ${n} runs past the end of the payload (${this.end - this.pos} bytes left)`);
    }
    return n;
  }

  strLatin1(): string {
    const n = this.strLength();
    const s = this.buf.toString('latin1', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  strUtf8(): string {
    const n = this.strLength();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  str(enc: TextForm): string {
    return enc === 'latin1' ? this.strLatin1() : this.strUtf8();
  }

  /**
   * n strings in a row, as str(enc) would read them one by one. Latin1 ones are cut from one
   * string of all their bytes: one call into C++ instead of n (a batch's keys: about half the cost
   * of decoding a short key). A key of 13 chars or more is then a slice of that string and keeps it
   * alive while the key lives.
   */
  strs(n: number, enc: TextForm): string[] {
    const out = new Array<string>(n);
    if (enc !== 'latin1') {
      for (let i = 0; i < n; i++) out[i] = this.strUtf8();
      return out;
    }
    const start = this.pos;
    for (let i = 0; i < n; i++) {
      const len = this.strLength(); // moves past the length field: not `this.pos += this.strLength()`
      this.pos += len;
    }
    const all = this.buf.toString('latin1', start, this.pos);
    for (let i = 0, at = 0; i < n; i++) {
      const len = get32(this.buf, start + at);
      out[i] = all.substring(at + 4, at + 4 + len);
      at += 4 + len;
    }
    return out;
  }

  /** String bytes as a view into the payload (valid only while the frame is). */
  strView(): Buffer {
    const n = this.strLength();
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** String bytes copied out of the frame, safe to keep. */
  strCopy(): Buffer {
    const n = this.strLength();
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, this.pos, this.pos + n); // no view made on the way
    this.pos += n;
    return out;
  }

  /**
   * String bytes to keep beyond the frame: a view when the buffer is owned and these bytes are at
   * least half of it (a large value: a view then holds little else alive), else a copy.
   */
  strKeep(): Buffer {
    if (!this.ownsBytes) return this.strCopy();
    const at = this.pos;
    const n = this.strLength();
    this.pos = at;
    // An owned payload is all of buf: a view of most of it holds little else alive.
    return n * 2 >= this.buf.length ? this.strView() : this.strCopy();
  }

  /** Asserts the whole payload was consumed: trailing bytes mean a malformed frame. */
  done(what: string): void {
    if (this.pos !== this.end) {
      throw new DecodeError(`${what}: ${this.end - this.pos} unexpected trailing bytes`);
    }
  }
}
