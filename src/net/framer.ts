// Framing of a byte stream: splits arbitrary chunks into whole frames without copying where it can.
import type { Frame } from '../protocol/header.js';
import { HEADER_BYTES } from '../shared/limits.js';

export class FrameError extends Error {
  override name = 'FrameError';
}

/**
 * Feed chunks with push(); whole frames come out through the callback, in order. A frame that
 * lies inside one chunk is handed out as a view of that chunk (no copy); a frame split across
 * chunks is assembled once, when its last byte arrives. The callback may return false to stop:
 * the rest of the chunk is kept, and the next push (an empty chunk will do) goes on from there.
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
    let buf: Buffer;
    if (this.buffered === 0) {
      buf = chunk;
    } else {
      if (chunk.length > 0) {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
      const need = this.neededBytes();
      if (need === undefined || this.buffered < need) return;
      buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    let off = 0;
    const end = buf.length;
    while (end - off >= HEADER_BYTES) {
      const length = buf.readUInt32BE(off + 8);
      if (length > this.maxFrameBytes) {
        throw new FrameError(`frame payload of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
      }
      const total = HEADER_BYTES + length;
      if (end - off < total) break;
      const more = onFrame({
        command: buf.readUInt16BE(off),
        replyTo: buf.readUInt16BE(off + 2),
        requestId: buf.readUInt32BE(off + 4),
        payload: buf.subarray(off + HEADER_BYTES, off + total),
      });
      off += total;
      if (more === false) break;
    }
    if (off < end) {
      const rest = buf.subarray(off);
      this.chunks = [rest];
      this.buffered = rest.length;
      if (rest.length >= HEADER_BYTES) {
        const length = rest.readUInt32BE(8);
        if (length > this.maxFrameBytes) {
          throw new FrameError(`frame payload of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
        }
      }
    }
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
    const length = head.readUInt32BE(8);
    if (length > this.maxFrameBytes) {
      throw new FrameError(`frame payload of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
    }
    return HEADER_BYTES + length;
  }
}
