// File I/O of the shared data-file format (filefmt.ts): reading a file in chunks through the
// record decoder, and writing a whole file atomically (temp file, fsync, rename, fsync dir).
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, basename } from 'node:path';
import { Writer } from './codec.js';
import { decodeHeader, encodeHeader, encodeRecord, FILE_HEADER_BYTES, FileFormatError, RecordDecoder, type FileHeader, type FileKindNumber, type FileRecord } from './filefmt.js';

/** Data is read and written in chunks of about this size, never as one giant buffer. */
export const FILE_CHUNK_BYTES = 1024 * 1024;

export interface TornTail {
  offset: number;
  haveBytes: number;
  needBytes: number;
}

export interface FileScan {
  header: FileHeader;
  /** Records read (the torn tail not included). */
  records: number;
  /** Bytes of the file up to the end of the last whole record. */
  goodBytes: number;
  torn: TornTail | null;
}

/**
 * Reads a data file in chunks: checks its header, hands every record to onRecord in order,
 * and says whether it ended in a torn record. Throws FileFormatError for a damaged header or
 * record (with the offset), and the fs error when the file cannot be read.
 */
export async function scanFile(path: string, onRecord: (rec: FileRecord, offset: number) => void, onHeader?: (h: FileHeader) => void): Promise<FileScan> {
  const fh = await open(path, 'r');
  try {
    const header = await readHeaderFrom(fh);
    onHeader?.(header);
    const decoder = new RecordDecoder(FILE_HEADER_BYTES);
    let records = 0;
    let position = FILE_HEADER_BYTES;
    const chunk = Buffer.allocUnsafe(FILE_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      decoder.push(chunk.subarray(0, bytesRead), (rec, offset) => {
        records++;
        onRecord(rec, offset);
      });
    }
    const torn = decoder.finish();
    return { header, records, goodBytes: torn === null ? position : torn.offset, torn };
  } finally {
    await fh.close();
  }
}

/** Reads and checks only the header of a data file. */
export async function readFileHeader(path: string): Promise<FileHeader> {
  const fh = await open(path, 'r');
  try {
    return await readHeaderFrom(fh);
  } finally {
    await fh.close();
  }
}

async function readHeaderFrom(fh: FileHandle): Promise<FileHeader> {
  const buf = Buffer.alloc(FILE_HEADER_BYTES);
  const { bytesRead } = await fh.read(buf, 0, FILE_HEADER_BYTES, 0);
  if (bytesRead === 0) throw new FileFormatError('torn', 'the file is empty', 0);
  return decodeHeader(buf.subarray(0, bytesRead));
}

/** Writes all of buf at the given position, however many calls it takes. */
export async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/** fsyncs a directory so that a rename or a new file in it survives a crash (best effort where unsupported). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw e;
  } finally {
    await fh?.close();
  }
}

export interface AtomicWriteResult {
  records: number;
  bytes: number;
}

/**
 * Writes a data file of the given kind holding `records`, atomically: the records go to
 * `path.tmp-<pid>` in chunks of about FILE_CHUNK_BYTES, the header (with the record count) is
 * written last, the file is fsynced and renamed over `path`, and the directory is fsynced.
 * A crash at any point leaves the previous `path` untouched (and at worst a stale temp file).
 */
export async function writeFileAtomic(path: string, kind: FileKindNumber, records: Iterable<FileRecord>, createdAtMs = Date.now(), version = 1): Promise<AtomicWriteResult> {
  const tmp = `${path}.tmp-${process.pid}`;
  // Data files hold every value: readable by their owner only.
  const fh = await open(tmp, 'w', 0o600);
  let renamed = false;
  try {
    const w = new Writer(FILE_CHUNK_BYTES + 64 * 1024);
    let position = FILE_HEADER_BYTES;
    let count = 0;
    for (const rec of records) {
      encodeRecord(w, rec);
      count++;
      if (w.length >= FILE_CHUNK_BYTES) position = await flushWriter(fh, w, position);
    }
    position = await flushWriter(fh, w, position);
    await writeAll(fh, encodeHeader({ version, kind, flags: 0, createdAtMs, fileSeq: 0, recordCount: count }), 0);
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
    renamed = true;
    await fsyncDir(dirname(path));
    return { records: count, bytes: position };
  } finally {
    if (!renamed) {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
    }
  }
}

async function flushWriter(fh: FileHandle, w: Writer, position: number): Promise<number> {
  if (w.length === 0) return position;
  const buf = w.take();
  await writeAll(fh, buf, position);
  return position + buf.length;
}

/** The name of the temp file writeFileAtomic uses for `path` in this process. */
export function tempFileName(path: string): string {
  return `${basename(path)}.tmp-${process.pid}`;
}
