// Compaction: replays log, compacted and save files in order into the last state of every key
// (map, key), a bucket's snapshot replacing that bucket's state at its seq, and writes that state,
// without expired items, as a compacted file (atomically); reports the gaps it could not close.
import { FileKind, itemRecord, type FileHeader, type FileRecord, type SnapshotRecord, type UpdateRecord } from '../protocol/filefmt.js';
import { itemRouteHashLatin1 } from '../shared/fnv.js';
import { BucketHistories, type GapReport } from './bucket-history.js';
import { bucketName, newer } from './bucket-tracker.js';
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
  /** The hash that places the item (its bucket under any mask). */
  route: number;
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
  /** Snapshots applied (each replaced its bucket), and their items. */
  snapshots: number;
  snapshotItems: number;
  /** Snapshots that began and never ended whole (a link lost in the middle): not applied. */
  incompleteSnapshots: number;
  /** Updates skipped because a later-applied snapshot of their bucket already holds them. */
  coveredBySnapshot: number;
}

/** A snapshot being read: its items, and the bucket's newer updates met meanwhile (applied after it). */
interface PendingSnapshot {
  begin: SnapshotRecord;
  expected: number;
  items: SnapshotRecord[];
  held: UpdateRecord[];
}

/** The last state of every key, built by applying records in order: later records win. */
export class CompactState {
  /** map name ('' for plain keys) → key → entry. */
  private readonly maps = new Map<string, Map<string, Entry>>();
  readonly counters: CompactCounters = { records: 0, sets: 0, deletes: 0, expires: 0, mapDeletes: 0, noEffect: 0, snapshots: 0, snapshotItems: 0, incompleteSnapshots: 0, coveredBySnapshot: 0 };
  readonly histories = new BucketHistories();
  /** Snapshots begun and not ended yet, by bucket name. */
  private readonly pending = new Map<string, PendingSnapshot>();

  apply(rec: FileRecord): void {
    this.counters.records++;
    if (rec.snapshot !== undefined) return this.applySnapshotPart(rec);
    const p = this.pending.get(bucketName(rec.mask, rec.hash));
    if (p !== undefined && !this.histories.covered(rec) && newer(rec.epoch, rec.seq, p.begin.epoch, p.begin.seq)) {
      p.held.push(rec);
      return;
    }
    this.applyUpdate(rec);
  }

  /** Ends the replay: snapshots never ended are dropped (counted), the updates they held are applied. */
  finish(): void {
    for (const [name, p] of this.pending) this.abandon(name, p);
  }

  private applySnapshotPart(rec: SnapshotRecord): void {
    const name = bucketName(rec.mask, rec.hash);
    const p = this.pending.get(name);
    const part = rec.snapshot;
    if (part.part === 'begin') {
      if (p !== undefined) this.abandon(name, p);
      this.pending.set(name, { begin: rec, expected: part.items, items: [], held: [] });
      return;
    }
    // Parts of another snapshot than the one begun (its begin was lost): nothing to attach them to.
    if (p === undefined || p.begin.epoch !== rec.epoch || p.begin.seq !== rec.seq) {
      if (part.part === 'end') this.counters.incompleteSnapshots++;
      return;
    }
    if (part.part === 'item') {
      p.items.push(rec);
      return;
    }
    if (part.items !== p.expected || p.items.length !== p.expected) return this.abandon(name, p);
    this.pending.delete(name);
    this.replaceBucket(p);
    for (const u of p.held) this.applyUpdate(u);
  }

  private abandon(name: string, p: PendingSnapshot): void {
    this.pending.delete(name);
    this.counters.incompleteSnapshots++;
    for (const u of p.held) this.applyUpdate(u);
  }

  /** A whole snapshot: the bucket's keys are replaced by its items, stamped with the snapshot's seq. */
  private replaceBucket(p: PendingSnapshot): void {
    const { mask, hash } = p.begin;
    const inBucket = (route: number): boolean => ((route & mask) >>> 0) === hash;
    for (const [map, entries] of this.maps) {
      if (map !== '') {
        if (inBucket(itemRouteHashLatin1(map, ''))) this.maps.delete(map);
        continue;
      }
      for (const [key, e] of entries) if (inBucket(e.route)) entries.delete(key);
      if (entries.size === 0) this.maps.delete(map);
    }
    for (const r of p.items) {
      if (r.snapshot.part !== 'item') continue;
      const it = r.snapshot.item;
      this.mapOf(it.map, true).set(it.key, { route: itemRouteHashLatin1(it.map, it.key), expiresAtMs: it.expiresAtMs, value: it.value, mask, hash, epoch: r.epoch, seq: r.seq });
    }
    this.counters.snapshots++;
    this.counters.snapshotItems += p.items.length;
    this.histories.snapshot(p.begin);
  }

  private applyUpdate(rec: UpdateRecord): void {
    if (this.histories.covered(rec)) {
      this.counters.coveredBySnapshot++;
      return;
    }
    this.histories.update(rec);
    const u = rec.update;
    switch (u.op) {
      case UpdateOp.set:
        this.counters.sets++;
        if (u.value === null) return;
        this.mapOf(u.map, true).set(u.key, { route: itemRouteHashLatin1(u.map, u.key), expiresAtMs: u.expiresAtMs, value: u.value, mask: rec.mask, hash: rec.hash, epoch: rec.epoch, seq: rec.seq });
        return;
      case UpdateOp.delete:
      case UpdateOp.expired:
      case UpdateOp.evicted:
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

  private changeExpiry(rec: UpdateRecord, map: string, key: string, expiresAtMs: number): void {
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
  /** Ranges of bucket histories no snapshot closed: the result may differ from the cluster there. */
  gaps: GapReport[];
}

/**
 * Reads the files in the order given into a CompactState. Log files of one series must come in
 * increasing number order; a torn tail of the newest log file (or of the last file of a logger
 * run) is reported and skipped; other damage throws LogReadError naming the file and offset.
 */
export async function loadFiles(files: readonly string[], onTorn?: (t: TornReport) => void): Promise<{ state: CompactState; report: LoadReport }> {
  const state = new CompactState();
  const order = new LogOrder();
  let first = true;
  const summary = await readFiles(files, {
    onFile: (file, h) => {
      if (first && h.kind !== FileKind.log) state.histories.baseGiven = true;
      first = false;
      order.check(file, h);
    },
    onRecord: (rec) => state.apply(rec),
    onTorn,
  });
  state.finish();
  return { state, report: { files: summary.files, records: summary.records, torn: summary.torn, missingLogFiles: order.missing, gaps: state.histories.gaps() } };
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
