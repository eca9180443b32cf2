// Atomic operations under concurrency on a 3-node cluster: 8 clients in compare-and-set loops on
// one key lose no update; 8 clients setting one key ifAbsent at once: exactly one wins; 8 clients
// incrementing one counter: every increment counted once.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError } from '../../src/index.js';
import { cleanup } from '../helpers/nodes.js';
import { startCluster, waitForGoalState } from '../helpers/cluster.js';

const CLIENTS = 8;
let addrs: string[] = [];
let clients: Cluster[] = [];

before(async () => {
  const nodes = await startCluster(3);
  addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  clients = Array.from({ length: CLIENTS }, () => new Cluster({ seeds: addrs, fullWait: true }));
  await Promise.all(clients.map((c) => c.connect()));
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cleanup();
});

test('8 clients in compare-and-set loops on one key: no lost update', async () => {
  const key = 'cas:counter';
  const perClient = 25;
  await clients[0]!.set(key, 0);
  let mismatches = 0;
  const loop = async (c: Cluster): Promise<void> => {
    for (let done = 0, attempts = 0; done < perClient; attempts++) {
      assert.ok(attempts < 10_000, 'a CAS loop made no progress');
      const cur = (await c.getWithVersion(key))!;
      try {
        await c.set(key, (cur.value as number) + 1, { ifVersion: cur.version });
        done++;
      } catch (e) {
        if (!(e instanceof ClusterError) || e.code !== 'VERSION_MISMATCH') throw e;
        mismatches++;
      }
    }
  };
  await Promise.all(clients.map(loop));
  assert.equal(await clients[0]!.get(key), CLIENTS * perClient, `every compare-and-set counted once (${mismatches} mismatches retried)`);
  assert.ok(mismatches > 0, 'the clients did contend (else the test shows nothing)');
});

test('8 clients setting one key ifAbsent at once: exactly one wins, every time', async () => {
  for (let round = 0; round < 20; round++) {
    const key = `absent:${round}`;
    const results = await Promise.all(clients.map((c, i) => c.set(key, `client-${i}`, { ifAbsent: true })));
    const winners = results.flatMap((won, i) => (won ? [i] : []));
    assert.equal(winners.length, 1, `round ${round}: winners ${JSON.stringify(winners)}`);
    assert.equal(await clients[0]!.get(key), `client-${winners[0]}`, 'the stored value is the winner\'s');
  }
});

test('8 clients incrementing one counter: each increment counted once, each new value seen once', async () => {
  const key = 'incr:shared';
  const perClient = 50;
  const seen: number[] = [];
  await Promise.all(clients.map(async (c) => {
    for (let i = 0; i < perClient; i++) seen.push((await c.incr(key)) as number);
  }));
  assert.equal(await clients[0]!.get(key), CLIENTS * perClient);
  assert.equal(new Set(seen).size, CLIENTS * perClient);
});
