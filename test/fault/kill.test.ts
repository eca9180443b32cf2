// Kill -9 of one of three nodes while a client writes with full wait: no acknowledged write is
// lost, and the two survivors return to the goal state. And of the lower address of two nodes: the
// higher one, which may not declare it dead on silence alone (two nodes cannot tell a cut from a
// death), does so once a dial to it is refused, and takes every bucket.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError } from '../../src/index.js';
import { cleanup, killNode, logTail } from '../helpers/nodes.js';
import { startCluster, viewOf, waitForGoalState } from '../helpers/cluster.js';

after(cleanup);

test('kill -9 of one of three nodes loses no acknowledged full-wait write', async () => {
  const nodes = await startCluster(3);
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  const c = new Cluster({ seeds: addrs, fullWait: true, requestTimeoutMs: 8000 });
  await c.connect();
  const acked = new Map<string, string>();
  const errors = new Map<string, number>();
  let next = 0;
  let stop = false;
  const writer = async (): Promise<void> => {
    while (!stop && next < 200_000) {
      const i = next++;
      const key = `kill-${i}`;
      try {
        await c.set(key, `value-${i}`);
        acked.set(key, `value-${i}`);
      } catch (e) {
        const code = e instanceof ClusterError ? e.code : 'OTHER';
        errors.set(code, (errors.get(code) ?? 0) + 1);
      }
    }
  };
  const writers = Array.from({ length: 20 }, writer);
  try {
    await new Promise((r) => setTimeout(r, 1500));
    await killNode(nodes[1]!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 2500));
    stop = true;
    await Promise.all(writers);
    assert.ok(acked.size > 100, `the client kept writing (${acked.size} acknowledged; errors ${JSON.stringify([...errors])})`);
    const survivors = [addrs[0]!, addrs[2]!];
    await waitForGoalState(survivors);
    const lost: string[] = [];
    for (const [key, value] of acked) {
      const got = await c.get(key);
      if (got !== value) lost.push(key);
    }
    assert.deepEqual(lost.slice(0, 20), [], `${lost.length} acknowledged writes lost of ${acked.size}`);
  } finally {
    stop = true;
    await Promise.all(writers);
    await c.close();
  }
});

test('two nodes, kill -9 of the lower address: the higher declares it dead on a refused dial and takes every bucket, nothing acknowledged lost', async () => {
  const nodes = await startCluster(2);
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  const [lower, higher] = [...nodes].sort((a, b) => (a.addr < b.addr ? -1 : 1)) as [(typeof nodes)[0], (typeof nodes)[0]];
  const c = new Cluster({ seeds: [higher.addr], fullWait: true, requestTimeoutMs: 10_000 });
  await c.connect();
  try {
    for (let i = 0; i < 200; i++) await c.set(`two-${i}`, `v${i}`);
    await killNode(lower, 'SIGKILL');
    await higher.waitForLog((l) => l['msg'] === 'member declared dead' && l['peer'] === lower.addr, 20_000).catch((e: unknown) => {
      throw new Error(`${String(e)}; its last logs: ${logTail(higher)}`);
    });
    await waitForGoalState([higher.addr]);
    const [v] = await viewOf([higher.addr]);
    assert.equal(v!.primaries, 256, 'the higher address holds every bucket');
    const lost: string[] = [];
    for (let i = 0; i < 200; i++) if ((await c.getString(`two-${i}`)) !== `v${i}`) lost.push(`two-${i}`);
    assert.deepEqual(lost, [], 'every acknowledged write reads back');
    await c.set('two-after', 'writable');
    assert.equal(await c.getString('two-after'), 'writable');
  } finally {
    await c.close();
  }
});
