// Request encoding straight into a connection's Writer, and decoding of a successful reply into
// the value the caller's promise resolves with. Pure: no I/O, no state.
import { Reader, type Writer } from '../protocol/codec.js';
import { Cmd, ErrorCode, Reply } from '../protocol/commands.js';
import { table as tableCodec } from '../protocol/messages/node.js';
import { ClusterError, WrongTypeError } from './errors.js';
import type { Request } from './request.js';
import { atomicExpectedReply, decodeAtomic, encodeAtomic, isAtomicCommand } from './atomic-wire.js';
import { readClusterValue, writeClusterValue, type ClusterValue } from './values.js';

/** Writes the payload of a request (the frame is already open). */
export function encodeRequest(w: Writer, req: Request): void {
  if (req.custom !== null) return req.custom.encode(w);
  if (isAtomicCommand(req.cmd)) return encodeAtomic(w, req);
  switch (req.cmd) {
    case Cmd.set:
      w.strUtf8(req.map);
      w.strUtf8(req.key);
      w.i32(req.num);
      w.i32(req.flags);
      writeClusterValue(w, req.valueType, req.value!);
      return;
    case Cmd.get:
      w.strUtf8(req.map);
      w.strUtf8(req.key);
      w.i32(req.num);
      return;
    case Cmd.del:
      w.strUtf8(req.map);
      w.strUtf8(req.key);
      w.i32(req.flags);
      return;
    case Cmd.exists:
    case Cmd.ttl:
      w.strUtf8(req.map);
      w.strUtf8(req.key);
      return;
    case Cmd.expire:
      w.strUtf8(req.map);
      w.strUtf8(req.key);
      w.i32(req.num);
      w.i32(req.flags);
      return;
    case Cmd.mapGetAll:
    case Cmd.mapKeys:
    case Cmd.mapCount:
      w.strUtf8(req.map);
      return;
    case Cmd.mapDelete:
      w.strUtf8(req.map);
      w.i32(req.flags);
      return;
    default:
      return; // ping, stats, capabilities, get_table: no payload
  }
}

/** Whether a set's payload fits the node's frame limit (other requests are small). */
export function setPayloadFits(req: Request, maxFrameBytes: number): boolean {
  const v = req.value;
  // A UTF-8 string takes at most 3 bytes per UTF-16 unit: most items pass on that bound alone.
  const extra = req.cmd === Cmd.setIf ? 12 : 0; // its condition and version
  const bound = extra + 24 + 3 * (req.map.length + req.key.length) + (typeof v === 'string' ? 3 * v.length : v instanceof Uint8Array ? v.length : 8);
  if (bound <= maxFrameBytes) return true;
  const valueBytes = typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v instanceof Uint8Array ? v.length : 8;
  return extra + 24 + Buffer.byteLength(req.map, 'utf8') + Buffer.byteLength(req.key, 'utf8') + valueBytes <= maxFrameBytes;
}

/** The reply number each command expects on success. */
function expectedReply(cmd: number): number {
  if (isAtomicCommand(cmd)) return atomicExpectedReply(cmd);
  switch (cmd) {
    case Cmd.set:
    case Cmd.ping:
      return Reply.ack;
    case Cmd.get:
      return Reply.value;
    case Cmd.del:
    case Cmd.exists:
    case Cmd.expire:
    case Cmd.mapDelete:
      return Reply.bool;
    case Cmd.ttl:
    case Cmd.mapCount:
      return Reply.long;
    case Cmd.mapKeys:
    case Cmd.capabilities:
      return Reply.strings;
    case Cmd.mapGetAll:
      return Reply.entries;
    case Cmd.stats:
      return Reply.json;
    case Cmd.getTable:
      return Reply.table;
    default:
      return -1;
  }
}

function readStrings(r: Reader, maxCount: number): string[] {
  const n = r.i32();
  if (n < 0 || n > maxCount) throw new RangeError(`strings count ${n} out of range`);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = r.strUtf8();
  return out;
}

