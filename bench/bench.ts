// `npm run bench`: starts 1 or 3 nodes, measures set and get of 100-byte strings through our client at 1
// and 50 in flight (ops/s, p50/p99, node and client CPU), or with --transfer N the time a second node
// takes to receive its half of N items. With --tls, the same cases run against a plain and a TLS
// node (or cluster), interleaved case by case, side by side in one table. Every node it starts is
// stopped by PID at the end, and the certificates it made are removed.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Cluster } from '../src/index.js';
import type { ClusterTlsOptions } from '../src/client/options.js';
import { readFileSync } from 'node:fs';
import { makeBenchCerts } from './tls-certs.js';
import { runLoad, type LoadOptions } from '../src/gamut/load.js';
import { connectCluster, forEachWindowed, oursStore } from '../src/gamut/target.js';
import { renderTable } from '../src/gamut/summary.js';
import { processCpuSec, startBenchNode, stopAllBenchNodes, type BenchNode } from './node-proc.js';

const VALUE_BYTES = 100;
const KEYS = 10_000;
const REQUESTS_MAX = 50_000_000;
const CLUSTER_READY_TIMEOUT_MS = 60_000;
const TRANSFER_TIMEOUT_MS = 600_000;
const POLL_MS = 100;

interface Case {
  op: 'set' | 'get' | 'incr';
  inflight: number;
}

const CASES: Case[] = [
  { op: 'set', inflight: 1 },
  { op: 'get', inflight: 1 },
  { op: 'set', inflight: 50 },
  { op: 'get', inflight: 50 },
  { op: 'incr', inflight: 1 },
  { op: 'incr', inflight: 50 },
];

interface Args {
  durationSec: number;
  nodes: 1 | 3;
  transfer: number | null;
  tls: boolean;
  /** --tls: rounds of plain-then-TLS per case; the table shows each figure's median. */
  rounds: number;
}

function parseBenchArgs(): Args {
  const { values } = parseArgs({ options: { duration: { type: 'string' }, nodes: { type: 'string' }, transfer: { type: 'string' }, tls: { type: 'boolean' }, rounds: { type: 'string' } } });
  const durationSec = Number(values.duration ?? '5');
  if (!(durationSec > 0 && durationSec <= 3600)) throw new Error('--duration must be 0 < S <= 3600');
  const nodes = Number(values.nodes ?? '1');
  if (nodes !== 1 && nodes !== 3) throw new Error('--nodes must be 1 or 3');
  const transfer = values.transfer === undefined ? null : Number(values.transfer);
  if (transfer !== null && !(Number.isInteger(transfer) && transfer >= 1 && transfer <= 10_000_000)) throw new Error('--transfer must be 1..10000000 items');
  if (transfer !== null && values.tls === true) throw new Error('--tls measures the throughput cases, not --transfer');
  const rounds = Number(values.rounds ?? '3');
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20)) throw new Error('--rounds must be 1..20');
  return { durationSec, nodes, transfer, tls: values.tls === true, rounds };
}

function connect(addr: string, tls?: ClusterTlsOptions): Promise<Cluster> {
  return connectCluster({ seed: addr, requestTimeoutMs: 5000, connectTimeoutMs: 5000, access: tls === undefined ? {} : { tls } });
}

