// The logging node's disk side: a bounded in-memory buffer that never makes its caller wait,
// drained by one writer into a series of log files (oc-000001.log, ...) with size-based rotation
// and an fsync policy.
//
// BACKGROUND: the socket readers append records; the disk may be slower than the cluster.
// BEHAVIOR: append() copies the record into the buffer and returns at once. When the buffer
// holds bufferBytesMax bytes, further records are dropped, counted and logged loudly (once a
// second at most) until the writer catches up: the nodes are never slowed by the logger's disk.
// Every file operation runs on one promise chain, so writes, fsyncs and rotation never overlap.
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import { Writer } from '../protocol/codec.js';
import { encodeHeader, encodeRecord, FILE_HEADER_BYTES, FileFlag, FileKind, LOG_FORMAT_VERSION, type FileRecord } from '../protocol/filefmt.js';
import { fsyncDir, writeAll } from '../protocol/filefmt-io.js';
import { assert } from '../shared/assert.js';
import { listLogFiles, logFileName, logFileNumber } from './log-reader.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'interval', 'never'];

export const DEFAULT_MAX_FILE_MB = 64;
export const DEFAULT_FSYNC_INTERVAL_MS = 1000;
export const DEFAULT_BUFFER_BYTES_MAX = 64 * 1024 * 1024;
/** Records are gathered into chunks of about this size before they queue for the disk. */
const CHUNK_BYTES = 256 * 1024;
/** After a failed write, the writer tries again after this long. */
const WRITE_RETRY_MS = 1000;
/** Drop warnings are logged at most this often. */
const DROP_LOG_EVERY_MS = 1000;

export interface LogWriterOptions {
  dir: string;
  maxFileBytes: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs?: number;
  bufferBytesMax?: number;
  log: Logger;
  nowMs?: () => number;
}

export interface LogWriterStats {
  appended: number;
  dropped: number;
  /** Records offered after close() began (the logger is stopping): not written. */
  droppedAfterClose: number;
  bytesWritten: number;
  filesCreated: number;
  fsyncs: number;
  writeErrors: number;
  bufferBytes: number;
  bufferPeakBytes: number;
  currentFile: string;
}

/** A marker in the queue: close the current file and start the next one here. */
const ROTATE = Symbol('rotate');
type QueueItem = Buffer | typeof ROTATE;

export class LogWriter {
  private readonly queue: QueueItem[] = [];
  private chunk = new Writer(CHUNK_BYTES + 64 * 1024);
  private readonly scratch = new Writer(4096);
  private queuedBytes = 0;
  /** Bytes of the file the next appended record goes to (assigned at append time). */
  private assignedFileBytes = FILE_HEADER_BYTES;
  private assignedFileRecords = 0;
  private fh: FileHandle | undefined;
  private fileNumber: number;
  private position = 0;
  private dirty = false;
  private io: Promise<void> = Promise.resolve();
  private drainQueued = false;
  private closed = false;
  private dropEpisode = { count: 0, lastLogMs: 0 };
  private readonly timers: NodeJS.Timeout[] = [];
  readonly stats: LogWriterStats = { appended: 0, dropped: 0, droppedAfterClose: 0, bytesWritten: 0, filesCreated: 0, fsyncs: 0, writeErrors: 0, bufferBytes: 0, bufferPeakBytes: 0, currentFile: '' };
  private readonly bufferBytesMax: number;
  private readonly now: () => number;

  private constructor(
    private readonly opts: LogWriterOptions,
    firstNumber: number,
  ) {
    this.fileNumber = firstNumber;
    this.bufferBytesMax = opts.bufferBytesMax ?? DEFAULT_BUFFER_BYTES_MAX;
    this.now = opts.nowMs ?? Date.now;
    assert(opts.maxFileBytes > FILE_HEADER_BYTES, 'maxFileBytes must exceed the file header');
  }

  /**
   * Opens DIR (created if missing) and starts a new file numbered after the newest there; old
   * files are never opened for writing. The first file of a run carries the runStart flag.
   */
  static async open(opts: LogWriterOptions): Promise<LogWriter> {
    await mkdir(opts.dir, { recursive: true });
    const existing = await listLogFiles(opts.dir);
    const newest = existing.length === 0 ? 0 : logFileNumber(basename(existing[existing.length - 1]!))!;
    const w = new LogWriter(opts, newest + 1);
    await w.startFile(FileFlag.runStart);
    w.startTimers();
    return w;
  }

  private startTimers(): void {
    if (this.opts.fsync === 'interval') {
      const t = setInterval(() => this.enqueueIo(() => this.syncIfDirty()), this.opts.fsyncIntervalMs ?? DEFAULT_FSYNC_INTERVAL_MS);
      t.unref();
      this.timers.push(t);
    }
  }

  /** Encodes and appends one record; false when the buffer is full and the record was dropped. */
  appendRecord(rec: FileRecord): boolean {
    this.scratch.pos = 0;
    encodeRecord(this.scratch, rec);
    return this.append(this.scratch.buf.subarray(0, this.scratch.pos));
  }

  /**
   * Appends one encoded record (length, CRC, payload), copying it; never waits. Returns false
   * when the buffer is full: the record is dropped and counted.
   */
  append(encoded: Buffer): boolean {
    const n = encoded.length;
    if (this.closed) {
      this.stats.droppedAfterClose++;
      return false;
    }
    if (this.queuedBytes + this.chunk.length + n > this.bufferBytesMax) {
      this.noteDrop();
      return false;
    }
    this.noteRoom();
    if (this.assignedFileRecords > 0 && this.assignedFileBytes + n > this.opts.maxFileBytes) {
      this.sealChunk();
      this.queue.push(ROTATE);
      this.assignedFileBytes = FILE_HEADER_BYTES;
      this.assignedFileRecords = 0;
    }
    this.chunk.ensure(n);
    encoded.copy(this.chunk.buf, this.chunk.pos);
    this.chunk.pos += n;
    this.assignedFileBytes += n;
    this.assignedFileRecords++;
    this.stats.appended++;
    this.updateBufferStats();
    if (this.chunk.length >= CHUNK_BYTES) this.sealChunk();
    this.scheduleDrain();
    return true;
  }

