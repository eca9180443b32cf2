// Load results over rounds: median and min-max of each figure, the ours/redis ratio, and the text table.
import type { LoadResult } from './load.js';

export const FIGURES = ['opsPerSec', 'p50Ms', 'p99Ms', 'p999Ms', 'maxMs', 'meanMs', 'errors', 'retries'] as const;
export type Figure = (typeof FIGURES)[number];
/** The name people read for each figure (reports, tables). */
export const FIGURE_LABELS: Readonly<Record<Figure, string>> = {
  opsPerSec: 'ops/s',
  p50Ms: 'p50 ms',
  p99Ms: 'p99 ms',
  p999Ms: 'p99.9 ms',
  maxMs: 'max ms',
  meanMs: 'mean ms',
  errors: 'errors',
  retries: 'retries',
};
/** Counts are summed over rounds (a median would hide a bad round); the rest take the median. */
const SUMMED: ReadonlySet<Figure> = new Set<Figure>(['errors', 'retries']);

export type Figures = Record<Figure, number>;

export interface Aggregate extends Figures {
  rounds: number;
  min: Figures;
  max: Figures;
  errorsByCode: Record<string, number>;
  perRound: Figures[];
}

/** ours / redis per figure; null where redis is 0 and ours is not. */
export type Ratio = Record<Figure, number | null>;

export function figuresOf(r: LoadResult): Figures {
  const out = {} as Figures;
  for (const f of FIGURES) out[f] = r[f];
  return out;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function aggregate(results: readonly LoadResult[]): Aggregate {
  const perRound = results.map(figuresOf);
  const center = {} as Figures;
  const min = {} as Figures;
  const max = {} as Figures;
  for (const f of FIGURES) {
    const values = perRound.map((r) => r[f]);
    center[f] = SUMMED.has(f) ? values.reduce((a, b) => a + b, 0) : round3(median(values));
    min[f] = Math.min(...values);
    max[f] = Math.max(...values);
  }
  const errorsByCode: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.errorsByCode)) errorsByCode[code] = (errorsByCode[code] ?? 0) + n;
  return { ...center, rounds: results.length, min, max, errorsByCode, perRound };
}

export function ratioOf(ours: Figures, redis: Figures): Ratio {
  const out = {} as Ratio;
  for (const f of FIGURES) {
    const a = ours[f];
    const b = redis[f];
    out[f] = b === 0 ? (a === 0 ? 1 : null) : round3(a / b);
  }
  return out;
}

/** The round whose ops/s is the median: its timeline and histogram stand for the target. */
export function medianRound(results: readonly LoadResult[]): LoadResult | undefined {
  const sorted = [...results].sort((a, b) => a.opsPerSec - b.opsPerSec);
  return sorted[(sorted.length - 1) >> 1];
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function fmt(f: Figure, n: number): string {
  if (f === 'opsPerSec' || f === 'errors' || f === 'retries') return Math.round(n).toLocaleString('en-US');
  return n.toFixed(3);
}

function cell(a: Aggregate, f: Figure): string {
  if (a.rounds <= 1 || SUMMED.has(f)) return fmt(f, a[f]);
  return `${fmt(f, a[f])} (${fmt(f, a.min[f])}-${fmt(f, a.max[f])})`;
}


/** Plain-text table: one row per figure, a column per target, and the ratio. */
export function loadTable(ours: Aggregate, redis?: Aggregate, ratio?: Ratio): string {
  const head = ['figure', ours.rounds > 1 ? 'ours median (min-max)' : 'ours'];
  if (redis) head.push(redis.rounds > 1 ? 'redis median (min-max)' : 'redis', 'ours/redis');
  const rows = [head];
  for (const f of FIGURES) {
    const row = [FIGURE_LABELS[f], cell(ours, f)];
    if (redis && ratio) row.push(cell(redis, f), ratio[f] === null ? '-' : ratio[f]!.toFixed(2));
    rows.push(row);
  }
  return renderTable(rows);
}

/** Columns padded to width; by default the first is left-aligned and the rest right-aligned. */
export function renderTable(rows: readonly string[][], rightAligned?: readonly boolean[]): string {
  const widths = rows[0]!.map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const right = (i: number): boolean => rightAligned?.[i] ?? i > 0;
  const line = (r: readonly string[]): string => r.map((c, i) => (right(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}
