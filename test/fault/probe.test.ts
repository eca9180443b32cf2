// Nodes probe the address of a member they declared dead (so a split can heal): a new, unrelated
// node that now listens on that address must be left alone, with its own data.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../src/index.js';
import { cleanup, killNode, logTail, startNode, waitFor } from '../helpers/nodes.js';
import { startCluster, viewOf, waitForGoalState } from '../helpers/cluster.js';

after(cleanup);

test('a stand-alone node on a dead member\'s address is not pulled into the cluster', async () => {
  const nodes = await startCluster(3, { args: ['--dead-after-ms', '1500', '--heartbeat-ms', '100'] });
  await waitForGoalState(nodes.map((n) => n.addr));
  const sorted = [...nodes].sort((a, b) => (a.addr < b.addr ? -1 : 1));
  const victim = sorted[2]!; // the highest address: the others are the ones that probe it
  const survivors = sorted.slice(0, 2).map((n) => n.addr);
  await killNode(victim);
  await waitFor('the survivors to declare it dead', async () => {
    const views = await viewOf(survivors);
    return views.every((v) => !v.members.some((m) => m.addr === victim.addr)) ? true : undefined;
  }, 15000, 200);
  const stranger = await startNode({ listen: victim.addr });
  const c = new Cluster({ seeds: [stranger.addr] });
  await c.connect();
  try {
    for (let i = 0; i < 50; i++) await c.set(`stranger-${i}`, i);
    // The lowest survivor probes the dead incarnation's address; the stranger answers "not me".
    await sorted[0]!.waitForLog((l) => l['msg'] === 'probe answered' && l['peer'] === victim.addr && l['verdict'] === 0, 15000);
    const [mine] = await viewOf([stranger.addr]);
    assert.deepEqual(mine!.members, [], `the stranger knows no members; its logs: ${logTail(stranger, 10)}`);
    assert.equal(mine!.primaries, 256, 'the stranger still owns every bucket of its own cluster');
    for (let i = 0; i < 50; i++) assert.equal(await c.get(`stranger-${i}`), i, `stranger-${i} kept`);
    for (const v of await viewOf(survivors)) {
      assert.ok(!v.members.some((m) => m.addr === stranger.addr), `${v.addr} did not take the stranger in`);
    }
    assert.ok(!stranger.logs.some((l) => String(l['msg']).includes('rejoin')), 'the stranger was never told to rejoin');
  } finally {
    await c.close();
  }
});
