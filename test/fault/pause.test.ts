// A node paused (SIGSTOP): as a primary declared dead, once resumed it must not accept writes for
// the buckets it lost, and nothing written meanwhile may be overwritten; as a backup, a full-wait
// write waiting for it holds no other reply on the client's connection.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../src/index.js';
import { fnv1aUtf8 } from '../../src/shared/fnv.js';
import { cleanup, waitFor } from '../helpers/nodes.js';
import { startCluster, viewOf, waitForGoalState } from '../helpers/cluster.js';
import { RawClient, frame, int, str, R } from '../helpers/raw.js';

after(cleanup);

/** A set (2200) of a plain string key, built by hand. */
function setFrame(id: number, key: string, value: string): Buffer {
  const payload = Buffer.concat([str(''), str(key), int(0), int(0), int(3), str(value)]);
  return frame(2200, 0, id, payload);
}

test('a paused primary declared dead does not take writes after it resumes', async () => {
  const nodes = await startCluster(3, { args: ['--dead-after-ms', '1500', '--heartbeat-ms', '100'] });
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  const paused = nodes[1]!;
  const c = new Cluster({ seeds: [addrs[0]!, addrs[2]!], requestTimeoutMs: 8000 });
  await c.connect();
  try {
    const table = c.bucketTable();
    const keys: string[] = [];
    for (let i = 0; keys.length < 40 && i < 100_000; i++) {
      const key = `pause-${i}`;
      if (table.primaries[fnv1aUtf8(key) & table.mask] === paused.addr) keys.push(key);
    }
    assert.equal(keys.length, 40);
    for (const k of keys) await c.set(k, 'before');
    const raw = await RawClient.connect(paused.addr);
    paused.proc.kill('SIGSTOP');
    await waitFor('the paused node to be declared dead', async () => {
      const [v] = await viewOf([addrs[0]!]);
      return v!.members.some((m) => m.addr === paused.addr) ? undefined : true;
    }, 15000, 200);
    for (const k of keys) await c.set(k, 'after');
    // Stale writes wait in the paused node's socket and are read the moment it resumes.
    const ids = keys.map((k) => {
      const id = raw.id();
      raw.send(setFrame(id, k, 'stale'));
      return id;
    });
    paused.proc.kill('SIGCONT');
    const acks: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const reply = await raw.next((f) => f.requestId === ids[i], 10000, `reply to stale write ${i}`).catch(() => null);
      if (reply !== null && reply.command === R.ack) acks.push(keys[i]!);
    }
    raw.destroy();
    assert.deepEqual(acks, [], 'the resumed node acknowledged writes for buckets it lost');
    for (const k of keys) assert.equal(await c.get(k), 'after', `${k} kept the value written while the node was paused`);
    // It comes back as a new member holding nothing it had before.
    await waitForGoalState(addrs, 30000);
  } finally {
    paused.proc.kill('SIGCONT');
    await c.close();
  }
});

/** The first key whose bucket has this primary and whose backup passes the test. */
function keyOf(c: Cluster, primary: string, backupOk: (backup: string) => boolean): string {
  const t = c.bucketTable();
  for (let i = 0; i < 100_000; i++) {
    const key = `order-${i}`;
    const b = fnv1aUtf8(key) & t.mask;
    if (t.primaries[b] === primary && backupOk(t.backups[b]!)) return key;
  }
  throw new Error(`no key with primary ${primary} and such a backup`);
}

test('a full-wait write waiting for its paused backup holds no reply to a later request on the same connection', async () => {
  const nodes = await startCluster(3);
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  const [primary, paused] = [nodes[0]!, nodes[1]!];
  const c = new Cluster({ seeds: [primary.addr], requestTimeoutMs: 30_000 }); // full wait: the default
  await c.connect();
  let write: Promise<unknown> = Promise.resolve();
  try {
    const waitingKey = keyOf(c, primary.addr, (b) => b === paused.addr);
    const otherKey = keyOf(c, primary.addr, (b) => b !== paused.addr);
    await c.set(otherKey, 'other');
    paused.proc.kill('SIGSTOP');
    let writeSettled = false;
    write = c.set(waitingKey, 'waits').finally(() => (writeSettled = true));
    // Sent behind the write on the one connection to the primary; answered at once by the node.
    assert.equal(await c.get(otherKey), 'other');
    assert.equal(writeSettled, false, 'the get was answered only once the write before it was (replies held in request order)');
  } finally {
    paused.proc.kill('SIGCONT');
    await write.catch(() => undefined);
    await c.close();
  }
});
