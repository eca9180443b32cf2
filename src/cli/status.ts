// `opencluster status`: every node with its state (dead ones too, until the cluster forgets them),
// bucket counts, items (primary and backup), transfer, the logging nodes, and a one-line verdict;
// text or --json; --watch redraws it every second. Exit 0 balanced, 1 balancing, 3 degraded.
import { Command } from 'commander';
import type { Cluster } from '../index.js';
import { UsageError } from './args.js';
import { dataCommand } from './data-commands.js';
import { printJson, printLine } from './output.js';
import { asAdmin, runCommand, type CommonOptions } from './session.js';
import { buildStatus, VERDICT_EXIT, type NodeRow, type StatusReport } from './status-report.js';

/** After connecting, how long status waits for the client to reach every node and fill its table. */
export const STATUS_SETTLE_MS = 1000;
const SETTLE_STEP_MS = 100;
const SETTLE_ROUNDS_MAX = 20;
/** --watch: one redraw this often. */
export const WATCH_INTERVAL_MS = 1000;
/** --watch-count: at most this many redraws (--watch alone runs until SIGINT). */
const WATCH_COUNT_MAX = 1_000_000;
/** ANSI: cursor home, clear the screen (a terminal only). */
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

interface StatusOptions extends CommonOptions {
  watch?: boolean;
  watchCount?: string;
}

export function registerStatus(program: Command): void {
  dataCommand(program, 'status', 'show every node, its buckets and items, and whether the cluster is balanced (exit 0 balanced, 1 balancing, 3 degraded)')
    .option('--watch', 'redraw every second until Ctrl-C')
    .option('--watch-count <n>', 'with --watch: stop after this many redraws')
    .action((opts: StatusOptions) =>
      runCommand(opts, () => watchCount(opts), async (cluster, count) => {
        if (count === null) return VERDICT_EXIT[(await showOnce(cluster, opts, false)).verdict];
        return VERDICT_EXIT[(await watch(cluster, opts, count)).verdict];
      }),
    );
}

/** null: no --watch; else how many redraws at most. */
function watchCount(opts: StatusOptions): number | null {
  if (opts.watchCount !== undefined && opts.watch !== true) throw new UsageError('--watch-count needs --watch');
  if (opts.watch !== true) return null;
  if (opts.watchCount === undefined) return WATCH_COUNT_MAX;
  if (!/^\d+$/.test(opts.watchCount) || Number(opts.watchCount) < 1 || Number(opts.watchCount) > WATCH_COUNT_MAX) {
    throw new UsageError(`--watch-count must be a whole number from 1 to ${WATCH_COUNT_MAX}, got "${opts.watchCount}"`);
  }
  return Number(opts.watchCount);
}

async function showOnce(cluster: Cluster, opts: StatusOptions, redraw: boolean): Promise<StatusReport> {
  const report = await asAdmin('status', () => collectStatus(cluster));
  if (opts.json) printJson(report);
  else {
    if (redraw && process.stdout.isTTY) process.stdout.write(CLEAR_SCREEN);
    else if (redraw) printLine('');
    printStatusText(report);
  }
  return report;
}

/** Redraws every WATCH_INTERVAL_MS, `count` times at most, until SIGINT; the last report decides the exit code. */
async function watch(cluster: Cluster, opts: StatusOptions, count: number): Promise<StatusReport> {
  let stop: (() => void) | null = null;
  let stopped = false;
  const onSigint = (): void => {
    stopped = true;
    stop?.();
  };
  process.on('SIGINT', onSigint);
  try {
    let report = await showOnce(cluster, opts, false);
    for (let i = 1; i < count && !stopped; i++) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, WATCH_INTERVAL_MS);
        stop = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (stopped) break;
      report = await showOnce(cluster, opts, true);
    }
    return report;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Stats from every node, after a bounded wait for the client to connect to all of them. */
export async function collectStatus(cluster: Cluster): Promise<StatusReport> {
  const deadline = Date.now() + STATUS_SETTLE_MS;
  let snap = await snapshot(cluster);
  for (let round = 0; round < SETTLE_ROUNDS_MAX && !snap.settled && Date.now() < deadline; round++) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_STEP_MS));
    snap = await snapshot(cluster);
  }
  return snap.report;
}

/**
 * One look at the cluster. Settled: stats from every data node the members lists name (dead ones
 * aside), and the client's table names a primary for every bucket.
 */
async function snapshot(cluster: Cluster): Promise<{ report: StatusReport; settled: boolean }> {
  const stats: unknown[] = await cluster.stats();
  const table = cluster.bucketTable();
  const report = buildStatus(stats, table);
  const settled = report.nodes.every((n) => n.items !== null || n.state === 'dead') && table.primaries.every((p) => p !== '');
  return { report, settled };
}

export function printStatusText(report: StatusReport): void {
  const header = ['NODE', 'STATE', 'PRIMARY', 'BACKUP', 'ITEMS', 'BACKUP ITEMS', 'TRANSFER'];
  const rows = report.nodes.map(rowCells);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const right = new Set([2, 3, 4, 5]);
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  printLine(fmt(header));
  for (const r of rows) printLine(fmt(r));
  const loggers = report.loggers.map((l) => (l.state === 'alive' ? l.addr : `${l.addr} (${l.state})`));
  printLine(`logging nodes: ${loggers.length === 0 ? 'none' : loggers.join(', ')}`);
  printLine(`buckets: ${report.mask + 1} (mask 0x${report.mask.toString(16)})`);
  if (report.items !== null) printLine(`items: ${report.items.primary} (and ${report.items.backup} backup copies)`);
  printLine(`verdict: ${report.verdict} (${report.reason})`);
}

function rowCells(n: NodeRow): string[] {
  const moves: string[] = [];
  if (n.transfer !== null) moves.push(`bucket ${n.transfer.bucket} -> ${n.transfer.to} (${n.transfer.role})`);
  if (n.incoming !== null) moves.push(`bucket ${n.incoming.bucket} <- ${n.incoming.from}`);
  const transfer = moves.length === 0 ? '-' : moves.join(', ');
  const state = n.quorum === false ? `${n.state}, no quorum` : n.serving === false ? `${n.state}, not serving` : n.state;
  const count = (v: number | null): string => (n.state === 'dead' ? '-' : v === null ? '?' : String(v));
  const primaryItems = n.itemsPrimary ?? (n.itemsBackup === null && n.items !== null ? n.items : null);
  return [n.addr, state, String(n.primary), String(n.backup), count(primaryItems), count(n.itemsBackup), transfer];
}
