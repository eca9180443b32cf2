// `--report FILE.html`: a small self-contained HTML page: the settings given, the cluster and the
// machine measured, the load figures under the names people read, throughput and latency over time
// (every 100 ms, every round) as inline SVG, the latency histogram and the check table. No scripts,
// no external resources. Each chart and line carries data-chart / data-series / data-points.
import type { CheckResult } from './check.js';
import type { ClusterFacts, MachineFacts } from './environment.js';
import { TIMELINE_INTERVAL_MS, type HistogramBar, type TimelinePoint } from './latency.js';
import { FIGURE_LABELS, FIGURES, type Aggregate, type Ratio } from './summary.js';

export interface ReportTarget {
  name: string;
  aggregate: Aggregate;
  /** The timeline of every round, in order. */
  rounds: TimelinePoint[][];
  /** The latency histogram of the median round. */
  bars: HistogramBar[];
}

export interface ReportInput {
  title: string;
  generatedAt: string;
  /** Readable setting names and values, only those given or that shape the figures. */
  settings: [string, string][];
  cluster: ClusterFacts | null;
  machine: MachineFacts;
  check: CheckResult[] | null;
  targets: ReportTarget[];
  ratio: Ratio | null;
}

const W = 760;
const H = 280;
const M = { left: 60, right: 20, top: 20, bottom: 40 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
/** Legend entries drawn at most (each line also has its name as a tooltip). */
const LEGEND_MAX = 8;

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(3)));
}

interface Series {
  label: string;
  color: string;
  dashed: boolean;
  points: [number, number][];
}

function axes(xTicks: [number, string][], yTicks: [number, string][], xLabel: string, yLabel: string): string {
  const parts: string[] = [];
  parts.push(`<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#333"/>`);
  for (const [x, t] of xTicks) parts.push(`<text x="${x}" y="${H - M.bottom + 16}" font-size="11" text-anchor="middle">${esc(t)}</text>`);
  for (const [y, t] of yTicks) {
    parts.push(`<line x1="${M.left}" y1="${y}" x2="${W - M.right}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${esc(t)}</text>`);
  }
  parts.push(`<text x="${(W + M.left) / 2}" y="${H - 6}" font-size="12" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(`<text x="14" y="${H / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${H / 2})">${esc(yLabel)}</text>`);
  return parts.join('');
}

function legend(items: { label: string; color: string; dashed: boolean }[]): string {
  return items
    .map((s, i) => {
      const x = M.left + 10 + (i % 4) * 170;
      const y = M.top + 6 + Math.floor(i / 4) * 14;
      const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
      return `<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${s.color}" stroke-width="2"${dash}/><text x="${x + 30}" y="${y + 4}" font-size="11">${esc(s.label)}</text>`;
    })
    .join('');
}

function linearTicks(max: number, count: number): number[] {
  const step = max / count;
  return Array.from({ length: count + 1 }, (_v, i) => i * step);
}

/** One line per target and round (and per percentile for latency), over time. */
function timeChart(kind: 'throughput' | 'latency', targets: readonly ReportTarget[]): string {
  const series: Series[] = [];
  targets.forEach((t, i) => {
    const color = COLORS[i % COLORS.length]!;
    t.rounds.forEach((timeline, r) => {
      const name = t.rounds.length > 1 ? `${t.name} round ${r + 1}` : t.name;
      if (kind === 'throughput') series.push({ label: name, color, dashed: r % 2 === 1, points: timeline.map((p) => [p.sec, p.opsPerSec]) });
      else {
        series.push({ label: `${name} p50`, color, dashed: false, points: timeline.map((p) => [p.sec, p.p50Ms]) });
        series.push({ label: `${name} p99`, color, dashed: true, points: timeline.map((p) => [p.sec, p.p99Ms]) });
      }
    });
  });
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `<p>No timeline (the load ran for less than ${TIMELINE_INTERVAL_MS} ms).</p>`;
  const xMax = Math.max(0.1, ...all.map((p) => p[0]));
  const yMax = Math.max(0.001, ...all.map((p) => p[1])) * 1.1;
  const sx = (x: number): number => M.left + (x / xMax) * (W - M.left - M.right);
  const sy = (y: number): number => H - M.bottom - (y / yMax) * (H - M.top - M.bottom);
  const lines = series.map((s) => {
    const pts = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    const attrs = `data-series="${esc(s.label)}" data-points="${s.points.length}"`;
    return `<polyline ${attrs} fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts}"><title>${esc(s.label)}</title></polyline>`;
  });
  const xTicks = linearTicks(xMax, 5).map((x): [number, string] => [sx(x), `${num(x)} s`]);
  const yTicks = linearTicks(yMax, 4).map((y): [number, string] => [sy(y), kind === 'throughput' ? Math.round(y).toLocaleString('en-US') : num(y)]);
  const yLabel = kind === 'throughput' ? 'ops/s' : 'latency (ms)';
  return svg(axes(xTicks, yTicks, 'time (s)', yLabel) + lines.join('') + legend(series.slice(0, LEGEND_MAX)), kind);
}

