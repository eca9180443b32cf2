// `npm run bench:compare`'s arithmetic and tables: the seeded shuffle of the run order, the ratio per
// round (ours / redis, same round), median and min-max of each side and of the ratios, and the text
// tables with the machine written above each.
import type { CaseSpec, SystemName } from './compare-cases.js';
import type { RunRecord } from './compare-run.js';
import { Rng } from '../src/gamut/workload.js';

/** murmur3's 32-bit finaliser: small neighbouring seeds start xorshift far apart (raw, they give small first numbers). */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** xorshift32 (workload.ts's Rng) of the mixed seed: the same seed gives the same run order. */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(mix32(seed >>> 0));
  return () => rng.next();
}

export interface Slot {
  round: number;
  case: CaseSpec;
  system: SystemName;
}

/** Every (case, system) once per round; rounds one after another, each in its own shuffled order (Fisher-Yates). */
export function schedule(cases: readonly CaseSpec[], rounds: number, seed: number): Slot[] {
  const rnd = seededRandom(seed);
  const out: Slot[] = [];
  for (let round = 1; round <= rounds; round++) {
    const slots: Slot[] = cases.flatMap((c) => (['ours', 'redis'] as const).map((system) => ({ round, case: c, system })));
    for (let i = slots.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [slots[i], slots[j]] = [slots[j]!, slots[i]!];
    }
    out.push(...slots);
  }
  return out;
}

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stat(xs: readonly number[]): Stat | null {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

export const METRICS = ['opsPerSec', 'mbPerSec', 'p50Ms', 'p99Ms', 'serverCpuUsPerOp', 'loadCpuUsPerOp', 'rssBytesPerItem', 'statsBytesPerItem'] as const;
export type Metric = (typeof METRICS)[number];
type Stats = Partial<Record<Metric, Stat>>;

export interface CaseSummary {
  name: string;
  kind: CaseSpec['kind'];
  text: string;
  ours: Stats;
  redis: Stats;
  /** Over rounds where both sides succeeded: ours / redis of that round. */
  ratio: Stats;
  failedRuns: number;
}

function metricsOf(kind: CaseSpec['kind']): readonly Metric[] {
  return kind === 'memory' ? ['rssBytesPerItem', 'statsBytesPerItem'] : ['opsPerSec', 'mbPerSec', 'p50Ms', 'p99Ms', 'serverCpuUsPerOp', 'loadCpuUsPerOp'];
}

export function summarize(spec: CaseSpec, runs: readonly RunRecord[]): CaseSummary {
  const mine = runs.filter((r) => r.case === spec.name);
  const ok = (system: SystemName): RunRecord[] => mine.filter((r) => r.ok && r.system === system);
  const summary: CaseSummary = { name: spec.name, kind: spec.kind, text: spec.text, ours: {}, redis: {}, ratio: {}, failedRuns: mine.filter((r) => !r.ok).length };
  for (const m of metricsOf(spec.kind)) {
    const o = stat(ok('ours').map((r) => r[m] ?? NaN));
    const r = stat(ok('redis').map((x) => x[m] ?? NaN));
    if (o) summary.ours[m] = o;
    if (r) summary.redis[m] = r;
    const ratios: number[] = [];
    for (const a of ok('ours')) {
      const b = ok('redis').find((x) => x.round === a.round);
      const av = a[m];
      const bv = b?.[m];
      if (av !== undefined && bv !== undefined && bv !== 0) ratios.push(av / bv);
    }
    const q = stat(ratios);
    if (q) summary.ratio[m] = q;
  }
  return summary;
}

type Fmt = (n: number) => string;
const int: Fmt = (n) => Math.round(n).toLocaleString('en-US');
const f1: Fmt = (n) => n.toFixed(1);
const f2: Fmt = (n) => n.toFixed(2);
const f3: Fmt = (n) => n.toFixed(3);

function cell(s: Stat | undefined, f: Fmt): string {
  if (!s) return '-';
  return s.n === 1 ? f(s.median) : `${f(s.median)} (${f(s.min)}-${f(s.max)})`;
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(rows[0]!), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function tables(header: string, summaries: readonly CaseSummary[]): string {
  const out: string[] = [];
  const timed = summaries.filter((s) => s.kind !== 'memory');
  if (timed.length > 0) {
    const rows = [['case', 'ours ops/s', 'redis ops/s', 'ratio', 'ours MB/s', 'redis MB/s', 'ours p99 ms', 'redis p99 ms', 'p99 ratio', 'fail']];
    for (const s of timed)
      rows.push([s.name, cell(s.ours.opsPerSec, int), cell(s.redis.opsPerSec, int), cell(s.ratio.opsPerSec, f2), cell(s.ours.mbPerSec, f1), cell(s.redis.mbPerSec, f1),
        cell(s.ours.p99Ms, f3), cell(s.redis.p99Ms, f3), cell(s.ratio.p99Ms, f2), String(s.failedRuns)]);
    out.push(header, '', table(rows), '', 'ops/s of batch cases: batches/s (100 keys each); ratio = ours / redis of the same round (ops/s: above 1 is better for ours; p99: below 1); fail = runs that failed', '');
    const cpu = [['case', 'ours node us/op', 'redis us/op', 'ratio', 'ours client us/op', 'ioredis us/op', 'ratio']];
    for (const s of timed)
      cpu.push([s.name, cell(s.ours.serverCpuUsPerOp, f2), cell(s.redis.serverCpuUsPerOp, f2), cell(s.ratio.serverCpuUsPerOp, f2),
        cell(s.ours.loadCpuUsPerOp, f2), cell(s.redis.loadCpuUsPerOp, f2), cell(s.ratio.loadCpuUsPerOp, f2)]);
    out.push(header, '', table(cpu), '', 'CPU (user + system) per request over the timed phase only, microseconds: server from /proc/<pid>/stat, load process from process.cpuUsage(); batch cases: per batch', '');
  }
  const mem = summaries.filter((s) => s.kind === 'memory');
  if (mem.length > 0) {
    const rows = [['case', 'ours RSS B/item', 'redis RSS B/item', 'ratio', 'ours stats B/item', 'ours stats / RSS', 'redis used_memory B/item', 'fail']];
    for (const s of mem) {
      const o = s.ours.rssBytesPerItem;
      const st = s.ours.statsBytesPerItem;
      const own = o && st ? f2(st.median / o.median) : '-';
      rows.push([s.name, cell(o, int), cell(s.redis.rssBytesPerItem, int), cell(s.ratio.rssBytesPerItem, f2), cell(st, int), own, cell(s.redis.statsBytesPerItem, int), String(s.failedRuns)]);
    }
    out.push(header, '', table(rows), '', "RSS growth of the server per item over the fill (from /proc/<pid>/stat, before and after); stats: the node's own `stats` memoryBytes.data; Redis: INFO used_memory", '');
  }
  return out.join('\n');
}
