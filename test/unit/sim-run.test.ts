// The simulator's runs (src/sim/run.ts): seeded fault schedules against three real nodes with
// clients keeping a ledger. With the protection on (--quorum majority) the seeds below find no
// violation; with it off, single link cuts lose acknowledged writes and the checker says so; a seed
// replays byte for byte. Kill, restart and stall of a node are shown on the SimCluster itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRun, runSeed } from '../../src/sim/run.js';
import { SimCluster } from '../../src/sim/cluster.js';

/** Seeds 1..100 with every fault kind: about 0.26 s each on one core (virtual 20 s each). */
const PROTECTED_SEEDS = 100;

test(`${PROTECTED_SEEDS} seeded runs with --quorum majority: no acknowledged write lost, one settled cluster after the heal`, async () => {
  const failing: string[] = [];
  let acked = 0;
  let faults = 0;
  for (let seed = 1; seed <= PROTECTED_SEEDS; seed++) {
    const r = await runSeed({ seed });
    acked += r.writes.ack;
    faults += r.schedule.length;
    if (!r.ok) failing.push(describeRun(r));
  }
  assert.ok(acked > 10_000, `the clients got writes acknowledged (${acked})`);
  assert.ok(faults >= PROTECTED_SEEDS, `the schedules applied faults (${faults})`);
  assert.deepEqual(failing, [], failing.join('\n\n'));
});

test('regressions the soak found: a rejoined or restarted node never serves a bucket its previous incarnation owned (seeds 116, 186)', async () => {
  for (const seed of [116, 186]) {
    const r = await runSeed({ seed });
    assert.ok(r.ok, describeRun(r, 40));
  }
});

// Seed 153 (a kill -9 and restart of a node, then a stall of it and a cut): after the cluster
// settles, two keys' backups hold older values than their primaries. No acknowledged write is lost
// at a primary; whether a backup may lag once settled, or a push was missed without a gap being
// noticed, is not yet known. Kept visible here until it is explained (docs/architecture.md).
test('found by the soak with --quorum majority, not yet explained: seed 153', { todo: 'seed 153: a backup older than its primary after settling' }, async () => {
  const r = await runSeed({ seed: 153 });
  assert.ok(r.ok, describeRun(r, 40));
});

test('the checker bites: with --quorum off, single link cuts lose acknowledged writes within 20 seeds', async () => {
  let found: string | null = null;
  for (let seed = 1; seed <= 20 && found === null; seed++) {
    const r = await runSeed({ seed, quorum: 'off', faults: ['cut'] });
    const lost = r.violations.find((v) => v.kind === 'staleRead' || v.kind === 'lost' || v.kind === 'olderValue');
    if (lost !== undefined) {
      found = `seed ${seed}: ${lost.kind}: ${lost.detail}`;
      console.log(`--quorum off loses writes: ${found}\n${r.schedule.join('\n')}`);
    }
  }
  assert.ok(found !== null, 'no lost write found in 20 seeds with the protection off');
  assert.match(found, /acknowledged/);
});

test('the same seed gives the same run, byte for byte', async () => {
  const a = await runSeed({ seed: 42 });
  const b = await runSeed({ seed: 42 });
  const c = await runSeed({ seed: 43 });
  assert.ok(a.sim.trace.length > 1000, 'the run did something');
  assert.equal(a.sim.trace.text(), b.sim.trace.text());
  assert.deepEqual(a.schedule, b.schedule);
  assert.deepEqual(a.writes, b.writes);
  assert.equal(a.events, b.events);
  assert.notEqual(a.sim.trace.text(), c.sim.trace.text());
});

const HOSTS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

async function settledThree(seed: number): Promise<SimCluster> {
  const sim = new SimCluster({ seed, network: { minDelayMs: 0.05, maxDelayMs: 2 }, node: { mask: 63 } });
  const first = await sim.start(HOSTS[0]!);
  await sim.start(HOSTS[1]!, [first.me]);
  await sim.start(HOSTS[2]!, [first.me]);
  assert.ok(await sim.runUntilSettled(120_000), 'three nodes settle');
  return sim;
}

test('kill -9 stops a node for good (no timer of it runs); restart brings a new incarnation that the others take in', async () => {
  const sim = await settledThree(5);
  const victim = sim.nodes.get(`${HOSTS[2]}:13600`)!;
  const oldIncarnation = victim.incarnation;
  let ticks = 0;
  const tick = victim.members.tick.bind(victim.members);
  victim.members.tick = () => {
    ticks++;
    tick();
  };
  sim.kill(HOSTS[2]!);
  await sim.clock.run({ untilMs: sim.clock.nowMs() + 10_000 });
  assert.equal(ticks, 0, 'the killed node ran no heartbeat tick');
  const others = [...sim.nodes.values()];
  assert.equal(others.length, 2);
  for (const n of others) assert.equal(n.members.dataMembers().length, 1, `${n.me} declared the killed node dead`);
  const fresh = await sim.restart(HOSTS[2]!);
  assert.notEqual(fresh.incarnation, oldIncarnation);
  assert.ok(await sim.runUntilSettled(120_000), 'the three settle again');
  for (const n of sim.nodes.values()) {
    const inc = n.members.memberList().find((m) => m.addr === fresh.me)?.incarnation;
    assert.equal(inc, fresh.incarnation, `${n.me} knows the new incarnation`);
  }
  sim.stop();
});

test('a stall defers the node: nothing of it runs during the pause, its callbacks run after it, in order', async () => {
  const sim = await settledThree(6);
  const node = sim.nodes.get(`${HOSTS[1]}:13600`)!;
  const ran: number[] = [];
  node.clock.setTimeout(() => ran.push(1), 100);
  node.clock.setTimeout(() => ran.push(2), 200);
  const startMs = sim.clock.nowMs();
  sim.stall(HOSTS[1]!, 1000);
  await sim.clock.run({ untilMs: startMs + 999 });
  assert.deepEqual(ran, [], 'nothing ran during the stall');
  await sim.clock.run({ untilMs: startMs + 1001 });
  assert.deepEqual(ran, [1, 2], 'both ran after the stall, in order');
  sim.stop();
});
