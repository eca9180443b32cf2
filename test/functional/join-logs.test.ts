// Logs people can read: an ordinary join of three nodes logs no warning, and a rebalance logs one
// info line per transfer (a node giving buckets to one target), not one per bucket; the per-bucket
// lines are at debug. Also --log-format pretty (one readable line per entry) and json.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Cluster } from '../../src/index.js';
import { CLI_PATH, cleanup, makeTempDir, runCli, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';

after(cleanup);

/** Writes KEYS keys through one client (a CLI per key would take minutes). */
async function writeKeys(seed: string): Promise<void> {
  const client = new Cluster({ seeds: [seed] });
  await client.connect();
  try {
    for (let i = 0; i < KEYS; i++) await client.set(`j:${i}`, String(i));
  } finally {
    await client.close();
  }
}

const KEYS = 300;

async function bucketsMoved(node: NodeProcess): Promise<number> {
  const r = await runCli(['stats', '--json', '--cluster', node.addr]);
  assert.equal(r.code, 0, r.stderr);
  const docs = JSON.parse(r.stdout) as { addr: string; ops: { bucketsMoved: number } }[];
  return docs.find((d) => d.addr === node.addr)!.ops.bucketsMoved;
}

function transferLines(node: NodeProcess): Record<string, unknown>[] {
  return node.logs.filter((l) => l['level'] === 30 && typeof l['msg'] === 'string' && l['msg'].startsWith('transfer to '));
}

test('three nodes join: no warning, and one info line per transfer summing every bucket moved', async () => {
  const first = await startNode();
  await writeKeys(first.addr);
  const nodes = [first, await startNode({ nodes: [first.addr] }), await startNode({ nodes: [first.addr] })];
  await waitFor('a balanced cluster', async () => {
    const r = await runCli(['status', '--json', '--cluster', first.addr]);
    return r.code === 0 ? true : undefined;
  }, 60_000, 500);
  // Every bucket a node moved is in one of its transfer lines, once the transfer has ended.
  const moved = await waitFor('every move summarised in a transfer line', async () => {
    const counts = await Promise.all(nodes.map(bucketsMoved));
    const ok = nodes.every((n, i) => transferLines(n).reduce((a, l) => a + Number(l['buckets']), 0) === counts[i]);
    return ok ? counts : undefined;
  }, 30_000, 500);
  const total = moved.reduce((a, b) => a + b, 0);
  assert.ok(total >= 256, `a join moves buckets (${total})`);
  for (const n of nodes) {
    const loud = n.logs.filter((l) => typeof l['level'] === 'number' && l['level'] >= 40);
    assert.deepEqual(loud.map((l) => l['msg']), [], `${n.addr}: no warn or error line in an ordinary join`);
    const lines = transferLines(n);
    // One transfer per target and stretch of work: a few per node, far fewer than the buckets.
    assert.ok(lines.length <= 2 * (nodes.length - 1) * 2, `${n.addr}: ${lines.length} transfer lines`);
    for (const l of lines) {
      assert.equal(typeof l['items'], 'number');
      assert.equal(typeof l['ms'], 'number');
      assert.ok(Number(l['buckets']) >= 1);
    }
    const infoPerBucket = n.logs.filter((l) => l['level'] === 30 && /^bucket copy/.test(String(l['msg'])));
    assert.equal(infoPerBucket.length, 0, 'per-bucket lines are debug');
  }
  assert.ok(nodes.some((n) => n.logs.some((l) => l['level'] === 20 && l['msg'] === 'bucket copy finished')), 'the per-bucket detail is at debug');
  const infoLines = nodes.reduce((a, n) => a + n.logs.filter((l) => l['level'] === 30).length, 0);
  assert.ok(infoLines < total, `info lines (${infoLines}) bounded by transfers, not by the ${total} buckets moved`);
});

test('--log-format pretty prints one readable line per entry; json one JSON object; a bad format is a usage error', async () => {
  const dir = makeTempDir('oc-pretty-');
  const proc = spawn(process.execPath, [CLI_PATH, 'serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--log-format', 'pretty'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const lines: string[] = [];
  const listening = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout });
    rl.on('line', (l) => {
      lines.push(l);
      if (l.includes('listening')) resolve(l);
    });
    proc.on('exit', () => reject(new Error(`serve exited: ${lines.join('\n')}`)));
  });
  assert.throws(() => JSON.parse(listening) as unknown, 'not JSON');
  assert.match(listening, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO.*: listening \{.*"addr":"127\.0\.0\.1:\d+"/);
  proc.kill('SIGINT');
  assert.equal(await exited, 0);
  const bad = await runCli(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--log-format', 'fancy']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--log-format must be one of pretty, json/);
});

test('a node that knows only the higher of two nodes joins through the lower one (joinThrough), without a warning', async () => {
  // Synchronised on the nodes' own join events: `stats --cluster` lists only the nodes its client
  // has linked, which under load (CI) lagged the join by more than 30 s while buckets moved.
  const joined = (n: NodeProcess, peer: string): Promise<unknown> => n.waitForLog((l) => l['msg'] === 'member joined' && l['peer'] === peer, 30_000);
  const a = await startNode();
  const b = await startNode({ nodes: [a.addr] });
  await Promise.all([joined(a, b.addr), b.waitForLog((l) => l['msg'] === 'ready' && l['alone'] === false, 30_000)]);
  const [lower, higher] = a.addr < b.addr ? [a, b] : [b, a];
  const c = await startNode({ nodes: [higher.addr] });
  await Promise.all([joined(c, a.addr), joined(c, b.addr), c.waitForLog((l) => l['msg'] === 'ready' && l['alone'] === false, 30_000)]);
  const refused = c.logs.find((l) => l['msg'] === 'hello refused' && l['peer'] === higher.addr);
  assert.ok(refused !== undefined, 'the higher node sent the joiner on');
  assert.equal(refused['why'], lower.addr, 'to the lower node');
  const loud = c.logs.filter((l) => typeof l['level'] === 'number' && l['level'] >= 40);
  assert.deepEqual(loud.map((l) => l['msg']), [], 'no warning: the redirect is part of an ordinary join');
});
