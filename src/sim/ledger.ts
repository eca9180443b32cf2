// Ledger: what the simulated clients wrote and what the cluster told them, per key, and the rule a
// value read (during the run, or from the store at its end) must obey: it is the last acknowledged
// write's value, or the value of a later write whose outcome is unknown; never an older value,
// never missing once a write was acknowledged. Each key has one writer whose operations are
// sequential, and every write's value is unique ("client/key#n"), so a value names its write.
import { assert } from '../shared/assert.js';

/** ack: acknowledged (full wait); unknown: may have been applied; refused: refused everywhere, never applied. */
export type WriteOutcome = 'pending' | 'ack' | 'unknown' | 'refused';

export interface WriteRecord {
  readonly key: string;
  readonly value: string;
  readonly startMs: number;
  endMs: number;
  outcome: WriteOutcome;
}

export interface ReadRecord {
  readonly key: string;
  /** Writes of the key begun before this read: the value must come from one of them (or none). */
  readonly writesBefore: number;
  readonly startMs: number;
}

export type ViolationKind = 'lost' | 'olderValue' | 'unexpectedValue' | 'staleRead' | 'replicaDiverged' | 'twoWriters' | 'notWhole' | 'notSettled' | 'crash';

export interface Violation {
  kind: ViolationKind;
  atMs: number;
  detail: string;
}

const WRITES_PER_KEY_MAX = 1_000_000;

export class Ledger {
  private readonly byKey = new Map<string, WriteRecord[]>();
  readonly violations: Violation[] = [];
  counts = { ack: 0, unknown: 0, refused: 0, reads: 0 };

  constructor(private readonly nowMs: () => number) {}

  keys(): string[] {
    return [...this.byKey.keys()].sort();
  }

  begin(key: string, value: string): WriteRecord {
    const list = this.list(key);
    const last = list[list.length - 1];
    assert(last === undefined || last.outcome !== 'pending', `two writes of ${key} at once (one writer per key)`);
    assert(list.length < WRITES_PER_KEY_MAX, `more than ${WRITES_PER_KEY_MAX} writes of ${key}`);
    const w: WriteRecord = { key, value, startMs: this.nowMs(), endMs: -1, outcome: 'pending' };
    list.push(w);
    return w;
  }

  end(w: WriteRecord, outcome: Exclude<WriteOutcome, 'pending'>): void {
    assert(w.outcome === 'pending', `write ${w.value} ended twice`);
    w.outcome = outcome;
    w.endMs = this.nowMs();
    this.counts[outcome]++;
  }

  beginRead(key: string): ReadRecord {
    return { key, writesBefore: this.list(key).length, startMs: this.nowMs() };
  }

  /** A read of key saw `seen` (null: no item) at node `from`. */
  endRead(r: ReadRecord, seen: string | null, from: string): void {
    this.counts.reads++;
    const why = this.judge(r.key, seen, r.writesBefore);
    if (why !== null) this.violations.push({ kind: 'staleRead', atMs: this.nowMs(), detail: `get ${r.key} at ${from} (begun ${r.startMs.toFixed(3)}): ${why}` });
  }

  /** The key's value at the end of the run (from its primary); records a violation if it breaks the rule. */
  checkFinal(key: string, seen: string | null, where: string): void {
    const list = this.list(key);
    assert(list.every((w) => w.outcome !== 'pending'), `a write of ${key} is still pending at the final check`);
    const why = this.judge(key, seen, list.length);
    if (why === null) return;
    const lastAck = this.lastAck(list, list.length);
    const kind = seen === null ? 'lost' : list.some((w) => w.value === seen) ? 'olderValue' : 'unexpectedValue';
    this.violations.push({ kind, atMs: this.nowMs(), detail: `${key} at ${where}: ${why}${lastAck >= 0 ? ` (acknowledged at ${list[lastAck]!.endMs.toFixed(3)})` : ''}` });
  }

  /** Why `seen` breaks the rule for the first `writes` writes of key, or null if it does not. */
  private judge(key: string, seen: string | null, writes: number): string | null {
    const list = this.list(key);
    const last = this.lastAck(list, writes);
    if (seen === null) return last < 0 ? null : `missing; the last acknowledged value is ${list[last]!.value}`;
    for (let i = Math.max(0, last); i < writes; i++) {
      const w = list[i]!;
      if (w.value === seen && (i === last || w.outcome === 'unknown' || w.outcome === 'pending')) return null;
    }
    const at = list.findIndex((w) => w.value === seen);
    if (at < 0) return `holds ${seen}, which no client wrote to it`;
    const w = list[at]!;
    if (at >= writes) return `holds ${seen}, written after the read began`;
    return `holds ${seen} (${w.outcome}), older than the last acknowledged value ${last >= 0 ? list[last]!.value : '(none)'}`;
  }

  private lastAck(list: WriteRecord[], writes: number): number {
    for (let i = Math.min(writes, list.length) - 1; i >= 0; i--) if (list[i]!.outcome === 'ack') return i;
    return -1;
  }

  private list(key: string): WriteRecord[] {
    let list = this.byKey.get(key);
    if (list === undefined) {
      list = [];
      this.byKey.set(key, list);
    }
    return list;
  }
}
