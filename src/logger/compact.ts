// Compaction: replays log, compacted and save files in order into the last state of every key
// (map, key), and writes that state, without expired items, as a compacted file (atomically).
import { FileKind, itemRecord, type FileHeader, type FileRecord } from '../protocol/filefmt.js';
import { writeFileAtomic } from '../protocol/filefmt-io.js';
import { UpdateOp, type Item } from '../protocol/messages/node.js';
import type { Value } from '../protocol/values.js';
import { unreachable } from '../shared/assert.js';
import { LogReadError, readFiles, type TornReport } from './log-reader.js';

export interface Stamp {
  mask: number;
  hash: number;
  epoch: number;
  seq: number;
}

interface Entry {
  expiresAtMs: number;
  value: Value;
  /** Where the last change of this key came from, kept in the compacted file. */
  mask: number;
  hash: number;
  epoch: number;
  seq: number;
}

export interface CompactCounters {
  records: number;
  sets: number;
  deletes: number;
  expires: number;
  mapDeletes: number;
  /** expire, delete or map delete of something not held: no effect. */
  noEffect: number;
}

/** The last state of every key, built by applying records in order: later records win. */
export class CompactState {
  /** map name ('' for plain keys) → key → entry. */
  private readonly maps = new Map<string, Map<string, Entry>>();
  readonly counters: CompactCounters = { records: 0, sets: 0, deletes: 0, expires: 0, mapDeletes: 0, noEffect: 0 };

  apply(rec: FileRecord): void {
    this.counters.records++;
    const u = rec.update;
    switch (u.op) {
      case UpdateOp.set:
        this.counters.sets++;
        if (u.value === null) return;
        this.mapOf(u.map, true).set(u.key, { expiresAtMs: u.expiresAtMs, value: u.value, mask: rec.mask, hash: rec.hash, epoch: rec.epoch, seq: rec.seq });
        return;
      case UpdateOp.delete:
      case UpdateOp.expired:
        this.counters.deletes++;
        this.remove(u.map, u.key);
        return;
      case UpdateOp.expire:
        this.counters.expires++;
        this.changeExpiry(rec, u.map, u.key, u.expiresAtMs);
        return;
      case UpdateOp.mapDelete:
        this.counters.mapDeletes++;
        // Plain keys (map '') are not a map: a map delete never removes them.
        if (u.map === '' || !this.maps.delete(u.map)) this.counters.noEffect++;
        return;
      default:
        unreachable(u.op, 'update op');
    }
  }

  private mapOf(name: string, create: true): Map<string, Entry>;
  private mapOf(name: string, create: false): Map<string, Entry> | undefined;
  private mapOf(name: string, create: boolean): Map<string, Entry> | undefined {
    let m = this.maps.get(name);
    if (m === undefined && create) {
      m = new Map();
      this.maps.set(name, m);
    }
    return m;
  }

  private remove(map: string, key: string): void {
    const m = this.mapOf(map, false);
    if (m === undefined || !m.delete(key)) {
      this.counters.noEffect++;
      return;
    }
    if (m.size === 0) this.maps.delete(map);
  }

  private changeExpiry(rec: FileRecord, map: string, key: string, expiresAtMs: number): void {
    const e = this.mapOf(map, false)?.get(key);
    if (e === undefined) {
      this.counters.noEffect++;
      return;
    }
    e.expiresAtMs = expiresAtMs;
    e.mask = rec.mask;
    e.hash = rec.hash;
    e.epoch = rec.epoch;
    e.seq = rec.seq;
  }

  /** Keys held, expired ones included. */
  get size(): number {
    let n = 0;
    for (const m of this.maps.values()) n += m.size;
    return n;
  }

  /** Every item not expired at nowMs, with the stamp of its last change. */
  live(nowMs: number): Generator<{ item: Item; stamp: Stamp }> {
    return this.entries(nowMs);
  }

  /** Every item held, expired or not. */
  all(): Generator<{ item: Item; stamp: Stamp }> {
    return this.entries(undefined);
  }

  private *entries(nowMs: number | undefined): Generator<{ item: Item; stamp: Stamp }> {
    for (const [map, entries] of this.maps) {
      for (const [key, e] of entries) {
        if (nowMs !== undefined && isExpired(e.expiresAtMs, nowMs)) continue;
        yield { item: { map, key, expiresAtMs: e.expiresAtMs, value: e.value }, stamp: { mask: e.mask, hash: e.hash, epoch: e.epoch, seq: e.seq } };
      }
    }
  }

  /** How many items are expired at nowMs. */
  countExpired(nowMs: number): number {
    let n = 0;
    for (const m of this.maps.values()) for (const e of m.values()) if (isExpired(e.expiresAtMs, nowMs)) n++;
    return n;
  }
}

export function isExpired(expiresAtMs: number, nowMs: number): boolean {
  return expiresAtMs !== 0 && expiresAtMs <= nowMs;
}

export interface LoadReport {
  files: number;
  records: number;
  torn: TornReport[];
  /** Log file numbers missing between the files given (a file of the series not given or lost). */
  missingLogFiles: number[];
}

/**
 * Reads the files in the order given into a CompactState. Log files of one series must come in
 * increasing number order; a torn tail of the newest log file (or of the last file of a logger
 * run) is reported and skipped; other damage throws LogReadError naming the file and offset.
 */
export async function loadFiles(files: readonly string[], onTorn?: (t: TornReport) => void): Promise<{ state: CompactState; report: LoadReport }> {
  const state = new CompactState();
  const order = new LogOrder();
  const summary = await readFiles(files, {
    onFile: (file, h) => order.check(file, h),
    onRecord: (rec) => state.apply(rec),
    onTorn,
  });
  return { state, report: { files: summary.files, records: summary.records, torn: summary.torn, missingLogFiles: order.missing } };
}

/** Checks that log files come in the order of their numbers, and notes numbers that are missing. */
class LogOrder {
  private last: { file: string; seq: number } | undefined;
  readonly missing: number[] = [];

  check(file: string, h: FileHeader): void {
    if (h.kind !== FileKind.log) return;
    const last = this.last;
    if (last !== undefined && h.fileSeq <= last.seq) {
      throw new LogReadError(file, 'order', undefined, `log file #${h.fileSeq} given after ${last.file} (#${last.seq}): give log files oldest first`);
    }
    if (last !== undefined) for (let n = last.seq + 1; n < h.fileSeq && this.missing.length < 1000; n++) this.missing.push(n);
    this.last = { file, seq: h.fileSeq };
  }
}

export interface CompactReport extends LoadReport {
  itemsWritten: number;
  expiredDropped: number;
  bytes: number;
  counters: CompactCounters;
}

/** Compacts `files` (in order) into `out`, written atomically; items expired at nowMs are dropped. */
export async function compactFiles(files: readonly string[], out: string, opts: { nowMs?: number; onTorn?: (t: TornReport) => void } = {}): Promise<CompactReport> {
  const { state, report } = await loadFiles(files, opts.onTorn);
  const nowMs = opts.nowMs ?? Date.now();
  const expiredDropped = state.countExpired(nowMs);
  const records = (function* () {
    for (const { item, stamp } of state.live(nowMs)) yield itemRecord(item, stamp);
  })();
  const written = await writeFileAtomic(out, FileKind.compacted, records, nowMs);
  return { ...report, itemsWritten: written.records, expiredDropped, bytes: written.bytes, counters: state.counters };
}
