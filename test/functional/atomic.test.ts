// Atomic single-key operations, conditional writes and versions against real nodes: incr/decr on
// int and long items (overflow never wraps, a missing key starts from initial, other types are
// WRONG_TYPE), set ifAbsent/ifExists, getAndSet, getAndDelete, getWithVersion, ifVersion on set
// and delete, the map forms, and versions that survive a hand-over and keep changing after it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError } from '../../src/index.js';
import { cleanup, startNode } from '../helpers/nodes.js';
import { startCluster, waitForGoalState } from '../helpers/cluster.js';

after(cleanup);

async function rejectsWith(p: Promise<unknown>, code: string): Promise<ClusterError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ClusterError, `expected a ClusterError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

test('incr/decr, conditional sets, getAndSet, getAndDelete and versions on one node', async () => {
  const node = await startNode();
  const c = new Cluster({ seeds: [node.addr] });
  await c.connect();
  try {
    // int items: a missing key starts from 0 (or initial); the type stays int
    assert.equal(await c.incr('n'), 1);
    assert.equal(await c.incr('n', 41), 42);
    assert.equal(await c.decr('n', 2), 40);
    assert.equal(await c.decr('n'), 39);
    assert.equal(await c.getInt('n'), 39);
    assert.equal(await c.incr('fresh', 5, { initial: 100 }), 105);
    // long items
    assert.equal(await c.incr('big', 1n), 1n);
    assert.equal(await c.incr('big2', 1, { initial: 2n ** 40n }), 2n ** 40n + 1n);
    assert.equal(await c.getLong('big2'), 2n ** 40n + 1n);
    // overflow is an error that changes nothing, never a wrap
    await c.set('i32', 2 ** 31 - 2);
    assert.equal(await c.incr('i32'), 2 ** 31 - 1);
    const e = await rejectsWith(c.incr('i32'), 'OVERFLOW');
    assert.match(e.message, /range/);
    assert.equal(await c.getInt('i32'), 2 ** 31 - 1);
    await rejectsWith(c.decr('neg', 1, { initial: -(2 ** 31) }), 'OVERFLOW');
    assert.equal(await c.exists('neg'), false, 'an overflowing incr creates nothing');
    await c.set('l64', 2n ** 63n - 1n);
    await rejectsWith(c.incr('l64'), 'OVERFLOW');
    assert.equal(await c.getLong('l64'), 2n ** 63n - 1n);
    // another type is WRONG_TYPE
    await c.set('s', 'text');
    await rejectsWith(c.incr('s'), 'WRONG_TYPE');
    assert.equal(await c.getString('s'), 'text');
    await rejectsWith(c.incr('n', 1.5), 'BAD_REQUEST');
    // expiresSec applies to an item incr creates, not to an existing one
    assert.equal(await c.incr('ttl-new', 1, { expiresSec: 100 }), 1);
    const ttl = await c.ttl('ttl-new');
    assert.ok(ttl > 90_000 && ttl <= 100_000, `ttl ${ttl}`);
    assert.equal(await c.incr('n', 1, { expiresSec: 100 }), 40);
    assert.equal(await c.ttl('n'), -1);

    // set ifAbsent / ifExists answer whether they wrote
    assert.equal(await c.set('once', 'a', { ifAbsent: true }), true);
    assert.equal(await c.set('once', 'b', { ifAbsent: true }), false);
    assert.equal(await c.get('once'), 'a');
    assert.equal(await c.set('nobody', 'x', { ifExists: true }), false);
    assert.equal(await c.exists('nobody'), false);
    assert.equal(await c.set('once', 'c', { ifExists: true }), true);
    assert.equal(await c.get('once'), 'c');
    await rejectsWith(c.set('once', 'd', { ifAbsent: true, ifExists: true } as never), 'BAD_REQUEST');

    // getAndSet / getAndDelete
    assert.equal(await c.getAndSet('gs', 'first'), null);
    assert.equal(await c.getAndSet('gs', 'second'), 'first');
    assert.equal(await c.get('gs'), 'second');
    assert.equal(await c.getAndDelete('gs'), 'second');
    assert.equal(await c.exists('gs'), false);
    assert.equal(await c.getAndDelete('gs'), null);

    // versions: every write changes it; ifVersion on set and delete
    assert.equal(await c.getWithVersion('missing'), null);
    await c.set('v', 'one');
    const v1 = (await c.getWithVersion('v'))!;
    assert.equal(v1.value, 'one');
    assert.ok(v1.version > 0n);
    await c.set('v', 'one');
    const v2 = (await c.getWithVersion('v'))!;
    assert.ok(v2.version > v1.version, 'a write of the same value still changes the version');
    await c.expire('v', 1000);
    const v3 = (await c.getWithVersion('v'))!;
    assert.ok(v3.version > v2.version, 'expire is a write');
    await rejectsWith(c.set('v', 'two', { ifVersion: v1.version }), 'VERSION_MISMATCH');
    assert.equal(await c.get('v'), 'one');
    const v4 = await c.setIf('v', 'two', { ifVersion: v3.version });
    assert.ok(v4 !== null && v4 > v3.version);
    assert.equal((await c.getWithVersion('v'))!.version, v4);
    await rejectsWith(c.delete('v', { ifVersion: v3.version }), 'VERSION_MISMATCH');
    assert.equal(await c.delete('v', { ifVersion: v4 }), true);
    await rejectsWith(c.delete('v', { ifVersion: v4 }), 'VERSION_MISMATCH');
    await rejectsWith(c.set('v', 'three', { ifVersion: v4 }), 'VERSION_MISMATCH');
    await c.set('v', 'again');
    assert.ok((await c.getWithVersion('v'))!.version > v4, 'a re-created item never takes an old version');
    const afterIncr = (await c.getWithVersion('n'))!.version;
    await c.incr('n');
    assert.ok((await c.getWithVersion('n'))!.version > afterIncr, 'incr changes the version');

    // the map forms
    const m = c.map('counters');
    assert.equal(await m.incr('hits'), 1);
    assert.equal(await m.incr('hits', 9), 10);
    assert.equal(await m.decr('hits', 3), 7);
    assert.equal(await m.set('flag', 'on', { ifAbsent: true }), true);
    assert.equal(await m.set('flag', 'off', { ifAbsent: true }), false);
    const fv = (await m.getWithVersion('flag'))!;
    assert.equal(fv.value, 'on');
    assert.equal(await m.set('flag', 'off', { ifVersion: fv.version }), true);
    await rejectsWith(m.set('flag', 'x', { ifVersion: fv.version }), 'VERSION_MISMATCH');
    assert.equal(await m.getAndSet('flag', 'x'), 'off');
    assert.equal(await m.getAndDelete('flag'), 'x');
    assert.deepEqual([...(await m.getAll())], [['hits', 7]]);
    assert.equal(await c.exists('hits'), false, 'a map entry is not a plain key');
  } finally {
    await c.close();
  }
});

test('versions reach the backup and survive a hand-over; full-wait atomic writes', async () => {
  const nodes = await startCluster(3);
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  const c = new Cluster({ seeds: addrs, fullWait: true });
  await c.connect();
  try {
    const keys = Array.from({ length: 40 }, (_, i) => `hand-${i}`);
    for (const k of keys) {
      await c.incr(k, 3);
      await c.set(`${k}-s`, 'v');
    }
    const before = new Map<string, bigint>();
    for (const k of keys) before.set(k, (await c.getWithVersion(k))!.version);
    // the primary of the first key leaves gracefully: its buckets are handed over
    nodes[0]!.signal('SIGINT');
    await nodes[0]!.exited;
    const rest = addrs.slice(1);
    await waitForGoalState(rest);
    for (const k of keys) {
      const got = (await c.getWithVersion(k))!;
      assert.equal(got.value, 3, `${k} kept its value`);
      assert.equal(got.version, before.get(k), `${k} kept its version across the hand-over`);
      assert.equal(await c.incr(k), 4);
      assert.ok((await c.getWithVersion(k))!.version > before.get(k)!, `${k}: a write after the hand-over takes a new, higher version`);
    }
  } finally {
    await c.close();
  }
});
