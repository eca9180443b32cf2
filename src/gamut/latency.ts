// Latency recording for gamut's load phase: an HDR histogram in microseconds, a per-second timeline
// (p50/p99 of each second) and coarse log buckets for the HTML report's histogram chart.
import { build, type Histogram } from 'hdr-histogram-js';

/** Highest latency tracked, in microseconds (one hour); larger values are clamped. */
const HIGHEST_US = 3_600_000_000;
/** Timeline length bound: one point per second. */
export const TIMELINE_POINTS_MAX = 24 * 3600;
/** Log buckets: four per power of two, from 1 us to 2^32 us. */
const BUCKETS_PER_OCTAVE = 4;
const BUCKET_COUNT = 32 * BUCKETS_PER_OCTAVE + 1;

export interface TimelinePoint {
  /** Seconds since the load phase started. */
  sec: number;
  ops: number;
  p50Ms: number;
  p99Ms: number;
}

export interface HistogramBar {
  /** Lower bound of the bucket, ms. */
  fromMs: number;
  toMs: number;
  count: number;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

function newHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, autoResize: false });
}

function usToMs(us: number): number {
  return Math.round(us) / 1000;
}

export class LatencyRecorder {
  private readonly total = newHistogram();
  private readonly interval = newHistogram();
  private readonly buckets = new Array<number>(BUCKET_COUNT).fill(0);
  private intervalOps = 0;
  readonly timeline: TimelinePoint[] = [];

  /** Records one request's latency given in milliseconds (fractional). */
  record(latencyMs: number): void {
    const us = Math.min(HIGHEST_US, Math.max(1, Math.round(latencyMs * 1000)));
    this.total.recordValue(us);
    this.interval.recordValue(us);
    this.intervalOps++;
    const idx = Math.min(BUCKET_COUNT - 1, Math.floor(Math.log2(us) * BUCKETS_PER_OCTAVE));
    this.buckets[idx] = this.buckets[idx]! + 1;
  }

  /** Closes the current one-second interval as a timeline point. */
  tick(sec: number): void {
    if (this.timeline.length >= TIMELINE_POINTS_MAX) return;
    const empty = this.intervalOps === 0;
    this.timeline.push({
      sec,
      ops: this.intervalOps,
      p50Ms: empty ? 0 : usToMs(percentileUs(this.interval, 50)),
      p99Ms: empty ? 0 : usToMs(percentileUs(this.interval, 99)),
    });
    this.interval.reset();
    this.intervalOps = 0;
  }

  summary(): LatencySummary {
    const h = this.total;
    const count = h.totalCount;
    if (count === 0) return { count: 0, p50Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0, meanMs: 0 };
    return {
      count,
      p50Ms: usToMs(percentileUs(h, 50)),
      p99Ms: usToMs(percentileUs(h, 99)),
      p999Ms: usToMs(percentileUs(h, 99.9)),
      maxMs: usToMs(h.maxValue),
      meanMs: Math.round(h.mean) / 1000,
    };
  }

  /** The non-empty log buckets, lowest first. */
  bars(): HistogramBar[] {
    const out: HistogramBar[] = [];
    for (let i = 0; i < BUCKET_COUNT; i++) {
      const count = this.buckets[i]!;
      if (count === 0) continue;
      const fromUs = 2 ** (i / BUCKETS_PER_OCTAVE);
      const toUs = 2 ** ((i + 1) / BUCKETS_PER_OCTAVE);
      out.push({ fromMs: fromUs / 1000, toMs: toUs / 1000, count });
    }
    return out;
  }

  destroy(): void {
    this.total.destroy();
    this.interval.destroy();
  }
}

/**
 * A percentile in us, never above the largest value recorded: HdrHistogram answers with the top of
 * the value's bucket, which can exceed the exact maximum it also keeps (p99.9 > max, seen in a test).
 */
function percentileUs(h: { getValueAtPercentile(p: number): number; maxValue: number }, p: number): number {
  return Math.min(h.getValueAtPercentile(p), h.maxValue);
}
