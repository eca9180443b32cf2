// Framing of a byte stream: splits arbitrary chunks into whole frames without copying where it can.
import type { Frame } from '../protocol/header.js';
import { Reader } from '../protocol/codec.js';
import { getU16, getU32 } from '../shared/bytes.js';
import { HEADER_BYTES } from '../shared/limits.js';

const EMPTY = Buffer.alloc(0);

export class FrameError extends Error {
  override name = 'FrameError';
}

/**
 * A frame split across chunks of at least this many bytes is assembled into a buffer of its own
 * (outside Node's shared 8 KiB pool), handed out with payloadOwned: its value can be kept as a
 * view, so a large value is copied once on its way from the socket to the store.
 */
export const OWNED_FRAME_MIN_BYTES = 4096;

/**
 * A frame as the decoder hands it out: where its payload lies in the chunk, and the payload as a
 * view made only when asked for (a Buffer view costs an allocation per frame; the hot handlers
 * read in place with payloadReader()).
 */
export class ChunkFrame implements Frame {
  private view: Buffer | undefined = undefined;

  constructor(
    readonly command: number,
    readonly replyTo: number,
    readonly requestId: number,
    readonly chunk: Buffer,
    readonly start: number,
    readonly end: number,
    readonly payloadOwned: boolean,
  ) {}

  get payload(): Buffer {
    if (this.view === undefined) this.view = this.chunk.subarray(this.start, this.end);
    return this.view;
  }
}

/** A Reader of the frame's payload, read in place (no view made for a ChunkFrame). */
export function payloadReader(frame: Frame): Reader {
  const r = frame instanceof ChunkFrame ? new Reader(frame.chunk, frame.start, frame.end) : new Reader(frame.payload);
  r.ownsBytes = frame.payloadOwned === true;
  return r;
}

/**
 * Feed chunks with push(); whole frames come out through the callback, in order. A frame that
 * lies inside one chunk is handed out as a view of that chunk (no copy); a frame split across
 * chunks is assembled once, into a buffer of exactly its size, when its last byte arrives. The
 * callback may return false to stop: the rest of the chunk is kept, and the next push (an empty
 * chunk will do) goes on from there.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(public maxFrameBytes: number) {}

  /** Bytes held: of a frame that is not complete yet, or of frames left when the callback stopped. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** True when at least one whole frame is held (the callback stopped before it). */
  get hasWholeFrame(): boolean {
    const need = this.neededBytes();
    return need !== undefined && this.buffered >= need;
  }

  push(chunk: Buffer, onFrame: (frame: Frame) => boolean | void): void {
    let buf = chunk;
    if (this.buffered !== 0) {
      if (chunk.length > 0) {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
      const need = this.neededBytes();
      if (need === undefined || this.buffered < need) return;
      if (this.chunks.length === 1) {
        // Frames held when the callback stopped: handed out from where they are, as views.
        buf = this.chunks[0]!;
        this.chunks = [];
        this.buffered = 0;
      } else {
        const rest = this.assemble(need);
        const whole = rest.frame;
        const more = onFrame(new ChunkFrame(getU16(whole, 0), getU16(whole, 2), getU32(whole, 4), whole, HEADER_BYTES, need, need >= OWNED_FRAME_MIN_BYTES));
        buf = rest.after;
        if (more === false) {
          this.keep(buf, 0);
          return;
        }
      }
    }
    let off = 0;
    const end = buf.length;
    while (end - off >= HEADER_BYTES) {
      const length = this.payloadLength(buf, off);
      const total = HEADER_BYTES + length;
      if (end - off < total) break;
      const more = onFrame(new ChunkFrame(getU16(buf, off), getU16(buf, off + 2), getU32(buf, off + 4), buf, off + HEADER_BYTES, off + total, false));
      off += total;
      if (more === false) break;
    }
    this.keep(buf, off);
  }

  /** Holds buf from off on (nothing when off is its end), checking the length of a header that is in. */
  private keep(buf: Buffer, off: number): void {
    if (off >= buf.length) return;
    const rest = off === 0 ? buf : buf.subarray(off);
    this.chunks = [rest];
    this.buffered = rest.length;
    if (rest.length >= HEADER_BYTES) {
      this.payloadLength(rest, 0);
    }
  }

  /**
   * Copies the first `need` bytes held into a buffer of their own (one copy per byte), and lets
   * go of every chunk; what the last chunk holds past them comes back as a view.
   */
  private assemble(need: number): { frame: Buffer; after: Buffer } {
    const frame = need >= OWNED_FRAME_MIN_BYTES ? Buffer.allocUnsafeSlow(need) : Buffer.allocUnsafe(need);
    const chunks = this.chunks;
    let at = 0;
    let i = 0;
    for (; i < chunks.length && at < need; i++) {
      const c = chunks[i]!;
      const take = Math.min(c.length, need - at);
      c.copy(frame, at, 0, take);
      at += take;
      if (take < c.length) {
        chunks[i] = c.subarray(take);
        break;
      }
    }
    // Past the frame: the rest of its last chunk, and (rarely: a chunk read after a stop) more.
    const left = chunks.slice(i);
    const after = left.length === 0 ? EMPTY : left.length === 1 ? left[0]! : Buffer.concat(left);
    this.chunks = [];
    this.buffered = 0;
    return { frame, after };
  }

  /** Drops every byte held (the connection is gone): the memory is free at once, not when the decoder is. */
  clear(): void {
    this.chunks = [];
    this.buffered = 0;
  }

  /** Total bytes of the frame being assembled, once its header is in. */
  private neededBytes(): number | undefined {
    if (this.buffered < HEADER_BYTES) return undefined;
    const head = this.chunks[0]!.length >= HEADER_BYTES ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    return HEADER_BYTES + this.payloadLength(head, 0);
  }

  /** The payload length in the header at buf[off..]; FrameError past maxFrameBytes. */
  private payloadLength(buf: Buffer, off: number): number {
    const length = getU32(buf, off + 8);
    if (length > this.maxFrameBytes) {
      throw new FrameError(`frame payload of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
    }
    return length;
  }
}
