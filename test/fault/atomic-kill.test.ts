// kill -9 of a counter's primary while 8 clients increment it with full wait (3 nodes): every
// acknowledged increment is in the final value, and the final value is at most the acknowledged
// ones plus those reported indeterminate (which may or may not have landed). Each acknowledged
// increment returned a value no other acknowledged one returned (no increment applied twice or lost
// between acks). Versions made by the dead primary are the ones its promoted backups hold.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError } from '../../src/index.js';
import { fnv1aUtf8 } from '../../src/shared/fnv.js';
import { cleanup, killNode } from '../helpers/nodes.js';
import { startCluster, waitForGoalState } from '../helpers/cluster.js';

after(cleanup);

const CLIENTS = 8;
const KEY = 'atomic-kill:counter';
/** Increments each client makes at most: bounds the run whatever the timing. */
const PER_CLIENT_MAX = 2000;

interface Tally {
  acked: number;
  /** INDETERMINATE or BACKUP_FAILED: may or may not be applied. */
  unsure: number;
  /** Definitely not applied (never sent, or refused before it was applied). */
  refused: Map<string, number>;
  returned: bigint[];
}

test('8 clients incrementing one counter while its primary is killed -9: acked <= final <= acked + indeterminate', async (t) => {
  const nodes = await startCluster(3);
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  const clients = Array.from({ length: CLIENTS }, () => new Cluster({ seeds: addrs, fullWait: true, requestTimeoutMs: 8000 }));
  await Promise.all(clients.map((c) => c.connect()));
  const table = clients[0]!.bucketTable();
  const primary = table.primaries[fnv1aUtf8(KEY) & table.mask]!;
  const victim = nodes.find((n) => n.addr === primary)!;
  assert.ok(victim !== undefined, `the counter's primary ${primary} is one of ours`);
  // Items with known versions, on every node's buckets: their versions must survive the kill.
  const versioned = new Map<string, bigint>();
  for (let i = 0; i < 60; i++) {
    const key = `atomic-kill:v${i}`;
    await clients[0]!.set(key, `value-${i}`);
    versioned.set(key, (await clients[0]!.getWithVersion(key))!.version);
  }
  const onVictim = [...versioned.keys()].filter((k) => table.primaries[fnv1aUtf8(k) & table.mask] === primary).length;
  assert.ok(onVictim > 0, 'some versioned keys live on the node to be killed');
  const tally: Tally = { acked: 0, unsure: 0, refused: new Map(), returned: [] };
  let stop = false;
  let killed = false;
  const afterKill = { acked: 0 };
  const run = async (c: Cluster): Promise<void> => {
    for (let i = 0; i < PER_CLIENT_MAX && !stop; i++) {
      try {
        const v = await c.incr(KEY);
        tally.acked++;
        if (killed) afterKill.acked++;
        tally.returned.push(BigInt(v));
      } catch (e) {
        const code = e instanceof ClusterError ? e.code : 'OTHER';
        if (code === 'INDETERMINATE' || code === 'BACKUP_FAILED') tally.unsure++;
        else tally.refused.set(code, (tally.refused.get(code) ?? 0) + 1);
      }
    }
  };
  const runs = clients.map(run);
  try {
    // kill once the counter is well on its way, then go on until the survivors took 200 more
    await waitUntil(() => tally.acked >= 300 || stop);
    killed = true;
    await killNode(victim, 'SIGKILL');
    await waitUntil(() => afterKill.acked >= 200, 60_000);
    stop = true;
    await Promise.all(runs);
    const final = BigInt((await clients[0]!.get(KEY)) as number);
    const acked = BigInt(tally.acked);
    const note = `final ${final}, acked ${tally.acked}, indeterminate ${tally.unsure}, refused ${JSON.stringify([...tally.refused])}`;
    t.diagnostic(note);
    assert.ok(final >= acked, `an acknowledged increment was lost: ${note}`);
    assert.ok(final <= acked + BigInt(tally.unsure), `more increments landed than were sent: ${note}`);
    assert.equal(new Set(tally.returned).size, tally.returned.length, `two acknowledged increments returned the same value: ${note}`);
    assert.ok(tally.returned.every((v) => v <= final), `an acknowledged value is above the final one: ${note}`);
    // survivors settle back into the goal state, the counter still counts
    await waitForGoalState(addrs.filter((a) => a !== primary));
    assert.equal(BigInt((await clients[1]!.incr(KEY)) as number), final + 1n);
    // the promoted backups computed the same versions as the dead primary
    for (const [key, version] of versioned) {
      const got = (await clients[1]!.getWithVersion(key))!;
      assert.equal(got.version, version, `${key} kept its version across the failover (${onVictim} of them were on the killed node)`);
      await clients[1]!.set(key, 'after');
      assert.ok((await clients[1]!.getWithVersion(key))!.version > version, `${key}: a write after the failover takes a higher version`);
    }
  } finally {
    stop = true;
    await Promise.all(runs);
    await Promise.all(clients.map((c) => c.close()));
  }
});

/** Waits for a condition the running clients make true (bounded). */
async function waitUntil(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
