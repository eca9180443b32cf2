// Reading a series of data files in order: log files (torn tail of the newest file, or of the
// last file of a logger run, reported and skipped), compacted and save files; any other damage
// is an error naming the file and the offset.
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { FILE_HEADER_BYTES, FileFlag, FileFormatError, FileKind, fileKindName, type FileHeader, type FileRecord } from '../protocol/filefmt.js';
import { readFileHeader, scanFile, type TornTail } from '../protocol/filefmt-io.js';

const LOG_FILE_PATTERN = /^oc-(\d{6,})\.log$/;

/** The name of log file number n of a series: oc-000001.log, oc-000002.log, ... */
export function logFileName(n: number): string {
  return `oc-${String(n).padStart(6, '0')}.log`;
}

/** The number of a log file from its name, or undefined when the name is not a log file's. */
export function logFileNumber(name: string): number | undefined {
  const m = LOG_FILE_PATTERN.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/** The log files of DIR, oldest first (by number, so that oc-1000000.log sorts after oc-999999.log). */
export async function listLogFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names
    .map((name) => ({ name, n: logFileNumber(name) }))
    .filter((e): e is { name: string; n: number } => e.n !== undefined)
    .sort((a, b) => a.n - b.n)
    .map((e) => join(dir, e.name));
}

/** A file that cannot be read as it should: names the file, the offset and the problem. */
export class LogReadError extends Error {
  override name = 'LogReadError';
  constructor(
    readonly file: string,
    readonly code: string,
    readonly offset: number | undefined,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

export interface TornReport extends TornTail {
  file: string;
}

export interface ReadSummary {
  files: number;
  records: number;
  /** Torn tails skipped (the newest log file, or the last file of a logger run). */
  torn: TornReport[];
}

export interface ReadCallbacks {
  onRecord(rec: FileRecord, file: string, header: FileHeader, offset: number): void;
  onFile?(file: string, header: FileHeader): void;
  onTorn?(t: TornReport): void;
}

/**
 * Reads files in the order given. A torn record at the end of a log file is skipped and
 * reported when that file is the last one, or when the next file starts a new logger run (the
 * logger was stopped or killed in between). Everything else (damage in the middle, a torn tail
 * elsewhere, a torn save or compacted file) throws LogReadError with the file and offset.
 */
export async function readFiles(files: readonly string[], cb: ReadCallbacks): Promise<ReadSummary> {
  const summary: ReadSummary = { files: 0, records: 0, torn: [] };
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const scan = await scanOne(file, cb, files[i + 1]);
    summary.files++;
    summary.records += scan.records;
    if (scan.torn !== null) {
      const t: TornReport = { file, ...scan.torn };
      summary.torn.push(t);
      cb.onTorn?.(t);
    }
  }
  return summary;
}

async function scanOne(file: string, cb: ReadCallbacks, next: string | undefined): Promise<{ records: number; torn: TornTail | null }> {
  let header: FileHeader | undefined;
  try {
    const scan = await scanFile(
      file,
      (rec, offset) => cb.onRecord(rec, file, header!, offset),
      (h) => {
        header = h;
        cb.onFile?.(file, h);
      },
    );
    if (scan.torn !== null && !(await tornTailAllowed(scan.header, next))) {
      const t = scan.torn;
      throw new LogReadError(file, 'torn', t.offset, `torn record at offset ${t.offset} (${t.haveBytes} of ${t.needBytes} bytes) in a file that is not the newest of its run`);
    }
    if (scan.header.kind !== FileKind.log && scan.records !== scan.header.recordCount) {
      throw new LogReadError(file, 'countMismatch', undefined, `holds ${scan.records} records but its header says ${scan.header.recordCount} (truncated?)`);
    }
    return scan;
  } catch (e) {
    if (header === undefined && isTornHeader(e) && logFileNumber(basename(file)) !== undefined && (await nextStartsRun(next))) {
      // A log file created an instant before a crash: nothing of it can be read, nothing is lost.
      return { records: 0, torn: { offset: 0, haveBytes: (await stat(file)).size, needBytes: FILE_HEADER_BYTES } };
    }
    throw asReadError(file, e);
  }
}

function isTornHeader(e: unknown): boolean {
  return e instanceof FileFormatError && e.code === 'torn';
}

/** A log file may end torn if it is the last given, or the next file begins a new logger run. */
async function tornTailAllowed(h: FileHeader, next: string | undefined): Promise<boolean> {
  return h.kind === FileKind.log && (await nextStartsRun(next));
}

/** Whether there is no next file, or the next one is the first log file of a logger run. */
async function nextStartsRun(next: string | undefined): Promise<boolean> {
  if (next === undefined) return true;
  try {
    const nh = await readFileHeader(next);
    return nh.kind === FileKind.log && (nh.flags & FileFlag.runStart) !== 0;
  } catch {
    return false;
  }
}

function asReadError(file: string, e: unknown): Error {
  if (e instanceof LogReadError) return e;
  if (e instanceof FileFormatError) return new LogReadError(file, e.code, e.offset, e.message);
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === 'string') return new LogReadError(file, 'io', undefined, `cannot read (${err.code})`);
  return e instanceof Error ? e : new Error(String(e));
}

/** Describes a header for messages: "log #3" or "save". */
export function describeHeader(h: FileHeader): string {
  return h.kind === FileKind.log ? `log #${h.fileSeq}` : fileKindName(h.kind);
}

export interface LastStamps {
  /** Last (epoch, seq) per bucket, keyed "mask/hash" in hex. */
  buckets: Map<string, { mask: number; hash: number; epoch: number; seq: number }>;
  filesRead: number;
  torn: TornReport[];
}

/**
 * The last (epoch, seq) of every bucket found in the newest `maxFiles` log files of DIR, used by
 * the logger at start to report the gap it may have. Reads newest last so later records win.
 */
export async function readLastStamps(files: readonly string[], maxFiles: number): Promise<LastStamps> {
  const chosen = files.slice(Math.max(0, files.length - maxFiles));
  const buckets: LastStamps['buckets'] = new Map();
  const summary = await readFiles(chosen, {
    onRecord(rec) {
      buckets.set(`${rec.mask.toString(16)}/${rec.hash.toString(16)}`, { mask: rec.mask, hash: rec.hash, epoch: rec.epoch, seq: rec.seq });
    },
  });
  return { buckets, filesRead: summary.files, torn: summary.torn };
}