async function waitUntil(what: string, timeoutMs: number, fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function owners(cluster: Cluster): number {
  return new Set(cluster.bucketTable().primaries.filter((p) => p.length > 0)).size;
}

/** A cluster of `count` nodes (over TLS when given the node flags and the client's TLS options). */
async function startCluster(count: number, tls?: { args: string[]; client: ClusterTlsOptions }): Promise<BenchNode[]> {
  const first = await startBenchNode(undefined, tls?.args);
  const nodes = [first];
  for (let i = 1; i < count; i++) nodes.push(await startBenchNode(first.addr, tls?.args));
  if (count > 1) {
    const cluster = await connect(first.addr, tls?.client);
    try {
      await waitUntil(`${count} nodes owning buckets`, CLUSTER_READY_TIMEOUT_MS, async () => owners(cluster) === count);
    } finally {
      await cluster.close();
    }
  }
  return nodes;
}

interface CaseResult {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  nodeCpuPct: number[];
  clientCpuPct: number;
}

async function runCase(nodes: BenchNode[], c: Case, durationSec: number, tls?: ClusterTlsOptions): Promise<CaseResult> {
  let nodeCpu0: number[] = [];
  let client0 = process.cpuUsage();
  let wall0 = 0;
  let measured: { nodeCpuPct: number[]; clientCpuPct: number } = { nodeCpuPct: [], clientCpuPct: 0 };
  const opts: LoadOptions = {
    keys: KEYS,
    valueBytes: VALUE_BYTES,
    inflight: c.inflight,
    connections: 1,
    getWeight: c.op === 'get' ? 1 : 0,
    setWeight: c.op === 'set' ? 1 : 0,
    incrWeight: c.op === 'incr' ? 1 : 0,
    mgetWeight: 0,
    mgetKeys: 1,
    durationSec,
    requestsMax: REQUESTS_MAX,
    prefix: 'bench:',
    seed: 1,
    retries: 0,
    ledger: null,
    onPhaseChange: (phase) => {
      if (phase === 'load') {
        nodeCpu0 = nodes.map((n) => processCpuSec(n.proc.pid!));
        client0 = process.cpuUsage();
        wall0 = performance.now();
        return;
      }
      const wallSec = (performance.now() - wall0) / 1000;
      const client = process.cpuUsage(client0);
      measured = {
        nodeCpuPct: nodes.map((n, i) => ((processCpuSec(n.proc.pid!) - nodeCpu0[i]!) / wallSec) * 100),
        clientCpuPct: ((client.user + client.system) / 1e6 / wallSec) * 100,
      };
    },
  };
  const store = oursStore({ seed: nodes[0]!.addr, requestTimeoutMs: 5000, connectTimeoutMs: 5000, access: tls === undefined ? {} : { tls } });
  const r = await runLoad(store, opts);
  if (r.errors > 0) process.stderr.write(`bench: ${c.op} x${c.inflight}: ${r.errors} errors ${JSON.stringify(r.errorsByCode)}\n`);
  return { opsPerSec: r.opsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, ...measured };
}

async function throughput(args: Args): Promise<void> {
  const nodes = await startCluster(args.nodes);
  console.log(`bench: ${args.nodes} node(s) at ${nodes.map((n) => n.addr).join(', ')}; ${VALUE_BYTES}-byte strings, ${KEYS} keys, 1 connection, ${args.durationSec} s per case`);
  const rows = [['case', 'ops/s', 'p50 ms', 'p99 ms', 'node CPU %', 'client CPU %']];
  for (const c of CASES) {
    const r = await runCase(nodes, c, args.durationSec);
    rows.push([`${c.op} x${c.inflight}`, r.opsPerSec.toLocaleString('en-US'), r.p50Ms.toFixed(3), r.p99Ms.toFixed(3), r.nodeCpuPct.map((p) => p.toFixed(0)).join(' / '), r.clientCpuPct.toFixed(0)]);
  }
  console.log(renderTable(rows));
  console.log('CPU % is of one core, measured over the timed phase only (node: /proc/<pid>/stat; client: process.cpuUsage).');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Each figure's median over the rounds (a noisy shared machine: one slow round does not decide). */
function medianResult(rs: CaseResult[]): CaseResult {
  return {
    opsPerSec: Math.round(median(rs.map((r) => r.opsPerSec))),
    p50Ms: median(rs.map((r) => r.p50Ms)),
    p99Ms: median(rs.map((r) => r.p99Ms)),
    nodeCpuPct: rs[0]!.nodeCpuPct.map((_x, i) => median(rs.map((r) => r.nodeCpuPct[i]!))),
    clientCpuPct: median(rs.map((r) => r.clientCpuPct)),
  };
}

/** The cases against a plain and a TLS cluster of the same size, interleaved, side by side. */
async function tlsComparison(args: Args): Promise<void> {
  const certs = makeBenchCerts();
  try {
    const client: ClusterTlsOptions = { ca: readFileSync(certs.ca) };
    const plain = await startCluster(args.nodes);
    const secure = await startCluster(args.nodes, { args: ['--tls-cert', certs.cert, '--tls-key', certs.key, '--tls-ca', certs.ca], client });
    console.log(`bench --tls: ${args.nodes} plain node(s) at ${plain.map((n) => n.addr).join(', ')} and ${args.nodes} TLS node(s) at ${secure.map((n) => n.addr).join(', ')}; ${VALUE_BYTES}-byte strings, ${KEYS} keys, 1 connection, ${args.durationSec} s per case, plain and TLS taking turns`);
    const rows = [['case', 'plain ops/s', 'TLS ops/s', 'TLS/plain', 'plain p50 ms', 'TLS p50 ms', 'plain p99 ms', 'TLS p99 ms', 'node CPU % plain / TLS']];
    for (const c of CASES) {
      const ps: CaseResult[] = [];
      const ts: CaseResult[] = [];
      for (let round = 0; round < args.rounds; round++) {
        ps.push(await runCase(plain, c, args.durationSec));
        ts.push(await runCase(secure, c, args.durationSec, client));
      }
      const p = medianResult(ps);
      const t = medianResult(ts);
      const cpu = (r: CaseResult): string => r.nodeCpuPct.map((x) => x.toFixed(0)).join('+');
      rows.push([
        `${c.op} x${c.inflight}`,
        p.opsPerSec.toLocaleString('en-US'),
        t.opsPerSec.toLocaleString('en-US'),
        (t.opsPerSec / p.opsPerSec).toFixed(2),
        p.p50Ms.toFixed(3),
        t.p50Ms.toFixed(3),
        p.p99Ms.toFixed(3),
        t.p99Ms.toFixed(3),
        `${cpu(p)} / ${cpu(t)}`,
      ]);
    }
    console.log(renderTable(rows));
    console.log(`Each figure is the median of ${args.rounds} round(s); a round runs the case on the plain node(s), then on the TLS node(s).`);
    console.log('TLS: TLS 1.3 (Node default), EC P-256 node certificate, the client verifies the node against the CA.');
  } finally {
    certs.remove();
  }
}

interface TransferStats {
  addr: string;
  items: number;
  primary: number;
}

function transferStatsOf(doc: Record<string, unknown>): TransferStats {
  const buckets = doc['buckets'] as { primary?: unknown } | undefined;
  return { addr: String(doc['addr']), items: Number(doc['items']), primary: Number(buckets?.primary) };
}

/** Both nodes hold about half the primaries (40-60% each, all accounted for) and every item is counted. */
function balanced(stats: TransferStats[], items: number, buckets: number): boolean {
  if (stats.length !== 2) return false;
  const primaries = stats[0]!.primary + stats[1]!.primary;
  const itemSum = stats[0]!.items + stats[1]!.items;
  const halfish = stats.every((s) => s.primary >= buckets * 0.4 && s.primary <= buckets * 0.6);
  return halfish && primaries === buckets && (itemSum === items || itemSum === 2 * items);
}

async function transfer(items: number): Promise<void> {
  const first = await startBenchNode();
  const cluster = await connect(first.addr);
  try {
    const keys = Array.from({ length: items }, (_v, i) => `transfer:${i}`);
    const value = 'v'.repeat(VALUE_BYTES);
    const t0 = performance.now();
    await forEachWindowed(keys, 256, (k) => cluster.set(k, value));
    console.log(`bench: loaded ${items} items of ${VALUE_BYTES} bytes into ${first.addr} in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    const buckets = cluster.bucketTable().primaries.length;
    const start = performance.now();
    const second = await startBenchNode(first.addr);
    let last: TransferStats[] = [];
    await waitUntil('the second node to hold its half', TRANSFER_TIMEOUT_MS, async () => {
      last = (await cluster.stats()).map((s) => transferStatsOf(s));
      return balanced(last, items, buckets);
    });
    const sec = (performance.now() - start) / 1000;
    console.log(`bench: ${second.addr} took its half of ${items} items in ${sec.toFixed(2)} s (from its start): ${last.map((s) => `${s.addr} primary ${s.primary} items ${s.items}`).join('; ')}`);
  } finally {
    await cluster.close();
  }
}

async function main(): Promise<void> {
  const args = parseBenchArgs();
  const stop = (): void => void stopAllBenchNodes().then(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (args.transfer !== null) await transfer(args.transfer);
    else if (args.tls) await tlsComparison(args);
    else await throughput(args);
  } finally {
    await stopAllBenchNodes();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
