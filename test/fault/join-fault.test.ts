// A node that joins and is paused, then killed, while buckets are being handed to it and a client
// writes with full wait: every acknowledged write survives, and the two others end with one owner
// per bucket (whatever stage of a hand-over the pause hit).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError } from '../../src/index.js';
import { cleanup, killNode, startNode, waitFor } from '../helpers/nodes.js';
import { startCluster, viewOf, waitForGoalState } from '../helpers/cluster.js';

after(cleanup);

test('a joining node paused then killed mid-balancing loses no acknowledged write', async () => {
  const args = ['--dead-after-ms', '1500', '--heartbeat-ms', '100'];
  const nodes = await startCluster(2, { args });
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  const c = new Cluster({ seeds: addrs, fullWait: true, requestTimeoutMs: 10000 });
  await c.connect();
  const acked = new Map<string, number>();
  const errors = new Map<string, number>();
  let next = 0;
  let stop = false;
  const writer = async (): Promise<void> => {
    while (!stop && next < 100_000) {
      const i = next++;
      try {
        await c.set(`jf-${i}`, Buffer.alloc(512, i % 251));
        acked.set(`jf-${i}`, i % 251);
      } catch (e) {
        const code = e instanceof ClusterError ? e.code : 'OTHER';
        errors.set(code, (errors.get(code) ?? 0) + 1);
      }
    }
  };
  const writers = Array.from({ length: 16 }, writer);
  try {
    await new Promise((r) => setTimeout(r, 800));
    const joiner = await startNode({ nodes: [addrs[0]!], args });
    await joiner.waitForLog((l) => l['msg'] === 'ready');
    // Let buckets start moving to it, then freeze it mid-way.
    await nodes[0]!.waitForLog((l) => l['msg'] === 'bucket copy started' && l['to'] === joiner.addr, 10000);
    joiner.proc.kill('SIGSTOP');
    await waitFor('the joiner to be declared dead', async () => {
      const views = await viewOf(addrs);
      return views.every((v) => !v.members.some((m) => m.addr === joiner.addr)) ? true : undefined;
    }, 20000, 200);
    await killNode(joiner);
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(writers);
    await waitForGoalState(addrs, 30000);
    assert.ok(acked.size > 100, `writes went on (${acked.size} acknowledged, errors ${JSON.stringify([...errors])})`);
    const lost: string[] = [];
    for (const [key, fill] of acked) {
      const got = await c.getBinary(key);
      if (got === null || got.length !== 512 || got[0] !== fill) lost.push(key);
    }
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${acked.size} acknowledged writes lost`);
    const views = await viewOf(addrs);
    assert.equal(views.reduce((s, v) => s + v.primaries, 0), 256, 'one primary per bucket across the two nodes');
  } finally {
    stop = true;
    await Promise.all(writers);
    await c.close();
  }
});
