// Kill -9 of two of three nodes at once. With --quorum off the survivor takes every bucket, also
// those whose primary and backup both died (each death alone left them to the other). With the
// default majority quorum the survivor either waits (no quorum) or judged the deaths one by one;
// once one of the dead restarts on its address, every bucket has an owner and takes writes.
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
  const nodes = await startCluster(3, { args: [...FAST, '--quorum', 'off'] });
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  await Promise.all([killNode(nodes[1]!), killNode(nodes[2]!)]);
  const survivor = nodes[0]!;
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

test('--quorum majority, kill -9 of two of three nodes: writes stop or go on as the deaths were judged; a dead node restarted on its address brings every bucket back', { timeout: 120_000 }, async () => {
  const nodes = await startCluster(3, { args: FAST });
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  await Promise.all([killNode(nodes[1]!), killNode(nodes[2]!)]);
  const survivor = nodes[0]!;
  // Deaths within a heartbeat of each other: the survivor hears one node of three (no quorum,
  // it waits) or judged the first death while it still heard the other (then it is a two-node
  // cluster, and the second death is judged as such). Which one is a matter of timing; both are
  // correct, and both must end with every bucket owned once a node is back.
  const outcome = await waitFor('the survivor to judge the deaths', () => {
    if (survivor.logs.some((l) => String(l['msg']).startsWith('no quorum'))) return 'no quorum';
    const dead = survivor.logs.filter((l) => l['msg'] === 'member declared dead').length;
    return dead === 2 ? 'both declared dead' : undefined;
  }, 15_000);
  console.log(`# double kill with the majority quorum: ${outcome}`);
  const back = await startNode({ listen: addrs[1]!, nodes: [survivor.addr], args: FAST });
  await waitForGoalState([survivor.addr, back.addr], 60_000);
  const c = new Cluster({ seeds: [survivor.addr, back.addr], requestTimeoutMs: 5000 });
  await c.connect();
  try {
    assert.deepEqual(await writeEveryBucket(c, keyPerBucket()), [], `a write to every bucket succeeds; survivor's last logs: ${logTail(survivor)}`);
  } finally {
    await c.close();
  }
});
