// The cluster with real node processes: joining and balancing with data flowing, discovery by a
// client, a restarted node listed once, and close() with several nodes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster } from '../../src/index.js';
import { cleanup, killNode, startNode, waitFor } from '../helpers/nodes.js';
import { startCluster, viewOf, waitForGoalState } from '../helpers/cluster.js';

after(cleanup);

async function writeKeys(c: Cluster, from: number, to: number, inFlight = 50): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const i = next++;
      await c.set(`k${i}`, `v${i}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

test('three nodes joined one after another reach the goal state and keep every key', async () => {
  const n1 = await startNode();
  const c = new Cluster({ seeds: [n1.addr], requestTimeoutMs: 10000 });
  await c.connect();
  try {
    await writeKeys(c, 0, 3000);
    const n2Started = startNode({ nodes: [n1.addr] });
    await writeKeys(c, 3000, 5000);
    const n2 = await n2Started;
    const n3Started = startNode({ nodes: [n1.addr] });
    await writeKeys(c, 5000, 7000);
    const n3 = await n3Started;
    await writeKeys(c, 7000, 8500);
    const addrs = [n1.addr, n2.addr, n3.addr];
    await waitForGoalState(addrs);
    await writeKeys(c, 8500, 10000);
    const missing: number[] = [];
    for (let i = 0; i < 10000; i++) {
      const v = await c.get(`k${i}`);
      if (v !== `v${i}`) missing.push(i);
    }
    assert.deepEqual(missing, [], `keys missing or wrong: ${missing.slice(0, 10).join(', ')}`);
    const views = await viewOf(addrs);
    assert.equal(views.reduce((s, v) => s + v.primaries, 0), 256);
    const table = c.bucketTable();
    for (let b = 0; b < table.primaries.length; b++) {
      assert.ok(addrs.includes(table.primaries[b]!), `bucket ${b} has a live primary`);
      assert.notEqual(table.primaries[b], table.backups[b], `bucket ${b}: primary and backup differ`);
    }
  } finally {
    await c.close();
  }
});

test('a client that knows only node 1 learns of nodes 2 and 3 and uses them', async () => {
  const [n1, n2, n3] = await startCluster(3);
  const c = new Cluster({ seeds: [n1!.addr] });
  const added: string[] = [];
  c.on('nodeAdded', (addr: string) => added.push(addr));
  await c.connect();
  try {
    await waitFor('client knows all three nodes', () => (c.nodes().length === 3 ? true : undefined), 10000);
    assert.deepEqual([...c.nodes()].sort(), [n1!.addr, n2!.addr, n3!.addr].sort());
    await waitForGoalState([n1!.addr, n2!.addr, n3!.addr]);
    const stats = await waitFor('stats from all three', async () => {
      const s = await c.stats();
      return s.length === 3 ? s : undefined;
    }, 10000);
    assert.deepEqual(stats.map((s) => s['addr']).sort(), [n1!.addr, n2!.addr, n3!.addr].sort());
    // every node serves its share: after writes spread over all buckets, every node holds items
    for (let i = 0; i < 600; i++) await c.set(`spread${i}`, i);
    const views = await viewOf([n1!.addr, n2!.addr, n3!.addr]);
    for (const v of views) assert.ok(v.items > 0, `${v.addr} holds some items`);
  } finally {
    await c.close();
  }
});

test('a node restarted on the same address is listed once everywhere', async () => {
  const [n1, n2, n3] = await startCluster(3);
  await waitForGoalState([n1!.addr, n2!.addr, n3!.addr]);
  await killNode(n2!);
  const n2b = await startNode({ listen: n2!.addr, nodes: [n1!.addr] });
  const addrs = [n1!.addr, n2b.addr, n3!.addr];
  await waitForGoalState(addrs);
  const views = await viewOf(addrs);
  for (const v of views) {
    const data = v.members.filter((m) => m.role === 'data').map((m) => m.addr).sort();
    const expected = addrs.filter((a) => a !== v.addr).sort();
    assert.deepEqual(data, expected, `${v.addr} lists every other node exactly once`);
  }
  const c = new Cluster({ seeds: [n1!.addr] });
  await c.connect();
  try {
    await waitFor('client sees three nodes', () => (c.nodes().length === 3 ? true : undefined), 10000);
    assert.equal(new Set(c.nodes()).size, c.nodes().length);
  } finally {
    await c.close();
  }
});

test('close() with three nodes connected returns and the process exits', async () => {
  const nodes = await startCluster(3);
  await waitForGoalState(nodes.map((n) => n.addr));
  const here = dirname(fileURLToPath(import.meta.url));
  const child = spawn(process.execPath, [join(here, '..', 'helpers', 'close-child.js'), nodes[0]!.addr], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child did not exit by itself after close(): ${out}`));
    }, 15000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0, out);
  assert.match(out, /closed 3/);
});
