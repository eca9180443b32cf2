// The one on-disk format of log files, compacted files and save files (docs/file-format.md):
// a fixed file header, then records framed by length and CRC-32. Pure codec, no I/O.
import { crc32 } from 'node:zlib';
import { DecodeError, Reader, Writer } from './codec.js';
import { readItem, readUpdate, UpdateOp, writeItem, writeUpdate, type Item, type Update } from './messages/node.js';
import { assert, fail } from '../shared/assert.js';
import { put32 } from '../shared/bytes.js';

/** 0x89 'O' 'C' 'F' CR LF 0x1A LF: a non-text first byte, then bytes that text-mode transfers would mangle. */
export const FILE_MAGIC = Buffer.from([0x89, 0x4f, 0x43, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Compacted and save files are written as version 1 (their records are only `set`). */
export const FILE_FORMAT_VERSION = 1;
/** Log files are written as version 2: they may hold snapshot records (ops 6-8), which version 1 has not. */
export const LOG_FORMAT_VERSION = 2;
/**
 * Save files are written as version 3: each record may end in the item's version and the highest
 * bucket epoch when the file was written (`SavedVersion`), which versions 1 and 2 have not.
 */
export const SAVE_FORMAT_VERSION = 3;
/** The versions this build reads. */
const VERSIONS_READ: readonly number[] = [1, 2, 3];
/** The bytes a SavedVersion adds to a set record: int epoch, long seq, int epoch floor. */
const SAVED_VERSION_BYTES = 16;
export const FILE_HEADER_BYTES = 44;
export const RECORD_FRAME_BYTES = 8;
/** A record payload longer than this is treated as a damaged length field. */
export const RECORD_PAYLOAD_BYTES_MAX = 256 * 1024 * 1024;
/** The fixed part of a record payload before the update: mask, hash, epoch, seq. */
const RECORD_STAMP_BYTES = 20;

export const FileKind = { log: 1, compacted: 2, save: 3 } as const;
export type FileKindNumber = (typeof FileKind)[keyof typeof FileKind];

export function fileKindName(kind: number): string {
  return kind === FileKind.log ? 'log' : kind === FileKind.compacted ? 'compacted' : kind === FileKind.save ? 'save' : `kind${kind}`;
}

/** Header flags. */
export const FileFlag = {
  /** A log file that is the first of a logger run: the file before it may end in a torn record. */
  runStart: 1,
} as const;

export interface FileHeader {
  version: number;
  kind: FileKindNumber;
  flags: number;
  createdAtMs: number;
  /** Log files: the number of the file in its series (1, 2, ...); 0 for other kinds. */
  fileSeq: number;
  /** Save and compacted files: the number of records; -1 when unknown (logs). */
  recordCount: number;
}

/** What went wrong in a file; the stable code tells readers what to do, the message tells people. */
export type FileErrorCode =
  | 'badMagic'
  | 'badVersion'
  | 'badHeader'
  | 'badKind'
  | 'torn'
  | 'badLength'
  | 'checksum'
  | 'badRecord'
  | 'countMismatch';

export class FileFormatError extends Error {
  override name = 'FileFormatError';
  constructor(
    readonly code: FileErrorCode,
    message: string,
    /** Byte offset in the file where the problem starts. */
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Where a record belongs: the bucket (mask, hash) and its place in the bucket's history. */
export interface RecordStamp {
  mask: number;
  hash: number;
  epoch: number;
  seq: number;
}

/**
 * What a save file (format 3) keeps beside a set: the item's version as the (epoch, seq) of the
 * write that made it (server/versions.ts), and the highest bucket epoch of the cluster when the file
 * was written (a node that loads the file starts its epochs above it, so no version repeats).
 */
export interface SavedVersion {
  vEpoch: number;
  vSeq: number;
  epochFloor: number;
}

/** One update record: the bucket it came from, its place in the bucket's history, and the change. */
export interface UpdateRecord extends RecordStamp {
  update: Update;
  snapshot?: undefined;
  /** Save files (format 3), on set records: the item's version. */
  saved?: SavedVersion;
}

/** Record ops of a snapshot (log files, format version 2); updates use ops 1-5. */
export const SnapshotOp = { begin: 6, item: 7, end: 8 } as const;

/**
 * One part of a bucket's snapshot: begin and end carry the number of items, each item one record.
 * The stamp's seq is the bucket's seq at the snapshot (the seam) on every part.
 */
export type SnapshotPart = { part: 'begin'; items: number } | { part: 'item'; item: Item } | { part: 'end'; items: number };

export interface SnapshotRecord extends RecordStamp {
  snapshot: SnapshotPart;
  update?: undefined;
}

export type FileRecord = UpdateRecord | SnapshotRecord;

export function encodeHeader(h: FileHeader): Buffer {
  const b = Buffer.alloc(FILE_HEADER_BYTES);
  FILE_MAGIC.copy(b, 0);
  b.writeUInt16BE(h.version, 8);
  b.writeUInt16BE(h.kind, 10);
  b.writeUInt32BE(h.flags >>> 0, 12);
  b.writeBigInt64BE(BigInt(h.createdAtMs), 16);
  b.writeBigInt64BE(BigInt(h.fileSeq), 24);
  b.writeBigInt64BE(BigInt(h.recordCount), 32);
  b.writeUInt32BE(crc32(b.subarray(0, 40)), 40);
  return b;
}

/** Decodes and checks a file header; throws FileFormatError (torn when the file is shorter than a header). */
export function decodeHeader(buf: Buffer): FileHeader {
  if (buf.length < FILE_MAGIC.length || !buf.subarray(0, FILE_MAGIC.length).equals(FILE_MAGIC)) {
    if (buf.length < FILE_MAGIC.length && FILE_MAGIC.subarray(0, buf.length).equals(buf)) {
      throw new FileFormatError('torn', `file ends inside its header (${buf.length} of ${FILE_HEADER_BYTES} bytes)`, 0);
    }
    throw new FileFormatError('badMagic', 'not an OpenCluster data file (bad magic bytes)', 0);
  }
  if (buf.length < FILE_HEADER_BYTES) {
    throw new FileFormatError('torn', `file ends inside its header (${buf.length} of ${FILE_HEADER_BYTES} bytes)`, 0);
  }
  const version = buf.readUInt16BE(8);
  if (!VERSIONS_READ.includes(version)) {
    const why = version > SAVE_FORMAT_VERSION ? 'written by a newer OpenCluster' : 'unknown';
    throw new FileFormatError('badVersion', `format version ${version} (${why}); this build reads versions ${VERSIONS_READ.join(', ')}`, 8);
  }
  if (buf.readUInt32BE(40) !== crc32(buf.subarray(0, 40))) {
    throw new FileFormatError('badHeader', 'header checksum mismatch', 0);
  }
  const kind = buf.readUInt16BE(10);
  if (kind !== FileKind.log && kind !== FileKind.compacted && kind !== FileKind.save) {
    throw new FileFormatError('badKind', `unknown file kind ${kind}`, 10);
  }
  return {
    version,
    kind,
    flags: buf.readUInt32BE(12),
    createdAtMs: safeLong(buf, 16),
    fileSeq: safeLong(buf, 24),
    recordCount: safeLong(buf, 32),
  };
}

function safeLong(buf: Buffer, offset: number): number {
  const v = Number(buf.readBigInt64BE(offset));
  if (!Number.isSafeInteger(v)) throw new FileFormatError('badHeader', `header field at offset ${offset} out of range`, offset);
  return v;
}

/** Appends one framed record (length, CRC-32, payload) to the writer; returns its size in bytes. */
export function encodeRecord(w: Writer, rec: FileRecord): number {
  assert(!w.inFrame, 'encodeRecord inside an open frame');
  const start = w.pos;
  w.ensure(RECORD_FRAME_BYTES + RECORD_STAMP_BYTES);
  w.pos += RECORD_FRAME_BYTES;
  w.u32AsInt(rec.mask);
  w.u32AsInt(rec.hash);
  w.i32(rec.epoch);
  w.i64n(rec.seq);
  if (rec.snapshot === undefined) {
    writeUpdate(w, rec.update);
    if (rec.saved !== undefined) {
      w.i32(rec.saved.vEpoch);
      w.i64n(rec.saved.vSeq);
      w.i32(rec.saved.epochFloor);
    }
  } else {
    writeSnapshotPart(w, rec.snapshot);
  }
  const payloadBytes = w.pos - start - RECORD_FRAME_BYTES;
  if (payloadBytes > RECORD_PAYLOAD_BYTES_MAX) fail(`record payload of ${payloadBytes} bytes exceeds the limit`);
  put32(w.buf, start, payloadBytes);
  put32(w.buf, start + 4, crc32(w.buf.subarray(start + RECORD_FRAME_BYTES, w.pos)));
  return w.pos - start;
}

/** A snapshot part after the stamp: op, then begin/end: map '', key '', long item count, type 0; item: the item as a set. */
function writeSnapshotPart(w: Writer, p: SnapshotPart): void {
  if (p.part === 'item') {
    w.i32(SnapshotOp.item);
    writeItem(w, p.item);
    return;
  }
  assert(Number.isSafeInteger(p.items) && p.items >= 0, 'snapshot item count must be a count');
  w.i32(p.part === 'begin' ? SnapshotOp.begin : SnapshotOp.end);
  w.strLatin1('');
  w.strLatin1('');
  w.i64n(p.items);
  w.i32(0);
}

function readSnapshotPart(r: Reader, op: number): SnapshotPart {
  if (op === SnapshotOp.item) return { part: 'item', item: readItem(r) };
  const map = r.strLatin1();
  const key = r.strLatin1();
  const items = r.i64n();
  const type = r.i32();
  if (map !== '' || key !== '' || type !== 0 || items < 0) throw new DecodeError(`snapshot ${op === SnapshotOp.begin ? 'begin' : 'end'} record with unexpected fields`);
  return { part: op === SnapshotOp.begin ? 'begin' : 'end', items };
}

/** One record as a standalone buffer (tests, small writes). */
export function encodeRecordBuffer(rec: FileRecord): Buffer {
  const w = new Writer(256);
  encodeRecord(w, rec);
  return Buffer.from(w.take());
}

/** A `set` record of an item, as save and compacted files hold them. */
export function itemRecord(item: Item, stamp: RecordStamp = NO_STAMP): UpdateRecord {
  const update: Update = { op: UpdateOp.set, map: item.map, key: item.key, expiresAtMs: item.expiresAtMs, value: item.value };
  return { mask: stamp.mask, hash: stamp.hash, epoch: stamp.epoch, seq: stamp.seq, update };
}

export const NO_STAMP = { mask: 0, hash: 0, epoch: 0, seq: 0 } as const;

/** Decodes a record payload (the bytes after length and CRC); throws FileFormatError badRecord. */
export function decodeRecordPayload(payload: Buffer, offset: number): FileRecord {
  try {
    const r = new Reader(payload);
    const stamp = { mask: r.u32(), hash: r.u32(), epoch: r.i32(), seq: r.i64n() };
    const op = payload.length >= RECORD_STAMP_BYTES + 4 ? payload.readInt32BE(RECORD_STAMP_BYTES) : 0;
    let rec: FileRecord;
    if (op >= SnapshotOp.begin && op <= SnapshotOp.end) {
      r.i32();
      rec = { ...stamp, snapshot: readSnapshotPart(r, op) };
    } else {
      const update = readUpdate(r);
      rec = { ...stamp, update };
      if (update.op === UpdateOp.set && r.remaining === SAVED_VERSION_BYTES) rec.saved = { vEpoch: r.i32(), vSeq: r.i64n(), epochFloor: r.i32() };
    }
    r.done('record');
    return rec;
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    throw new FileFormatError('badRecord', `record at offset ${offset} does not decode: ${e.message}`, offset);
  }
}

/** What the walk over a file's records yields: a record, or (last) a torn tail. */
export type RecordEvent =
  | { kind: 'record'; offset: number; bytes: number; record: FileRecord }
  | { kind: 'torn'; offset: number; haveBytes: number; needBytes: number };

/**
 * Walks the records of `buf` (which starts at file offset `baseOffset`). A record cut short by the
 * end of the buffer comes out last as a 'torn' event; a damaged record (length out of bounds,
 * CRC mismatch, payload that does not decode) throws FileFormatError with its file offset.
 */
export function* walkRecords(buf: Buffer, baseOffset = 0): Generator<RecordEvent, void, undefined> {
  let pos = 0;
  while (pos < buf.length) {
    const offset = baseOffset + pos;
    const left = buf.length - pos;
    if (left < RECORD_FRAME_BYTES) {
      yield { kind: 'torn', offset, haveBytes: left, needBytes: RECORD_FRAME_BYTES };
      return;
    }
    const length = checkLength(buf.readUInt32BE(pos), offset);
    if (left < RECORD_FRAME_BYTES + length) {
      yield { kind: 'torn', offset, haveBytes: left, needBytes: RECORD_FRAME_BYTES + length };
      return;
    }
    const payload = buf.subarray(pos + RECORD_FRAME_BYTES, pos + RECORD_FRAME_BYTES + length);
    checkCrc(payload, buf.readUInt32BE(pos + 4), offset);
    yield { kind: 'record', offset, bytes: RECORD_FRAME_BYTES + length, record: decodeRecordPayload(payload, offset) };
    pos += RECORD_FRAME_BYTES + length;
  }
}

function checkLength(length: number, offset: number): number {
  if (length > RECORD_PAYLOAD_BYTES_MAX || length < RECORD_STAMP_BYTES) {
    throw new FileFormatError('badLength', `record at offset ${offset} has an impossible length ${length}`, offset);
  }
  return length;
}

function checkCrc(payload: Buffer, expected: number, offset: number): void {
  const actual = crc32(payload);
  if (actual !== expected) {
    throw new FileFormatError('checksum', `checksum mismatch in the record at offset ${offset} (stored ${hex(expected)}, computed ${hex(actual)})`, offset);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/**
 * Incremental form of walkRecords for files read in chunks: push() chunks in order, then
 * finish() says whether the data ended in a torn record. Holds at most one partial record.
 */
export class RecordDecoder {
  private rest: Buffer = Buffer.alloc(0);
  private restOffset: number;

  constructor(startOffset: number) {
    this.restOffset = startOffset;
  }

  /** Calls onRecord for every whole record in the data so far; throws FileFormatError on damage. */
  push(chunk: Buffer, onRecord: (record: FileRecord, offset: number, bytes: number) => void): void {
    const buf = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    let consumed = 0;
    for (const ev of walkRecords(buf, this.restOffset)) {
      if (ev.kind === 'torn') break;
      onRecord(ev.record, ev.offset, ev.bytes);
      consumed += ev.bytes;
    }
    this.rest = consumed === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(consumed));
    this.restOffset += consumed;
  }

  /** Bytes held of a record that is not complete yet. */
  get pendingBytes(): number {
    return this.rest.length;
  }

  /** The torn tail, if the data ended inside a record; null when it ended on a record boundary. */
  finish(): { offset: number; haveBytes: number; needBytes: number } | null {
    if (this.rest.length === 0) return null;
    for (const ev of walkRecords(this.rest, this.restOffset)) {
      if (ev.kind === 'torn') return { offset: ev.offset, haveBytes: ev.haveBytes, needBytes: ev.needBytes };
    }
    assert(false, 'a held partial record decoded whole');
  }
}
