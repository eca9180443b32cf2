// Latency recording for gamut's load phase: an HDR histogram in microseconds, a timeline (ops/s,
// p50 and p99 of every 100 ms) and coarse log buckets for the HTML report's histogram chart.
import { build, type Histogram } from 'hdr-histogram-js';

/** Highest latency tracked, in microseconds (one hour); larger values are clamped. */
const HIGHEST_US = 3_600_000_000;
/** The timeline's resolution: one point per this many ms. */
export const TIMELINE_INTERVAL_MS = 100;
/** Timeline length bound: the first hour of a round at 100 ms. */
export const TIMELINE_POINTS_MAX = 36_000;
/** Log buckets: four per power of two, from 1 us to 2^32 us. */
const BUCKETS_PER_OCTAVE = 4;
const BUCKET_COUNT = 32 * BUCKETS_PER_OCTAVE + 1;

export interface TimelinePoint {
  /** Seconds since the load phase started, at the end of the interval. */
  sec: number;
  /** Requests completed in the interval, and as a rate. */
  ops: number;
  opsPerSec: number;
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
  private lastTickSec = 0;
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

  /** Closes the current interval (since the last tick) as a timeline point ending at `sec`. */
  tick(sec: number): void {
    if (this.timeline.length >= TIMELINE_POINTS_MAX) return;
    const empty = this.intervalOps === 0;
    const spanSec = Math.max(sec - this.lastTickSec, 1e-3);
    this.lastTickSec = sec;
    this.timeline.push({
      sec,
      ops: this.intervalOps,
      opsPerSec: Math.round(this.intervalOps / spanSec),
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