/** Share of requests per latency bucket (log scale of ms), every target overlaid. */
export function histogramChart(targets: readonly ReportTarget[]): string {
  const bars = targets.flatMap((t) => t.bars);
  if (bars.length === 0) return '<p>No requests were timed.</p>';
  const lo = Math.log10(Math.min(...bars.map((b) => b.fromMs)));
  const hi = Math.log10(Math.max(...bars.map((b) => b.toMs)));
  const span = Math.max(hi - lo, 0.1);
  const sx = (ms: number): number => M.left + ((Math.log10(ms) - lo) / span) * (W - M.left - M.right);
  const shares = targets.map((t) => {
    const total = t.bars.reduce((a, b) => a + b.count, 0) || 1;
    return t.bars.map((b) => ({ ...b, share: b.count / total }));
  });
  const yMax = Math.max(0.01, ...shares.flat().map((b) => b.share)) * 1.1;
  const sy = (y: number): number => H - M.bottom - (y / yMax) * (H - M.top - M.bottom);
  const rects = shares.flatMap((list, i) =>
    list.map((b) => {
      const x = sx(b.fromMs);
      const w = Math.max(1, sx(b.toMs) - x - 1);
      return `<rect x="${x.toFixed(1)}" y="${sy(b.share).toFixed(1)}" width="${w.toFixed(1)}" height="${(H - M.bottom - sy(b.share)).toFixed(1)}" fill="${COLORS[i % COLORS.length]}" fill-opacity="0.55"/>`;
    }),
  );
  const xTicks: [number, string][] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) >= lo && Math.log10(v) <= hi) xTicks.push([sx(v), `${num(v)} ms`]);
    }
  }
  const yTicks = linearTicks(yMax, 4).map((y): [number, string] => [sy(y), `${(y * 100).toFixed(0)}%`]);
  const keys = targets.map((t, i) => ({ label: t.name, color: COLORS[i % COLORS.length]!, dashed: false }));
  return svg(axes(xTicks, yTicks, 'latency (ms, log scale)', 'share of requests') + rects.join('') + legend(keys), 'histogram');
}

function svg(body: string, chart: string): string {
  return `<svg data-chart="${chart}" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">${body}</svg>`;
}

function table(rows: string[][]): string {
  const [head, ...rest] = rows;
  const th = head!.map((c) => `<th>${esc(c)}</th>`).join('');
  const trs = rest.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${trs}</tbody></table>`;
}

function loadRows(input: ReportInput): string[][] {
  const head = ['figure', ...input.targets.map((t) => (t.aggregate.rounds > 1 ? `${t.name} (median of ${t.aggregate.rounds} rounds, min-max)` : t.name))];
  if (input.ratio) head.push('ratio');
  const rows = [head];
  for (const f of FIGURES) {
    const row = [FIGURE_LABELS[f], ...input.targets.map((t) => (t.aggregate.rounds > 1 ? `${figure(f, t.aggregate[f])} (${figure(f, t.aggregate.min[f])}-${figure(f, t.aggregate.max[f])})` : figure(f, t.aggregate[f])))];
    if (input.ratio) row.push(input.ratio[f] === null ? '-' : num(input.ratio[f]!));
    rows.push(row);
  }
  return rows;
}

function figure(f: (typeof FIGURES)[number], n: number): string {
  return f === 'opsPerSec' || f === 'errors' || f === 'retries' ? Math.round(n).toLocaleString('en-US') : num(n);
}

function environmentRows(input: ReportInput): string[][] {
  const m = input.machine;
  const rows = [['', 'measured']];
  if (input.cluster !== null) {
    const versions = input.cluster.versions.length === 0 ? 'unknown (stats need role admin)' : input.cluster.versions.map((v) => `${v.version} (${v.nodes} node${v.nodes === 1 ? '' : 's'})`).join(', ');
    rows.push(['cluster nodes', String(input.cluster.nodes)], ['OpenCluster version', versions]);
  }
  rows.push(['CPU', m.cpu], ['cores', String(m.cores)], ['Node.js', m.node], ['OS', m.os], ['memory', `${m.memoryGb} GiB`]);
  return rows;
}

export function renderReport(input: ReportInput): string {
  const settings = input.settings;
  const check = input.check ? `<h2>Feature check</h2>${table([['check', 'result', 'ms', 'detail'], ...input.check.map((r) => [r.name, r.status, String(r.ms), r.detail])])}` : '';
  const load =
    input.targets.length > 0
      ? `<h2>Load</h2>${table(loadRows(input))}<h3>Throughput over time (ops/s, every ${TIMELINE_INTERVAL_MS} ms, every round)</h3>${timeChart('throughput', input.targets)}<h3>Latency over time (p50 and p99, every ${TIMELINE_INTERVAL_MS} ms, every round)</h3>${timeChart('latency', input.targets)}<h3>Latency histogram (median round)</h3>${histogramChart(input.targets)}`
      : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:900px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}th{background:#f4f4f4}</style>
</head><body><h1>${esc(input.title)}</h1><p>${esc(input.generatedAt)}</p>
<h2>Settings</h2>${table([['setting', 'value'], ...settings])}
<h2>Cluster and machine</h2>${table(environmentRows(input))}
${check}
${load}
</body></html>
`;
}
