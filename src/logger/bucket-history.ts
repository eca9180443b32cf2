// compact's view of each bucket's history: the last (epoch, seq) applied, the seam of the bucket's
// last snapshot, and the ranges of seqs the files do not hold (gaps) or hold but the cluster lost
// (rewinds), until a later snapshot closes them.
//
// RULES (docs/file-format.md, "compact and inject"): an update not newer than the bucket's last
// snapshot (epoch, seq) is covered by it and skipped. A newer update with seq > last+1 opens a gap
// [last+1, seq-1]; an older one inside a gap fills that seq (late). A newer epoch with seq <= last
// is a rewind: the log holds seqs [seq, last] the new owner may not have. Without a base file
// (compacted or save) first, a bucket whose first record is an update with seq > 1 misses
// [1, seq-1]. A snapshot at seq S closes every missing range below or at S, and every rewind.
import { bucketName, newer } from './bucket-tracker.js';
import type { RecordStamp } from '../protocol/filefmt.js';

/** Ranges one bucket remembers; past it the two oldest are merged (the report covers more, never less). */
export const RANGES_PER_BUCKET_MAX = 1000;

export interface GapReport {
  /** "mask/hash" in hex, as the logger names buckets. */
  bucket: string;
  mask: number;
  hash: number;
  /** missing: the files lack these seqs; rewind: the files hold these seqs, a later owner may not. */
  kind: 'missing' | 'rewind';
  fromSeq: number;
  toSeq: number;
}

interface Range {
  kind: GapReport['kind'];
  from: number;
  to: number;
}

interface History {
  mask: number;
  hash: number;
  head: { epoch: number; seq: number } | undefined;
  floor: { epoch: number; seq: number } | undefined;
  ranges: Range[];
}

export class BucketHistories {
  private readonly buckets = new Map<string, History>();
  /** A compacted or save file came first: history before each bucket's first record is in it. */
  baseGiven = false;

  private of(s: RecordStamp): History {
    const key = bucketName(s.mask, s.hash);
    let h = this.buckets.get(key);
    if (h === undefined) {
      h = { mask: s.mask, hash: s.hash, head: undefined, floor: undefined, ranges: [] };
      this.buckets.set(key, h);
    }
    return h;
  }

  /** Whether an update of the bucket is covered by the bucket's last snapshot (then it is skipped). */
  covered(s: RecordStamp): boolean {
    const f = this.buckets.get(bucketName(s.mask, s.hash))?.floor;
    return f !== undefined && !newer(s.epoch, s.seq, f.epoch, f.seq);
  }

  /** Notes an update that is applied. */
  update(s: RecordStamp): void {
    const h = this.of(s);
    const head = h.head;
    h.head = { epoch: s.epoch, seq: s.seq };
    if (head === undefined) {
      if (!this.baseGiven && h.floor === undefined && s.seq > 1) add(h, { kind: 'missing', from: 1, to: s.seq - 1 });
      return;
    }
    if (newer(s.epoch, s.seq, head.epoch, head.seq)) {
      if (s.seq > head.seq + 1) add(h, { kind: 'missing', from: head.seq + 1, to: s.seq - 1 });
      else if (s.seq <= head.seq) add(h, { kind: 'rewind', from: s.seq, to: head.seq });
      return;
    }
    // Older: a late arrival fills its seq; anything else restarts the history here (a cluster restart).
    if (!fill(h, s.seq)) return;
    h.head = head;
  }

  /** A snapshot at (epoch, seq) replaced the bucket: ranges up to its seq are closed, later updates continue from it. */
  snapshot(s: RecordStamp): void {
    const h = this.of(s);
    h.floor = { epoch: s.epoch, seq: s.seq };
    if (h.head === undefined || newer(s.epoch, s.seq, h.head.epoch, h.head.seq)) h.head = { epoch: s.epoch, seq: s.seq };
    const keep: Range[] = [];
    for (const r of h.ranges) {
      // A rewind's extra updates were replaced with the rest of the bucket's state.
      if (r.to <= s.seq || r.kind === 'rewind') continue;
      keep.push(r.from <= s.seq ? { ...r, from: s.seq + 1 } : r);
    }
    h.ranges = keep;
  }

  /** Every range still open, by bucket then seq. */
  gaps(): GapReport[] {
    const out: GapReport[] = [];
    for (const [bucket, h] of this.buckets) {
      for (const r of h.ranges) out.push({ bucket, mask: h.mask, hash: h.hash, kind: r.kind, fromSeq: r.from, toSeq: r.to });
    }
    return out.sort((a, b) => a.mask - b.mask || a.hash - b.hash || a.fromSeq - b.fromSeq);
  }
}

function add(h: History, r: Range): void {
  h.ranges.push(r);
  if (h.ranges.length <= RANGES_PER_BUCKET_MAX) return;
  const [a, b] = h.ranges.splice(0, 2) as [Range, Range];
  h.ranges.unshift({ kind: a.kind === b.kind ? a.kind : 'missing', from: Math.min(a.from, b.from), to: Math.max(a.to, b.to) });
}

/** Removes seq from the missing range holding it; false when no range holds it. */
function fill(h: History, seq: number): boolean {
  const i = h.ranges.findIndex((r) => r.kind === 'missing' && r.from <= seq && seq <= r.to);
  if (i < 0) return false;
  const r = h.ranges[i]!;
  const parts: Range[] = [];
  if (r.from < seq) parts.push({ kind: 'missing', from: r.from, to: seq - 1 });
  if (seq < r.to) parts.push({ kind: 'missing', from: seq + 1, to: r.to });
  h.ranges.splice(i, 1, ...parts);
  return true;
}
