// Bulk traffic both ways on the node link and on the client's link (large full-wait writes and
// large reads at once) must not freeze either link: no node is declared dead, nothing is lost.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError } from '../../src/index.js';
import { cleanup } from '../helpers/nodes.js';
import { startCluster, waitForGoalState } from '../helpers/cluster.js';

after(cleanup);

test('128 concurrent 1 MiB full-wait writes and 64 reads on two nodes: all answered, no false death', async () => {
  const nodes = await startCluster(2);
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  const c = new Cluster({ seeds: addrs, fullWait: true, requestTimeoutMs: 20000 });
  await c.connect();
  try {
    const value = (i: number): Buffer => Buffer.alloc(1024 * 1024, i);
    for (let i = 0; i < 64; i++) await c.set(`warm-${i}`, value(i));
    const writes = Array.from({ length: 128 }, (_, i) => c.set(`bulk-${i}`, value(i)));
    const reads = Array.from({ length: 64 }, (_, i) => c.getBinary(`warm-${i}`));
    const results = await Promise.allSettled([...writes, ...reads]);
    const failures = results.filter((r) => r.status === 'rejected').map((r) => ((r as PromiseRejectedResult).reason as ClusterError).code);
    assert.deepEqual(failures, [], 'every bulk request answered');
    for (let i = 0; i < 128; i++) {
      const got = await c.getBinary(`bulk-${i}`);
      assert.ok(got !== null && got.equals(value(i)), `bulk-${i} holds its value`);
    }
    for (const n of nodes) {
      const deaths = n.logs.filter((l) => l['msg'] === 'member declared dead');
      assert.deepEqual(deaths, [], `${n.addr} declared no member dead`);
    }
  } finally {
    await c.close();
  }
});
