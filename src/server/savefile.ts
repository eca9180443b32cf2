// The save file: what the last node of a cluster holds when it stops, written atomically in the
// shared data-file format (docs/file-format.md) and read back, checked, by `serve` at start.
import { FileKind, fileKindName, FileFormatError, itemRecord, SAVE_FORMAT_VERSION, type FileErrorCode } from '../protocol/filefmt.js';
import { scanFile, writeFileAtomic } from '../protocol/filefmt-io.js';
import { UpdateOp, type Item } from '../protocol/messages/node.js';

export type SaveFileErrorCode = FileErrorCode | 'wrongKind' | 'notSet' | 'io';

/** A save file that cannot be used: the file name, a stable code and a one-line reason. */
export class SaveFileError extends Error {
  override name = 'SaveFileError';
  constructor(
    readonly file: string,
    readonly code: SaveFileErrorCode,
    readonly problem: string,
    /** Byte offset of the problem in the file, where there is one. */
    readonly offset?: number,
  ) {
    super(`save file ${file}: ${problem}`);
  }
}

export interface SaveFileWriteResult {
  items: number;
  bytes: number;
}

/**
 * Writes every item to `path` atomically (temp file `path.tmp-<pid>`, fsync, rename, fsync of
 * the directory), in chunks of about 1 MiB: a crash at any point leaves the previous file whole.
 * Items keep their absolute expiry, their map and their version; `epochFloor` is the highest
 * bucket epoch of the cluster now (format 3, see SavedVersion).
 */
export async function writeSaveFile(path: string, items: Iterable<Item>, createdAtMs = Date.now(), epochFloor = 0): Promise<SaveFileWriteResult> {
  const records = mapIterable(items, (it) => ({ ...itemRecord(it), saved: { vEpoch: it.vEpoch ?? 0, vSeq: it.vSeq ?? 0, epochFloor } }));
  const r = await writeFileAtomic(path, FileKind.save, records, createdAtMs, SAVE_FORMAT_VERSION);
  return { items: r.records, bytes: r.bytes };
}

function* mapIterable<A, B>(src: Iterable<A>, f: (a: A) => B): Iterable<B> {
  for (const a of src) yield f(a);
}

export interface SaveFileContent {
  items: Item[];
  createdAtMs: number;
  /** The highest bucket epoch when the file was written (0: a file before versions, or no items). */
  epochFloor: number;
}

/**
 * Reads and checks a save file. Every item comes back, expired or not (the caller drops the
 * expired ones at its own clock). Throws SaveFileError naming the file and the problem: bad
 * magic, wrong version, torn, checksum mismatch at offset N, wrong kind, record count mismatch;
 * the file is never modified.
 */
export async function readSaveFile(path: string): Promise<SaveFileContent> {
  const items: Item[] = [];
  let epochFloor = 0;
  try {
    const scan = await scanFile(
      path,
      (rec, offset) => {
        const u = rec.update;
        if (u === undefined || u.op !== UpdateOp.set || u.value === null) {
          throw new SaveFileError(path, 'notSet', `record at offset ${offset} is not a set (${u === undefined ? `snapshot ${rec.snapshot!.part}` : `op ${u.op}`})`, offset);
        }
        const v = rec.saved;
        items.push({ map: u.map, key: u.key, expiresAtMs: u.expiresAtMs, value: u.value, vEpoch: v?.vEpoch ?? 0, vSeq: v?.vSeq ?? 0 });
        if (v !== undefined) epochFloor = Math.max(epochFloor, v.epochFloor, v.vEpoch);
      },
      (h) => {
        if (h.kind !== FileKind.save) throw new SaveFileError(path, 'wrongKind', `is a ${fileKindName(h.kind)} file, not a save file`);
      },
    );
    if (scan.torn !== null) {
      const t = scan.torn;
      throw new SaveFileError(path, 'torn', `torn record at offset ${t.offset} (file ends after ${t.haveBytes} of its ${t.needBytes} bytes)`, t.offset);
    }
    if (scan.records !== scan.header.recordCount) {
      throw new SaveFileError(path, 'countMismatch', `holds ${scan.records} records but its header says ${scan.header.recordCount} (truncated?)`);
    }
    return { items, createdAtMs: scan.header.createdAtMs, epochFloor };
  } catch (e) {
    throw asSaveFileError(path, e);
  }
}

function asSaveFileError(path: string, e: unknown): SaveFileError {
  if (e instanceof SaveFileError) return e;
  if (e instanceof FileFormatError) return new SaveFileError(path, e.code, e.message, e.offset);
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === 'string') return new SaveFileError(path, 'io', `cannot read (${err.code}): ${err.message}`);
  throw e;
}