function readEntries(r: Reader, maxCount: number): Map<string, ClusterValue> {
  const n = r.i32();
  if (n < 0 || n > maxCount) throw new RangeError(`entries count ${n} out of range`);
  const out = new Map<string, ClusterValue>();
  for (let i = 0; i < n; i++) {
    const key = r.strUtf8();
    const value = readClusterValue(r);
    if (value !== null) out.set(key, value);
  }
  return out;
}

function decodeBody(cmd: number, r: Reader, req: Request, nowMs: number): unknown {
  // Every count is bounded by the payload: each element takes at least 4 bytes.
  const maxCount = r.remaining >>> 2;
  if (isAtomicCommand(cmd)) return decodeAtomic(cmd, r);
  switch (cmd) {
    case Cmd.set:
      return undefined;
    case Cmd.ping:
      return nowMs - req.sentAtMs;
    case Cmd.get:
      return readClusterValue(r);
    case Cmd.del:
    case Cmd.exists:
    case Cmd.expire:
    case Cmd.mapDelete:
      return r.i32() !== 0;
    case Cmd.ttl:
    case Cmd.mapCount:
      return r.i64n();
    case Cmd.mapKeys:
    case Cmd.capabilities:
      return readStrings(r, maxCount);
    case Cmd.mapGetAll:
      return readEntries(r, maxCount);
    case Cmd.stats:
      return JSON.parse(r.strUtf8()) as unknown;
    case Cmd.getTable:
      return tableCodec.decode(r);
    default:
      throw new ClusterError('SERVER_ERROR', `no decoder for command ${cmd}`);
  }
}

/**
 * Decodes a successful reply for `req`. Throws ClusterError SERVER_ERROR when the reply is not the
 * one the command expects or its payload is malformed. The payload (or a Reader of it: the frame's
 * payloadReader) is read in place; a binary value is copied out, unless the Reader owns its bytes.
 */
export function decodeResult(req: Request, replyNumber: number, payload: Buffer | Reader, nowMs: number, node: string): unknown {
  const expected = req.custom !== null ? req.custom.reply : expectedReply(req.cmd);
  if (replyNumber !== expected) {
    throw new ClusterError('SERVER_ERROR', `command ${req.cmd} got reply ${replyNumber}, expected ${expected}`, undefined, node);
  }
  const r = payload instanceof Reader ? payload : new Reader(payload);
  try {
    const result = req.custom !== null ? req.custom.decode(r) : decodeBody(req.cmd, r, req, nowMs);
    if (req.cmd !== Cmd.getTable) r.done(`reply ${replyNumber}`);
    return result;
  } catch (e) {
    if (e instanceof ClusterError) throw e;
    throw new ClusterError('SERVER_ERROR', `malformed reply ${replyNumber} to command ${req.cmd}: ${(e as Error).message}`, undefined, node);
  }
}

/**
 * What a failinfo answer means for the caller: null when the request was not applied and should be
 * retried shortly (the bucket is changing hands, has no owner yet, or its node is leaving), else
 * the error to reject with.
 */
export function failInfoError(code: number, message: string, node: string): ClusterError | null {
  switch (code) {
    case ErrorCode.retryLater:
    case ErrorCode.noOwner:
    case ErrorCode.shuttingDown:
      return null;
    case ErrorCode.wrongType:
      return new WrongTypeError('WRONG_TYPE', message, code, node);
    case ErrorCode.badRequest:
    case ErrorCode.tooLarge:
      return new ClusterError('BAD_REQUEST', message, code, node);
    case ErrorCode.backupFailed:
      return new ClusterError('BACKUP_FAILED', message, code, node);
    case ErrorCode.versionMismatch:
      return new ClusterError('VERSION_MISMATCH', message, code, node);
    case ErrorCode.overflow:
      return new ClusterError('OVERFLOW', message, code, node);
    case ErrorCode.authFailed:
      return new ClusterError('AUTH_FAILED', message, code, node);
    case ErrorCode.notAllowed:
      return new ClusterError('NOT_ALLOWED', message, code, node);
    case ErrorCode.outOfMemory:
      return new ClusterError('OUT_OF_MEMORY', message, code, node);
    default:
      return new ClusterError('SERVER_ERROR', message, code, node);
  }
}
