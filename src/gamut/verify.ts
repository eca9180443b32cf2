// Chaos mode's ledger: every acknowledged write (key -> last acknowledged sequence number) and the
// writes that failed indeterminately; the final read-back classifies each key as ok, lost or in doubt.
import { assert } from '../shared/assert.js';

/** Indeterminate writes remembered per key since its last ack (older ones are superseded anyway). */
const PENDING_PER_KEY_MAX = 64;
/** Sample of lost keys kept for the report. */
const LOST_SAMPLE_MAX = 10;

interface KeyState {
  /** Sequence number of the last acknowledged write, -1 if none. */
  acked: number;
  /** Writes issued after the last ack that failed indeterminately. */
  pending: number[];
}

export interface VerifyReport {
  /** Keys read back at the end. */
  checked: number;
  /** Acknowledged value missing or older than the last ack at the final read. */
  lost: number;
  /** Reads during the load that returned an older value than one already acknowledged. */
  stale: number;
  /** Writes that failed indeterminately (may or may not have been applied). */
  indeterminate: number;
  /** Final reads that found an indeterminate write applied. */
  indeterminateApplied: number;
  /** Keys whose final read kept failing. */
  unreadable: number;
  acked: number;
  lostSample: string[];
}

export type ReadOutcome = { ok: true; value: unknown } | { ok: false };

export class Ledger {
  private readonly keys = new Map<string, KeyState>();
  private seq = 0;
  private ackedWrites = 0;
  private indeterminateWrites = 0;
  private staleReads = 0;

  constructor(private readonly valueBytes: number) {
    assert(valueBytes >= 1, 'verify values need at least one byte');
  }

  /** A fresh value for the next write: its sequence number, padded to the value size. */
  nextValue(): { seq: number; value: string } {
    const seq = ++this.seq;
    const head = `${seq}:`;
    return { seq, value: head.length >= this.valueBytes ? head : head.padEnd(this.valueBytes, 'v') };
  }

  private state(key: string): KeyState {
    let s = this.keys.get(key);
    if (s === undefined) {
      s = { acked: -1, pending: [] };
      this.keys.set(key, s);
    }
    return s;
  }

  onAck(key: string, seq: number): void {
    this.ackedWrites++;
    promote(this.state(key), seq);
  }

  onIndeterminate(key: string, seq: number): void {
    const s = this.state(key);
    this.indeterminateWrites++;
    if (s.pending.length >= PENDING_PER_KEY_MAX) s.pending.shift();
    s.pending.push(seq);
  }

  /** A read during the load, issued after every write to this key had settled. */
  onRead(key: string, value: unknown): void {
    const s = this.keys.get(key);
    if (s === undefined) return;
    const seq = decodeSeq(value);
    if (seq !== null && s.pending.includes(seq)) {
      // An indeterminate write is now known applied: it is the value to keep from here on.
      promote(s, seq);
      return;
    }
    if (s.acked >= 0 && (seq === null || seq < s.acked)) this.staleReads++;
  }

  /** Reads every key back (through `read`, bounded concurrency by the caller) and classifies it. */
  async finalCheck(read: (key: string) => Promise<ReadOutcome>, window: number): Promise<VerifyReport> {
    const report: VerifyReport = {
      checked: 0,
      lost: 0,
      stale: this.staleReads,
      indeterminate: this.indeterminateWrites,
      indeterminateApplied: 0,
      unreadable: 0,
      acked: this.ackedWrites,
      lostSample: [],
    };
    const entries = [...this.keys.entries()];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < entries.length) {
        const [key, s] = entries[next++]!;
        this.classify(key, s, await read(key), report);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(window, entries.length)) }, worker));
    return report;
  }

  private classify(key: string, s: KeyState, outcome: ReadOutcome, report: VerifyReport): void {
    report.checked++;
    if (!outcome.ok) {
      report.unreadable++;
      return;
    }
    const seq = decodeSeq(outcome.value);
    if (seq !== null && seq === s.acked) return;
    if (seq !== null && s.pending.includes(seq)) {
      report.indeterminateApplied++;
      return;
    }
    if (s.acked < 0) return; // never acknowledged: absence is allowed
    report.lost++;
    if (report.lostSample.length < LOST_SAMPLE_MAX) report.lostSample.push(`${key}: acked #${s.acked}, read ${seq === null ? 'nothing' : `#${seq}`}`);
  }
}

/** Makes `seq` the key's latest known value; indeterminate writes older than it are superseded. */
function promote(s: KeyState, seq: number): void {
  if (seq <= s.acked) return;
  s.acked = seq;
  s.pending = s.pending.filter((p) => p > seq);
}

/** The sequence number a verify value carries, or null for a missing or foreign value. */
export function decodeSeq(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const colon = value.indexOf(':');
  if (colon <= 0) return null;
  const n = Number(value.slice(0, colon));
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}
