// `opencluster status` against two real nodes: both listed, the verdict reaches balanced with
// every bucket backed up, and a node's loss shows as degraded or rebalanced, never as a stale row.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, killNode, runCli, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';

interface Report {
  nodes: { addr: string; state: string; primary: number; backup: number; items: number | null; transfer: unknown; incoming: unknown }[];
  loggers: unknown[];
  verdict: string;
  mask: number;
}

let first: NodeProcess;
let second: NodeProcess;

async function status(addr: string): Promise<Report> {
  const r = await runCli(['status', '--json', '--cluster', addr]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

before(async () => {
  first = await startNode();
  second = await startNode({ nodes: [first.addr] });
});
after(cleanup);

test('two nodes: status lists both and reaches balanced with every bucket backed up', async () => {
  for (let i = 0; i < 50; i++) {
    const r = await runCli(['set', `st:${i}`, String(i), '--type', 'int', '--cluster', first.addr]);
    assert.equal(r.code, 0, r.stderr);
  }
  const report = await waitFor('a balanced two-node cluster', async () => {
    const rep = await status(second.addr);
    return rep.verdict === 'balanced' ? rep : undefined;
  }, 60000, 500);
  assert.deepEqual(report.nodes.map((n) => n.addr).sort(), [first.addr, second.addr].sort());
  const buckets = report.mask + 1;
  let primaries = 0;
  for (const n of report.nodes) {
    assert.equal(n.state, 'alive');
    assert.ok(Math.abs(n.primary - buckets / 2) <= 1, `${n.addr} primary ${n.primary}`);
    assert.ok(Math.abs(n.backup - buckets / 2) <= 1, `${n.addr} backup ${n.backup}`);
    assert.equal(n.transfer, null);
    primaries += n.primary;
  }
  assert.equal(primaries, buckets);
  const items = report.nodes.reduce((sum, n) => sum + (n.items ?? 0), 0);
  assert.ok(items >= 50, `items ${items}: every key written is held (primary copies at least)`);
  const text = await runCli(['status', '--cluster', first.addr]);
  assert.equal(text.code, 0, text.stderr);
  assert.ok(text.stdout.includes(first.addr) && text.stdout.includes(second.addr));
  assert.match(text.stdout, /^verdict: balanced\b/m);
});

test('after one node is killed, status no longer calls the cluster balanced with it', async () => {
  await killNode(second);
  const report = await waitFor('the dead node to leave the status', async () => {
    const rep = await status(first.addr);
    return rep.nodes.every((n) => n.addr !== second.addr) ? rep : undefined;
  }, 30000, 500);
  assert.equal(report.nodes.length, 1);
  assert.equal(report.nodes[0]!.addr, first.addr);
  const settled = await waitFor('the survivor to hold every bucket', async () => {
    const rep = await status(first.addr);
    return rep.verdict === 'balanced' ? rep : undefined;
  }, 30000, 500);
  assert.equal(settled.nodes[0]!.primary, settled.mask + 1);
  for (let i = 0; i < 50; i += 7) {
    const r = await runCli(['get', `st:${i}`, '--cluster', first.addr]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${i}\n`);
  }
});
