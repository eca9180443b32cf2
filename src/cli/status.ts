// `opencluster status`: every node with its state, bucket counts, items and transfer, the logging
// nodes, and a one-line verdict; text or --json.
import { Command } from 'commander';
import type { Cluster } from '../index.js';
import { dataCommand } from './data-commands.js';
import { EXIT_OK, printJson, printLine } from './output.js';
import { asAdmin, runCommand, type CommonOptions } from './session.js';
import { buildStatus, type NodeRow, type StatusReport } from './status-report.js';

/** After connecting, how long status waits for the client to reach every node and fill its table. */
export const STATUS_SETTLE_MS = 1000;
const SETTLE_STEP_MS = 100;
const SETTLE_ROUNDS_MAX = 20;

export function registerStatus(program: Command): void {
  dataCommand(program, 'status', 'show every node, its buckets and items, and whether the cluster is balanced').action(
    (opts: CommonOptions) =>
      runCommand(opts, () => undefined, async (cluster) => {
        const report = await asAdmin('status', () => collectStatus(cluster));
        if (opts.json) printJson(report);
        else printStatusText(report);
        return EXIT_OK;
      }),
  );
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
 * One look at the cluster. Settled: stats from every data node the members lists name, and the
 * client's table names a primary for every bucket.
 */
async function snapshot(cluster: Cluster): Promise<{ report: StatusReport; settled: boolean }> {
  const stats: unknown[] = await cluster.stats();
  const table = cluster.bucketTable();
  const report = buildStatus(stats, table);
  const settled = report.nodes.every((n) => n.items !== null) && table.primaries.every((p) => p !== '');
  return { report, settled };
}

export function printStatusText(report: StatusReport): void {
  const header = ['NODE', 'STATE', 'PRIMARY', 'BACKUP', 'ITEMS', 'TRANSFER'];
  const rows = report.nodes.map(rowCells);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const right = new Set([2, 3, 4]);
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  printLine(fmt(header));
  for (const r of rows) printLine(fmt(r));
  const loggers = report.loggers.map((l) => (l.state === 'alive' ? l.addr : `${l.addr} (${l.state})`));
  printLine(`logging nodes: ${loggers.length === 0 ? 'none' : loggers.join(', ')}`);
  printLine(`buckets: ${report.mask + 1} (mask 0x${report.mask.toString(16)})`);
  printLine(`verdict: ${report.verdict} (${report.reason})`);
}

function rowCells(n: NodeRow): string[] {
  const moves: string[] = [];
  if (n.transfer !== null) moves.push(`bucket ${n.transfer.bucket} -> ${n.transfer.to} (${n.transfer.role})`);
  if (n.incoming !== null) moves.push(`bucket ${n.incoming.bucket} <- ${n.incoming.from}`);
  const transfer = moves.length === 0 ? '-' : moves.join(', ');
  const state = n.quorum === false ? `${n.state}, no quorum` : n.serving === false ? `${n.state}, not serving` : n.state;
  return [n.addr, state, String(n.primary), String(n.backup), n.items === null ? '?' : String(n.items), transfer];
}
