// gamut against real nodes through the CLI: the feature check on one and three nodes, the load phase's
// JSON and HTML report, usage and connection errors, and --verify across a graceful node shutdown.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from '../../src/index.js';
import { cleanup, makeTempDir, runCli, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';

after(cleanup);

async function withClient<T>(addr: string, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const c = new Cluster({ seeds: [addr], requestTimeoutMs: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

async function totalItems(addr: string): Promise<number> {
  return withClient(addr, async (c) => (await c.stats()).reduce((sum, s) => sum + Number(s['items']), 0));
}

async function startThree(): Promise<NodeProcess[]> {
  const first = await startNode();
  const second = await startNode({ nodes: [first.addr] });
  const third = await startNode({ nodes: [first.addr] });
  await withClient(first.addr, (c) =>
    waitFor('three nodes owning buckets', () => new Set(c.bucketTable().primaries.filter((p) => p.length > 0)).size === 3 || undefined, 60_000),
  );
  return [first, second, third];
}

function rowStatus(stdout: string, name: string): string | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(`${name} `));
  return line?.slice(name.length).trim().split(/\s+/)[0];
}

const CHECK_NAMES = ['ping', 'string values', 'int32 values', 'int64 values', 'binary values', 'wrong-type errors', 'delete and exists', 'expiry on set', 'expire and ttl', 'maps', 'large value', 'many in flight', 'cleanup',
  'incr and decr', 'conditional sets', 'versions', 'concurrent incr across nodes'];

test('the feature check passes against one node and leaves no keys behind', { timeout: 120_000 }, async () => {
  const node = await startNode();
  const r = await runCli(['gamut', '--cluster', node.addr, '--skip-load'], 100_000);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  for (const name of CHECK_NAMES) assert.equal(rowStatus(r.stdout, name), 'PASS', `${name} in:\n${r.stdout}`);
  assert.equal(rowStatus(r.stdout, 'routing'), 'SKIP');
  assert.match(r.stdout, / 0 failed/);
  assert.equal(await totalItems(node.addr), 0);
});

test('the load phase prints the documented JSON and writes an HTML report', { timeout: 60_000 }, async () => {
  const node = await startNode();
  const report = join(makeTempDir('oc-gamut-'), 'report.html');
  const r = await runCli(['gamut', '--cluster', node.addr, '--skip-check', '--duration', '1', '--warmup', '0.2', '--json', '--keys', '500', '--inflight', '8', '--report', report], 45_000);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { settings: Record<string, unknown>; check: unknown[]; load: { ours: Record<string, number>; redis?: unknown; ratio?: unknown } };
  assert.deepEqual(out.check, []);
  assert.equal(out.settings['warmupSec'], 0.2);
  const ours = out.load.ours;
  for (const f of ['opsPerSec', 'p50Ms', 'p99Ms', 'p999Ms', 'maxMs', 'errors', 'retries']) assert.equal(typeof ours[f], 'number', f);
  assert.ok(ours['opsPerSec']! > 0);
  assert.equal(ours['errors'], 0);
  assert.ok(ours['p50Ms']! > 0 && ours['p50Ms']! <= ours['p99Ms']! && ours['p99Ms']! <= ours['p999Ms']! && ours['p999Ms']! <= ours['maxMs']!);
  assert.equal(out.load.redis, undefined);
  const html = readFileSync(report, 'utf8');
  assert.match(html, /<svg/);
  assert.match(html, /Latency over time/);
  assert.match(html, /warm-up before each round \(not counted\)/);
  assert.equal(await totalItems(node.addr), 0);
});

test('--mix GET:SET:INCR adds increments of counters of their own, cleaned up after', { timeout: 60_000 }, async () => {
  const node = await startNode();
  const r = await runCli(['gamut', '--cluster', node.addr, '--skip-check', '--requests', '3000', '--json', '--keys', '200', '--inflight', '8', '--mix', '1:1:2'], 45_000);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { settings: Record<string, unknown>; load: { ours: Record<string, number> } };
  assert.equal(out.settings['mix'], '1:1:2');
  assert.equal(out.load.ours['errors'], 0, JSON.stringify(out.load.ours['errorsByCode']));
  assert.ok(out.load.ours['opsPerSec']! > 0);
  assert.equal(await totalItems(node.addr), 0, 'the counters are deleted with the keys');
  const bad = await runCli(['gamut', '--cluster', node.addr, '--mix', '1:1:x'], 10_000);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /GET:SET:INCR/);
});

test('usage and connection errors exit 2 with one line on stderr', { timeout: 30_000 }, async () => {
  const bad = await runCli(['gamut', '--mix', 'lots', '--cluster', '127.0.0.1:1']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  assert.match(bad.stderr, /--mix/);
  const warm = await runCli(['gamut', '--warmup', 'soon', '--cluster', '127.0.0.1:1']);
  assert.equal(warm.code, 2);
  assert.equal(warm.stderr.trim().split('\n').length, 1);
  assert.match(warm.stderr, /--warmup must be a number of seconds/);
  const down = await runCli(['gamut', '--cluster', '127.0.0.1:1', '--skip-load'], 20_000);
  assert.equal(down.code, 2);
  assert.equal(down.stderr.trim().split('\n').length, 1);
});

test('the feature check passes against three nodes, routing keys to every one', { timeout: 180_000 }, async () => {
  const [first] = await startThree();
  const r = await runCli(['gamut', '--cluster', first!.addr, '--skip-load'], 120_000);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.equal(rowStatus(r.stdout, 'routing'), 'PASS', r.stdout);
  assert.match(r.stdout, /3 primaries/);
  assert.equal(rowStatus(r.stdout, 'concurrent incr across nodes'), 'PASS', r.stdout);
  assert.match(r.stdout, /each of 3 counter\(s\), one per node/);
});

test('--verify reports zero lost writes after a graceful shutdown of one of three nodes', { timeout: 180_000 }, async () => {
  const [first, , third] = await startThree();
  let runEndMs = 0;
  const run = runCli(['gamut', '--cluster', first!.addr, '--skip-check', '--verify', '--duration', '8', '--keys', '2000', '--inflight', '8', '--json'], 120_000).then((r) => {
    runEndMs = Date.now();
    return r;
  });
  await new Promise((r) => setTimeout(r, 3000));
  third!.signal('SIGINT');
  const exit = await third!.exited;
  const exitMs = Date.now();
  const r = await run;
  assert.equal(exit, 0, 'the stopped node exits cleanly');
  assert.ok(exitMs < runEndMs, 'the node stopped while gamut was running');
  const out = JSON.parse(r.stdout) as { verify: { checked: number; lost: number; unreadable: number; acked: number } };
  assert.equal(out.verify.checked, 2000);
  assert.ok(out.verify.acked > 2000, 'writes were acknowledged during the load');
  assert.equal(out.verify.lost, 0);
  assert.equal(out.verify.unreadable, 0);
  assert.equal(r.code, 0, r.stderr);
});
