// Per-bucket sequence tracking of the logging node: tells an update in order from a gap, a
// duplicate, a late arrival that fills an earlier gap, a rewind and a restarted history.
//
// BACKGROUND: every update carries its bucket (mask, hash), the bucket's epoch and a sequence
// number that continues across owners. Updates of one bucket reach the logger over the link of
// whichever node is primary, so around a hand-over two links may deliver out of order; after a
// failover the new primary may continue below what the logger already holds; after a whole
// cluster restarts, epochs and seqs may start again from the beginning.
// BEHAVIOR: per bucket we keep the last (epoch, seq), a bounded set of seqs skipped by a gap and
// the content checksums of the last few records. Newer (epoch, seq) with seq = last+1: in order.
// Newer with a larger seq: a gap (its seqs are remembered as missing). Not newer but missing:
// late, accepted, the gap shrinks. The same (epoch, seq, checksum) as a recent record: a
// duplicate, skipped (the only verdict that drops a record: only a proven repeat is dropped).
// Anything else older: the history went back (a restart), accepted, and tracking restarts there.
// A newer epoch with a seq not above the last: a rewind (the new primary lost updates the logger
// already holds), accepted and counted.
// SNAPSHOTS: a snapshot of the bucket at (epoch, seq) sets the bucket there and forgets the missing
// seqs at or below it; later updates not newer than it are 'covered' (already in it) and not
// written: the seam of the snapshot and the stream.

/** How many missing seqs one bucket remembers; past it the oldest are forgotten (and counted). */
export const MISSING_SEQS_PER_BUCKET_MAX = 4096;
/** How many recent records per bucket are remembered to prove a duplicate. */
export const RECENT_RECORDS_PER_BUCKET = 4;

export type Verdict =
  | { kind: 'first' }
  | { kind: 'inOrder' }
  | { kind: 'gap'; lastEpoch: number; expected: number; got: number; afterRestart: boolean }
  | { kind: 'late' }
  | { kind: 'duplicate' }
  | { kind: 'restarted'; lastEpoch: number; last: number }
  | { kind: 'rewind'; lastEpoch: number; last: number }
  | { kind: 'covered' };

interface Recent {
  epoch: number;
  seq: number;
  crc: number;
}

interface BucketState {
  epoch: number;
  seq: number;
  missing: Set<number>;
  recent: Recent[];
  /** Seeded from the files of an earlier logger run, nothing received yet. */
  seeded: boolean;
  /** The (epoch, seq) of the bucket's last snapshot. */
  floor: { epoch: number; seq: number } | undefined;
}

export interface TrackerCounters {
  inOrder: number;
  gaps: number;
  missedUpdates: number;
  late: number;
  duplicates: number;
  restarts: number;
  rewinds: number;
  forgottenMissing: number;
  snapshots: number;
  covered: number;
}

export function bucketName(mask: number, hash: number): string {
  return `${mask.toString(16)}/${hash.toString(16)}`;
}

export class BucketTracker {
  private readonly buckets = new Map<string, BucketState>();
  readonly counters: TrackerCounters = { inOrder: 0, gaps: 0, missedUpdates: 0, late: 0, duplicates: 0, restarts: 0, rewinds: 0, forgottenMissing: 0, snapshots: 0, covered: 0 };

  /** Seeds the last (epoch, seq) of a bucket found in the files of an earlier run (the newest one wins). */
  seed(mask: number, hash: number, epoch: number, seq: number): void {
    const key = bucketName(mask, hash);
    const had = this.buckets.get(key);
    if (had === undefined || newer(epoch, seq, had.epoch, had.seq)) {
      this.buckets.set(key, { epoch, seq, missing: new Set(), recent: [], seeded: true, floor: undefined });
    }
  }

  get bucketsKnown(): number {
    return this.buckets.size;
  }

