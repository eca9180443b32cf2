// The 12-byte frame header: command or reply number, reply-to, request id, payload length.
import { HEADER_BYTES } from '../shared/limits.js';

export interface FrameHeader {
  command: number;
  replyTo: number;
  requestId: number;
  length: number;
}

export interface Frame {
  command: number;
  /** Non-zero for a reply: the command number it answers. */
  replyTo: number;
  requestId: number;
  /** The payload; may be a view into a larger buffer, valid only while the frame is handled. */
  payload: Buffer;
  /**
   * True when the payload's memory belongs to this frame alone (a large frame assembled from
   * several chunks into its own buffer): a handler may keep views of it instead of copying them
   * out. Absent or false: views are valid only while the frame is handled.
   */
  payloadOwned?: boolean;
}

export function writeHeader(buf: Buffer, offset: number, h: FrameHeader): void {
  buf.writeUInt16BE(h.command, offset);
  buf.writeUInt16BE(h.replyTo, offset + 2);
  buf.writeUInt32BE(h.requestId >>> 0, offset + 4);
  buf.writeUInt32BE(h.length >>> 0, offset + 8);
}

export function readHeader(buf: Buffer, offset: number): FrameHeader {
  return {
    command: buf.readUInt16BE(offset),
    replyTo: buf.readUInt16BE(offset + 2),
    requestId: buf.readUInt32BE(offset + 4),
    length: buf.readUInt32BE(offset + 8),
  };
}

export { HEADER_BYTES };
