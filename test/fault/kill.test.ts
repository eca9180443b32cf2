// Kill -9 of one of three nodes while a client writes with full wait: no acknowledged write is
// lost, and the two survivors return to the goal state.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError } from '../../src/index.js';
import { cleanup, killNode } from '../helpers/nodes.js';
import { startCluster, waitForGoalState } from '../helpers/cluster.js';

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
