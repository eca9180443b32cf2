// Replication and migration on the simulator's clock and network, with real nodes: a full-wait
// write is acknowledged only once its backup holds it, and waits out a cut of the backup's link;
// a join (copies to the new node) and a graceful leave (hand-over) under a steady writer lose no
// acknowledged write, and every backup ends equal to its primary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from '../../src/sim/cluster.js';
import { SimClient } from '../../src/sim/client.js';
import { Ledger } from '../../src/sim/ledger.js';
import { checkValues } from '../../src/sim/run.js';
import type { ClusterNode } from '../../src/server/node.js';
import { sleep } from '../../src/shared/clock.js';

const HOSTS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

async function settled(seed: number, hosts: string[]): Promise<{ sim: SimCluster; ledger: Ledger; client: SimClient }> {
  const sim = new SimCluster({ seed, network: { minDelayMs: 0.05, maxDelayMs: 2 }, node: { mask: 63 } });
  const first = await sim.start(hosts[0]!);
  for (const h of hosts.slice(1)) await sim.start(h, [first.me]);
  assert.ok(await sim.runUntilSettled(120_000), `${hosts.length} nodes settle`);
  const ledger = new Ledger(() => sim.clock.nowMs());
  const client = new SimClient({ name: 'c1', host: '10.0.1.1', nodes: HOSTS.map((h) => `${h}:13600`), net: sim.net, clock: sim.clock, random: sim.random.fork(), trace: sim.trace, ledger });
  return { sim, ledger, client };
}

/** Runs virtual time until `p` settles (bounded); resolves with whether it did. */
async function runUntilDone(sim: SimCluster, p: Promise<unknown>, boundMs: number): Promise<boolean> {
  let done = false;
  void p.finally(() => (done = true));
  await sim.clock.run({ until: () => done, untilMs: sim.clock.nowMs() + boundMs, maxEvents: 5_000_000 });
  return done;
}

/** The value of key at node n, or null. */
function valueAt(n: ClusterNode, key: string): string | null {
  const b = n.store.bucketOf('', key);
  const it = n.store.read(b, '', key, n.clock.wallMs(), null);
  return it === undefined ? null : it.value.t === 3 || it.value.t === 4 ? it.value.v.toString('latin1') : null;
}

function ownersOf(sim: SimCluster, key: string): { primary: ClusterNode; backup: ClusterNode } {
  const any = [...sim.nodes.values()][0]!;
  const e = any.table.get(any.store.bucketOf('', key));
  return { primary: sim.nodes.get(e.primary)!, backup: sim.nodes.get(e.backup)! };
}

test('a full-wait write is acknowledged only once the backup holds it', async () => {
  const { sim, ledger, client } = await settled(7, HOSTS);
  try {
    for (let i = 0; i < 20; i++) {
      const key = `r${i}`;
      assert.ok(await runUntilDone(sim, client.write(key), 30_000), `write ${key} ends`);
      assert.equal(ledger.counts.ack, i + 1, `write ${key} acknowledged`);
      const { primary, backup } = ownersOf(sim, key);
      assert.equal(valueAt(backup, key), valueAt(primary, key), `the backup ${backup.me} holds ${key} at the moment of the ack`);
      assert.notEqual(valueAt(backup, key), null);
    }
  } finally {
    client.close();
    sim.stop();
  }
});

test('a cut of the link to the backup holds the write until the link heals; then it is acknowledged and on both nodes', async () => {
  const { sim, ledger, client } = await settled(8, HOSTS);
  try {
    const key = 'held';
    const { primary, backup } = ownersOf(sim, key);
    const hostOf = (n: ClusterNode): string => n.me.slice(0, n.me.indexOf(':'));
    sim.net.cut(hostOf(primary), hostOf(backup));
    const write = client.write(key);
    // Well below the dead-after time (3 s): nobody is declared dead, and the write waits.
    assert.equal(await runUntilDone(sim, write, 1000), false, 'not answered while the backup is cut off');
    assert.equal(ledger.counts.ack, 0);
    sim.net.heal(hostOf(primary), hostOf(backup));
    assert.ok(await runUntilDone(sim, write, 30_000), 'answered after the heal');
    assert.equal(ledger.counts.ack, 1, 'acknowledged');
    assert.equal(valueAt(ownersOf(sim, key).backup, key), valueAt(ownersOf(sim, key).primary, key));
  } finally {
    client.close();
    sim.stop();
  }
});

/** A writer over 8 keys until `stop()`; resolves when it has stopped. */
function steadyWriter(sim: SimCluster, client: SimClient): { stop(): void; done: Promise<void> } {
  let stopping = false;
  const done = (async () => {
    for (let i = 0; !stopping; i++) {
      await client.write(`w${i % 8}`);
      await sleep(sim.clock, 10);
    }
  })();
  return { stop: () => (stopping = true), done };
}

test('a join under a steady writer: the copies to the new node lose no acknowledged write', async () => {
  const { sim, ledger, client } = await settled(9, HOSTS.slice(0, 2));
  try {
    const writer = steadyWriter(sim, client);
    await sim.clock.run({ untilMs: sim.clock.nowMs() + 500 });
    const before = ledger.counts.ack;
    await sim.start(HOSTS[2]!, [`${HOSTS[0]}:13600`]);
    assert.ok(await sim.runUntilSettled(120_000), 'three nodes settle after the join');
    assert.ok(ledger.counts.ack > before, `writes were acknowledged during the join (${ledger.counts.ack - before})`);
    writer.stop();
    assert.ok(await runUntilDone(sim, writer.done, 60_000), 'the writer stops');
    assert.ok(sim.nodes.get(`${HOSTS[2]}:13600`)!.store.totalItems() > 0, 'the new node holds copies');
    checkValues(sim, ledger);
    assert.deepEqual(ledger.violations, []);
  } finally {
    client.close();
    sim.stop();
  }
});

test('a graceful leave under a steady writer: the hand-over loses no acknowledged write', async () => {
  const { sim, ledger, client } = await settled(10, HOSTS);
  try {
    const writer = steadyWriter(sim, client);
    await sim.clock.run({ untilMs: sim.clock.nowMs() + 500 });
    assert.ok(await runUntilDone(sim, sim.leave(HOSTS[1]!), 60_000), 'the leave completes');
    assert.equal(sim.nodes.size, 2);
    assert.ok(await sim.runUntilSettled(120_000), 'the two others settle');
    writer.stop();
    assert.ok(await runUntilDone(sim, writer.done, 60_000), 'the writer stops');
    assert.equal(ledger.counts.unknown, 0, 'a planned leave leaves no write indeterminate');
    checkValues(sim, ledger);
    assert.deepEqual(ledger.violations, []);
  } finally {
    client.close();
    sim.stop();
  }
});