  /**
   * Classifies one received update and records it. `crc` is the checksum of the encoded record;
   * the caller writes the record unless the verdict is 'duplicate'.
   */
  observe(mask: number, hash: number, epoch: number, seq: number, crc: number): Verdict {
    const key = bucketName(mask, hash);
    const st = this.buckets.get(key);
    if (st === undefined) {
      this.buckets.set(key, { epoch, seq, missing: new Set(), recent: [{ epoch, seq, crc }], seeded: false, floor: undefined });
      return { kind: 'first' };
    }
    if (st.floor !== undefined && !newer(epoch, seq, st.floor.epoch, st.floor.seq)) {
      this.counters.covered++;
      return { kind: 'covered' };
    }
    const verdict = this.classify(st, epoch, seq, crc);
    st.seeded = false;
    if (verdict.kind !== 'duplicate') remember(st, { epoch, seq, crc });
    return verdict;
  }

  /**
   * A snapshot of the bucket at (epoch, seq) begins: the bucket continues from there. Returns how
   * far the bucket was (undefined: never seen) and how many missing seqs it closes.
   */
  snapshot(mask: number, hash: number, epoch: number, seq: number): { last: { epoch: number; seq: number; seeded: boolean } | undefined; closed: number } {
    const key = bucketName(mask, hash);
    const st = this.buckets.get(key);
    this.counters.snapshots++;
    if (st === undefined) {
      this.buckets.set(key, { epoch, seq, missing: new Set(), recent: [], seeded: false, floor: { epoch, seq } });
      return { last: undefined, closed: 0 };
    }
    const last = { epoch: st.epoch, seq: st.seq, seeded: st.seeded };
    let closed = 0;
    for (const s of st.missing) {
      if (s > seq) continue;
      st.missing.delete(s);
      closed++;
    }
    st.epoch = epoch;
    st.seq = seq;
    st.seeded = false;
    st.floor = { epoch, seq };
    return { last, closed };
  }

  private classify(st: BucketState, epoch: number, seq: number, crc: number): Verdict {
    if (newer(epoch, seq, st.epoch, st.seq)) return this.advance(st, epoch, seq);
    if (st.recent.some((r) => r.epoch === epoch && r.seq === seq && r.crc === crc)) {
      this.counters.duplicates++;
      return { kind: 'duplicate' };
    }
    if (st.missing.delete(seq)) {
      this.counters.late++;
      return { kind: 'late' };
    }
    const verdict: Verdict = { kind: 'restarted', lastEpoch: st.epoch, last: st.seq };
    this.counters.restarts++;
    st.epoch = epoch;
    st.seq = seq;
    st.missing.clear();
    return verdict;
  }

  private advance(st: BucketState, epoch: number, seq: number): Verdict {
    const last = st.seq;
    const lastEpoch = st.epoch;
    st.epoch = epoch;
    st.seq = seq;
    if (seq === last + 1) {
      this.counters.inOrder++;
      return { kind: 'inOrder' };
    }
    if (seq > last + 1) {
      this.counters.gaps++;
      this.counters.missedUpdates += seq - last - 1;
      this.rememberMissing(st, last + 1, seq);
      return { kind: 'gap', lastEpoch, expected: last + 1, got: seq, afterRestart: st.seeded };
    }
    this.counters.rewinds++;
    return { kind: 'rewind', lastEpoch, last };
  }

  /** Remembers seqs [from, to) as missing, at most MISSING_SEQS_PER_BUCKET_MAX per bucket. */
  private rememberMissing(st: BucketState, from: number, to: number): void {
    const start = Math.max(from, to - MISSING_SEQS_PER_BUCKET_MAX);
    this.counters.forgottenMissing += start - from;
    for (let s = start; s < to; s++) st.missing.add(s);
    let excess = st.missing.size - MISSING_SEQS_PER_BUCKET_MAX;
    for (const s of st.missing) {
      if (excess-- <= 0) break;
      st.missing.delete(s);
      this.counters.forgottenMissing++;
    }
  }

  /** Seqs currently missing across all buckets (gaps not filled by late arrivals). */
  get missingNow(): number {
    let n = 0;
    for (const st of this.buckets.values()) n += st.missing.size;
    return n;
  }
}

function remember(st: BucketState, r: Recent): void {
  st.recent.push(r);
  if (st.recent.length > RECENT_RECORDS_PER_BUCKET) st.recent.shift();
}

/** Whether (e1, s1) comes after (e2, s2): a newer epoch wins, then a larger seq. */
export function newer(e1: number, s1: number, e2: number, s2: number): boolean {
  return e1 > e2 || (e1 === e2 && s1 > s2);
}