  private updateBufferStats(): void {
    this.stats.bufferBytes = this.queuedBytes + this.chunk.length;
    if (this.stats.bufferBytes > this.stats.bufferPeakBytes) this.stats.bufferPeakBytes = this.stats.bufferBytes;
  }

  private noteDrop(): void {
    this.stats.dropped++;
    this.dropEpisode.count++;
    const now = this.now();
    if (now - this.dropEpisode.lastLogMs >= DROP_LOG_EVERY_MS) {
      this.dropEpisode.lastLogMs = now;
      this.opts.log.error(
        { droppedInEpisode: this.dropEpisode.count, droppedTotal: this.stats.dropped, bufferBytes: this.stats.bufferBytes, bufferBytesMax: this.bufferBytesMax },
        'logger falls behind: its buffer is full and updates are being DROPPED (the log will have gaps)',
      );
    }
  }

  private noteRoom(): void {
    if (this.dropEpisode.count === 0) return;
    this.opts.log.warn({ droppedInEpisode: this.dropEpisode.count, droppedTotal: this.stats.dropped }, 'logger caught up: its buffer has room again');
    this.dropEpisode = { count: 0, lastLogMs: 0 };
  }

  private sealChunk(): void {
    if (this.chunk.length === 0) return;
    const buf = this.chunk.take();
    this.queue.push(buf);
    this.queuedBytes += buf.length;
  }

  private scheduleDrain(): void {
    if (this.drainQueued) return;
    this.drainQueued = true;
    setImmediate(() => this.enqueueIo(() => this.drain()));
  }

  /** Runs a file operation after every earlier one; failures are logged, never thrown into the chain. */
  private enqueueIo(op: () => Promise<void>): Promise<void> {
    this.io = this.io.then(op).catch((e: unknown) => {
      this.stats.writeErrors++;
      this.opts.log.error({ err: e, file: this.stats.currentFile }, 'log file write failed; retrying');
      const t = setTimeout(() => this.scheduleDrain(), WRITE_RETRY_MS);
      t.unref();
    });
    return this.io;
  }

  /** Writes everything queued so far, in order, rotating where the queue says so. */
  private async drain(): Promise<void> {
    this.drainQueued = false;
    this.sealChunk();
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      if (item === ROTATE) {
        await this.rotate();
      } else {
        await this.writeChunk(item);
        this.queuedBytes -= item.length;
      }
      this.queue.shift();
      this.updateBufferStats();
    }
    if (this.opts.fsync === 'always') await this.syncIfDirty();
  }

  private async writeChunk(buf: Buffer): Promise<void> {
    assert(this.fh !== undefined, 'no open log file');
    await writeAll(this.fh, buf, this.position);
    this.position += buf.length;
    this.stats.bytesWritten += buf.length;
    this.dirty = true;
  }

  private async syncIfDirty(): Promise<void> {
    if (!this.dirty || this.fh === undefined) return;
    this.dirty = false;
    await this.fh.datasync();
    this.stats.fsyncs++;
  }

  private async rotate(): Promise<void> {
    await this.closeFile();
    this.fileNumber++;
    await this.startFile(0);
  }

  private async closeFile(): Promise<void> {
    if (this.fh === undefined) return;
    if (this.opts.fsync !== 'never') await this.syncIfDirty();
    await this.fh.close();
    this.fh = undefined;
  }

  /** Creates the next file (never an existing one: 'wx') and writes its header. */
  private async startFile(flags: number): Promise<void> {
    const path = join(this.opts.dir, logFileName(this.fileNumber));
    const fh = await open(path, 'wx', 0o600); // every update, values included: the owner's only
    const header = encodeHeader({ version: LOG_FORMAT_VERSION, kind: FileKind.log, flags, createdAtMs: this.now(), fileSeq: this.fileNumber, recordCount: -1 });
    await writeAll(fh, header, 0);
    this.fh = fh;
    this.position = FILE_HEADER_BYTES;
    this.dirty = true;
    this.stats.filesCreated++;
    this.stats.currentFile = path;
    if (this.opts.fsync !== 'never') {
      await this.syncIfDirty();
      await fsyncDir(this.opts.dir);
    }
    this.opts.log.info({ file: path, fileSeq: this.fileNumber, runStart: (flags & FileFlag.runStart) !== 0 }, 'log file started');
  }

  /** Resolves once everything appended so far is written (and fsynced under 'always'). */
  async flush(): Promise<void> {
    this.drainQueued = true;
    await this.enqueueIo(() => this.drain());
  }

  /**
   * Writes what is buffered, fsyncs and closes the file. Idempotent. With removeIfEmpty (a start
   * that failed), a run that never appended a record leaves no file behind.
   */
  async close(opts: { removeIfEmpty?: boolean } = {}): Promise<void> {
    if (this.closed) return this.io;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.drainQueued = true;
    await this.enqueueIo(async () => {
      await this.drain();
      await this.syncIfDirty();
      await this.closeFile();
      if (opts.removeIfEmpty === true && this.stats.appended === 0 && this.stats.filesCreated === 1) await unlink(this.stats.currentFile);
    });
  }
}
