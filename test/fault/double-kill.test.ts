// Kill -9 of two of three nodes at once. With --quorum off the survivor takes every bucket, also
// those whose primary and backup both died (each death alone left them to the other): those wait
// ownerless for a copy to come back for --lost-bucket-grace-ms, then are taken over empty. With the
// default majority quorum the survivor, hearing one node of three, serves nothing; once one of the
// dead restarts on its address, every bucket has an owner and takes writes again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError } from '../../src/index.js';
import { fnv1aUtf8 } from '../../src/shared/fnv.js';
import { cleanup, killNode, startNode, waitFor, logTail } from '../helpers/nodes.js';
import { startCluster, viewOf, waitForGoalState } from '../helpers/cluster.js';

after(cleanup);

const FAST = ['--dead-after-ms', '1500', '--heartbeat-ms', '100'];
const BUCKETS = 256;

/** One key for every bucket of the default mask. */
function keyPerBucket(): string[] {
  const keys = new Array<string>(BUCKETS);
  let found = 0;
  for (let i = 0; found < BUCKETS && i < 1_000_000; i++) {
    const key = `dk-${i}`;
    const b = fnv1aUtf8(key) & (BUCKETS - 1);
    if (keys[b] === undefined) {
      keys[b] = key;
      found++;
    }
  }
  assert.equal(found, BUCKETS, 'a key for every bucket');
  return keys;
}

/** Writes a key in every bucket; returns the keys whose write failed, with the error code. */
async function writeEveryBucket(c: Cluster, keys: string[]): Promise<string[]> {
  const failed: string[] = [];
  await Promise.all(
    keys.map(async (key) => {
      try {
        await c.set(key, 'v');
      } catch (e) {
        failed.push(`${key}: ${e instanceof ClusterError ? e.code : String(e)}`);
      }
    }),
  );
  return failed;
}

test('--quorum off, kill -9 of two of three nodes: the survivor takes every bucket, those whose primary and backup both died too', { timeout: 120_000 }, async () => {
  const nodes = await startCluster(3, { args: [...FAST, '--quorum', 'off', '--lost-bucket-grace-ms', '2000'] });
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  await Promise.all([killNode(nodes[1]!), killNode(nodes[2]!)]);
  const survivor = nodes[0]!;
  // Buckets whose two holders both died wait for a copy first, then are taken over empty.
  await survivor.waitForLog((l) => String(l['msg']).startsWith('no live copy of a bucket'), 20_000);
  await survivor.waitForLog((l) => String(l['msg']).startsWith('bucket lost: no copy came back'), 20_000);
  await waitFor('the survivor owns every bucket', async () => {
    const [v] = await viewOf([survivor.addr]);
    return v!.primaries === BUCKETS ? true : undefined;
  }, 30_000, 250);
  const c = new Cluster({ seeds: [survivor.addr], requestTimeoutMs: 5000 });
  await c.connect();
  try {
    assert.deepEqual(await writeEveryBucket(c, keyPerBucket()), [], 'a write to every bucket succeeds');
  } finally {
    await c.close();
  }
});

test('--quorum majority, kill -9 of two of three nodes: the survivor serves nothing; a dead node restarted on its address brings every bucket back', { timeout: 120_000 }, async () => {
  const nodes = await startCluster(3, { args: FAST });
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  await Promise.all([killNode(nodes[1]!), killNode(nodes[2]!)]);
  const survivor = nodes[0]!;
  // Killed together, they fell silent within a heartbeat of each other: neither vouches for the
  // other (a refused dial needs the others heard well after the refused one fell silent).
  await survivor.waitForLog((l) => String(l['msg']).startsWith('no quorum'), 15_000);
  const keys = keyPerBucket();
  const c = new Cluster({ seeds: [survivor.addr], requestTimeoutMs: 2000 });
  await c.connect();
  try {
    const failed = await writeEveryBucket(c, keys.slice(0, 16));
    assert.equal(failed.length, 16, `no write is taken without a quorum (failed: ${failed.length} of 16)`);
    assert.deepEqual(survivor.logs.filter((l) => l['msg'] === 'member declared dead').map((l) => l['why']), [], 'the survivor declared no one dead');
  } finally {
    await c.close();
  }
  const back = await startNode({ listen: addrs[1]!, nodes: [survivor.addr], args: FAST });
  await waitForGoalState([survivor.addr, back.addr], 60_000);
  const c2 = new Cluster({ seeds: [survivor.addr, back.addr], requestTimeoutMs: 5000 });
  await c2.connect();
  try {
    assert.deepEqual(await writeEveryBucket(c2, keys), [], `a write to every bucket succeeds; survivor's last logs: ${logTail(survivor)}`);
  } finally {
    await c2.close();
  }
});
