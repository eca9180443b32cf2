// Real ClusterNodes in the simulator: three nodes on virtual hosts form a cluster on virtual time
// (node handshake, joins, table sync, balancing with copies), and the same seed replays the same run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from '../../src/sim/cluster.js';

const HOSTS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

async function threeNodes(seed: number): Promise<{ sim: SimCluster; settled: boolean }> {
  const sim = new SimCluster({ seed, network: { minDelayMs: 0.05, maxDelayMs: 2 } });
  const first = await sim.start(HOSTS[0]!);
  await sim.start(HOSTS[1]!, [first.me]);
  await sim.start(HOSTS[2]!, [first.me]);
  const settled = await sim.runUntilSettled(120_000);
  sim.stop();
  return { sim, settled };
}

test('three real nodes form a balanced cluster on virtual time', async () => {
  const { sim, settled } = await threeNodes(1);
  assert.ok(settled, 'every bucket has a primary and a backup, every node agrees, no move runs');
  const nodes = [...sim.nodes.values()];
  for (const n of nodes) {
    assert.equal(n.members.dataMembers().length, 2, `${n.me} knows the two others`);
    const levels = n.loadLevels(0);
    assert.ok(levels.primaries >= 85 && levels.primaries <= 86, `${n.me} holds its share of primaries (${levels.primaries})`);
  }
});

test('the same seed gives the same run, byte for byte; another seed another run', async () => {
  const a = await threeNodes(7);
  const b = await threeNodes(7);
  const c = await threeNodes(8);
  assert.ok(a.settled && b.settled && c.settled);
  assert.equal(a.sim.trace.text(), b.sim.trace.text());
  assert.equal(a.sim.clock.nowMs(), b.sim.clock.nowMs(), 'settled at the same virtual time');
  assert.notEqual(a.sim.trace.text(), c.sim.trace.text());
});
