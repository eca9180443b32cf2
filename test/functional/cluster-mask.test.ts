// The cluster's mask belongs to the cluster: a node joining without --mask (or with another one)
// takes the seed's mask, a differing --mask is ignored with one warning line, `status` judges
// balance under the nodes' mask; widening as nodes join still works from a small mask.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../src/index.js';
import { cleanup, runCli, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';

after(cleanup);

const IGNORED = '--mask ignored: this node joined a cluster, which keeps its own mask (--mask is for a new cluster)';

/** Each node's own mask, from its stats. */
async function masksOf(addrs: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const addr of addrs) {
    const c = new Cluster({ seeds: [addr], requestTimeoutMs: 2000 });
    try {
      await c.connect();
      const s = (await c.stats()).find((x) => x['addr'] === addr) as { buckets: { mask: number } } | undefined;
      if (s === undefined) throw new Error(`no stats from ${addr}`);
      out.push(s.buckets.mask);
    } finally {
      await c.close();
    }
  }
  return out;
}

async function ready(n: NodeProcess): Promise<NodeProcess> {
  await n.waitForLog((l) => l['msg'] === 'ready');
  return n;
}

test('a cluster started with --mask 0x0f keeps it when nodes join; status shows 16 buckets and reaches balanced', { timeout: 120_000 }, async () => {
  const n1 = await ready(await startNode({ args: ['--mask', '0x0f'] }));
  const n2 = await ready(await startNode({ nodes: [n1.addr] }));
  const n3 = await ready(await startNode({ nodes: [n1.addr], args: ['--mask', '0xff'] }));
  const addrs = [n1.addr, n2.addr, n3.addr];
  // The writes and reads go through one client (40 CLI processes each way cost minutes on a busy
  // machine); the CLI is checked once each way below.
  const c = new Cluster({ seeds: [n1.addr], requestTimeoutMs: 10_000 });
  await c.connect();
  try {
    for (let i = 1; i < 40; i++) await c.set(`m:${i}`, String(i));
  } finally {
    await c.close();
  }
  const set0 = await runCli(['set', 'm:0', '0', '--cluster', n1.addr]);
  assert.equal(set0.code, 0, set0.stderr);
  const report = await waitFor('status balanced', async () => {
    const r = await runCli(['status', '--json', '--cluster', n2.addr]);
    assert.ok(r.code === 0 || r.code === 1 || r.code === 3, r.stderr);
    const rep = JSON.parse(r.stdout) as { verdict: string; mask: number; nodes: { primary: number; backup: number }[] };
    return rep.verdict === 'balanced' && rep.nodes.length === 3 ? rep : undefined;
  }, 60_000, 500);
  assert.equal(report.mask, 0x0f);
  assert.equal(report.nodes.reduce((s, n) => s + n.primary, 0), 16, 'the primaries add up to 16 buckets');
  assert.deepEqual(await masksOf(addrs), [0x0f, 0x0f, 0x0f], 'every node keeps the cluster\'s mask');
  const text = await runCli(['status', '--cluster', n3.addr]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^buckets: 16 \(mask 0xf\)$/m);
  assert.match(text.stdout, /^verdict: balanced\b/m);
  const warned = (n: NodeProcess): number => n.logs.filter((l) => l['msg'] === IGNORED).length;
  assert.equal(warned(n3), 1, 'the node given --mask 0xff warns once that it is ignored');
  const line = n3.logs.find((l) => l['msg'] === IGNORED)!;
  assert.equal(line['clusterMask'], '0xf');
  assert.equal(warned(n2), 0, 'a node joining without --mask does not warn');
  assert.equal(warned(n1), 0, 'the node that started the cluster does not warn');
  const reader = new Cluster({ seeds: [n2.addr], requestTimeoutMs: 10_000 });
  await reader.connect();
  try {
    for (let i = 0; i < 40; i++) assert.equal(await reader.getString(`m:${i}`), String(i), `m:${i} reads back`);
  } finally {
    await reader.close();
  }
  const get39 = await runCli(['get', 'm:39', '--cluster', n2.addr]);
  assert.equal(get39.stdout, '39\n', 'the CLI reads it back too');
});

test('from --mask 0x3, the mask widens as nodes join to exactly what three nodes need (0xf)', { timeout: 120_000 }, async () => {
  const n1 = await ready(await startNode({ args: ['--mask', '0x3'] }));
  const n2 = await ready(await startNode({ nodes: [n1.addr] }));
  const n3 = await ready(await startNode({ nodes: [n1.addr] }));
  const addrs = [n1.addr, n2.addr, n3.addr];
  // minBucketsPerNode is 4: 0x7 (8 buckets) suffices for two nodes, three need 0xf (16).
  const masks = await waitFor('every node on one mask of at least 0xf', async () => {
    const m = await masksOf(addrs);
    return m.every((x) => x === m[0]) && m[0]! >= 0xf ? m : undefined;
  }, 30_000, 250);
  assert.deepEqual(masks, [0xf, 0xf, 0xf], 'widened to 0xf, not to a joining node\'s default 0xff');
  const report = await waitFor('status balanced', async () => {
    const r = await runCli(['status', '--json', '--cluster', n1.addr]);
    const rep = JSON.parse(r.stdout) as { verdict: string; mask: number };
    return rep.verdict === 'balanced' ? rep : undefined;
  }, 60_000, 500);
  assert.equal(report.mask, 0xf);
});
