// The save file a node loaded at a stand-alone start, kept recoverable until it is obsolete: loading
// it, the in-use mark beside it, and retiring it once another node holds a copy or a newer save exists.
// RULE (docs/architecture.md, "The save file"):
// - Only a stand-alone start (no --node) loads the save file. A node given --node seeds never does.
// - Loading leaves the file in place and writes `<savefile>.in-use` beside it (atomically): loaded
//   by incarnation X of pid P at time T. A stand-alone start after a crash (kill -9, power loss)
//   finds the file and loads it again, warning that the mark was left by a run that did not end.
// - The file is obsolete, and moved aside to `<savefile>.loaded-<time>` (the mark removed), once
//   another node holds a copy of every bucket (each bucket's primary or backup is another node), or a
//   graceful shutdown handed every bucket over; or it is replaced by a newer save, the loaded one
//   kept beside it as `<savefile>.loaded-<time>`.
// - A node declared dead drops its data and rejoins: the file then stays in place (abandon()).
// Writes made after the load are not in the file: a crash before it is obsolete loses them (that
// is what backups, and a second node, are for).
import { existsSync } from 'node:fs';
import { open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDir } from '../protocol/filefmt-io.js';
import type { Logger } from './log.js';
import type { Store } from './store.js';
import type { BucketTable } from './table.js';
import { readSaveFile } from './savefile.js';

/** What the in-use mark says. */
export interface InUseMark {
  incarnation: string;
  pid: number;
  loadedAtMs: number;
  /** The save file's own creation time: a mark naming another file's time is stale. */
  savedAtMs: number;
  items: number;
}

/** What loading needs of the node. */
export interface LoadHost {
  readonly log: Logger;
  readonly savefile: string;
  readonly incarnation: bigint;
  readonly store: Store;
}

export function inUseMarkPath(savefile: string): string {
  return `${savefile}.in-use`;
}

/**
 * Loads the save file into a node starting alone and marks it in use; null when there is none.
 * Throws SaveFileError when it is unreadable (the file and any mark are left as they are).
 */
export async function loadSaveFile(host: LoadHost): Promise<LoadedSave | null> {
  const path = host.savefile;
  const markPath = inUseMarkPath(path);
  await removeStaleTempFiles(host.log, path);
  if (!existsSync(path)) {
    // A mark without its file: the file was moved aside and the mark's removal was cut short.
    if (existsSync(markPath)) await unlink(markPath).catch(() => undefined);
    return null;
  }
  const content = await readSaveFile(path);
  const earlier = await readMark(markPath);
  if (earlier !== null && earlier.savedAtMs === content.createdAtMs) {
    host.log.warn(
      { file: path, by: earlier.incarnation, pid: earlier.pid, loadedAt: new Date(earlier.loadedAtMs).toISOString() },
      'the save file was loaded before by a run that did not end cleanly: loading it again (writes made after that load are not in it)',
    );
  }
  const now = Date.now();
  let loaded = 0;
  let expired = 0;
  for (const it of content.items) {
    if (it.expiresAtMs !== 0 && it.expiresAtMs <= now) {
      expired++;
      continue;
    }
    const b = host.store.bucketOf(it.map, it.key);
    host.store.put(b, it.map, it.key, { value: it.value, expiresAtMs: it.expiresAtMs, vEpoch: it.vEpoch ?? 0, vSeq: it.vSeq ?? 0 });
    loaded++;
  }
  const mark: InUseMark = { incarnation: String(host.incarnation), pid: process.pid, loadedAtMs: now, savedAtMs: content.createdAtMs, items: loaded };
  try {
    await writeMark(markPath, mark);
  } catch (error) {
    // The file stays in place either way: a missing mark only loses the warning above.
    host.log.error({ file: markPath, err: String(error) }, 'could not write the save file\'s in-use mark');
  }
  host.log.info({ file: path, loaded, expired, epochFloor: content.epochFloor, savedAt: new Date(content.createdAtMs).toISOString(), inUse: markPath }, 'save file loaded');
  return new LoadedSave(host.log, path, content.epochFloor);
}

/** The loaded save file, in place until retire() or superseded(). */
export class LoadedSave {
  private state: 'held' | 'retiring' | 'done' = 'held';
  private retiring: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: Logger,
    readonly path: string,
    /** The highest bucket epoch when the file was written: this node starts its epochs above it (versions.ts). */
    readonly epochFloor = 0,
  ) {}

  /** Still in place as the node's recoverable data. */
  get held(): boolean {
    return this.state === 'held';
  }

  /** Retires the file once another node holds a copy of every bucket (see the rule above). */
  check(table: BucketTable, me: string): void {
    if (this.state !== 'held') return;
    for (let b = 0; b < table.size; b++) {
      const e = table.get(b);
      const elsewhere = (e.primary !== '' && e.primary !== me) || (e.backup !== '' && e.backup !== me);
      if (!elsewhere) return;
    }
    void this.retire('another node holds a copy of every bucket');
  }

  /** Moves the file aside (`.loaded-<time>`) and removes its mark, once; resolves when that is done. */
  retire(why: string): Promise<void> {
    if (this.state === 'held') {
      this.state = 'retiring';
      this.retiring = this.moveAside(why);
    }
    return this.retiring;
  }

  private async moveAside(why: string): Promise<void> {
    const aside = `${this.path}.loaded-${stamp(Date.now())}`;
    try {
      await rename(this.path, aside);
      await unlink(inUseMarkPath(this.path)).catch(() => undefined);
      await fsyncDir(dirname(this.path));
      this.log.info({ file: this.path, movedTo: aside, why }, 'loaded save file retired: it is obsolete');
    } catch (error) {
      this.log.error({ file: this.path, err: String(error) }, 'could not move the loaded save file aside; it stays in place');
    }
    this.state = 'done';
  }

  /**
   * This node dropped its data (declared dead, it rejoins as a new member): the table no longer says
   * where the loaded data went (buckets may have been taken over empty), so the file is never
   * retired by this run; it stays in place, marked, for a later stand-alone start or by hand.
   */
  abandon(why: string): void {
    if (this.state !== 'held') return;
    this.state = 'done';
    this.log.warn({ file: this.path, why }, 'the loaded save file stays in place: this node dropped its data');
  }

  /** Name under which the loaded file is kept when a newer save replaces it. */
  keptName(): string {
    return `${this.path}.loaded-${stamp(Date.now())}`;
  }

  /** A newer save replaced the file: its mark goes (the new file is no one's loaded file yet). */
  async superseded(): Promise<void> {
    await this.retiring;
    if (this.state !== 'held') return;
    this.state = 'done';
    await unlink(inUseMarkPath(this.path)).catch(() => undefined);
  }
}

async function readMark(markPath: string): Promise<InUseMark | null> {
  try {
    const v = JSON.parse(await readFile(markPath, 'utf8')) as Partial<InUseMark>;
    if (typeof v.incarnation !== 'string' || typeof v.loadedAtMs !== 'number' || typeof v.savedAtMs !== 'number') return null;
    return { incarnation: v.incarnation, pid: Number(v.pid), loadedAtMs: v.loadedAtMs, savedAtMs: v.savedAtMs, items: Number(v.items) };
  } catch {
    return null; // none, or unreadable: it only ever adds a warning
  }
}

/** Temp file, fsync, rename, fsync of the directory: the mark is whole or absent. */
async function writeMark(markPath: string, mark: InUseMark): Promise<void> {
  const tmp = `${markPath}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(mark)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, markPath);
  await fsyncDir(dirname(markPath));
}

export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, '-');
}

/** A save or mark write killed half way leaves `<file>.tmp-<pid>`; it is garbage, the real file is whole. */
async function removeStaleTempFiles(log: Logger, savefile: string): Promise<void> {
  const dir = dirname(savefile);
  const prefixes = [`${basename(savefile)}.tmp-`, `${basename(inUseMarkPath(savefile))}.tmp-`];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!prefixes.some((p) => name.startsWith(p))) continue;
    await unlink(join(dir, name)).catch(() => undefined);
    log.warn({ file: join(dir, name) }, 'removed the temporary file of an interrupted save');
  }
}
