// Functional tests of the client's data API against one real `serve` process over loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError, WrongTypeError, type ClusterValue } from '../../src/index.js';
import { cleanup, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';
import { rejectsWith } from '../helpers/assertions.js';

let node: NodeProcess;
let cluster: Cluster;
const added: string[] = [];

before(async () => {
  node = await startNode();
  cluster = new Cluster({ seeds: [node.addr], requestTimeoutMs: 10_000 });
  cluster.on('nodeAdded', (a) => added.push(a));
  await cluster.connect();
});

after(async () => {
  await cluster?.close();
  await cleanup();
});

test('connect learns the node and loads its bucket table', () => {
  assert.deepEqual(cluster.nodes(), [node.addr]);
  assert.deepEqual(added, [node.addr]);
  const t = cluster.bucketTable();
  assert.equal(t.mask, 0xff);
  assert.equal(t.primaries.length, 256);
  assert.ok(
    t.primaries.every((p) => p === node.addr),
    `every bucket is owned by the single node, got ${[...new Set(t.primaries)].join(',')}`,
  );
  assert.ok(t.epochs.every((e) => e >= 0));
});

test('connect() again while connected resolves at once', async () => {
  await cluster.connect();
  assert.deepEqual(cluster.nodes(), [node.addr]);
});

test('strings: set, get, getString, overwrite, UTF-8 text', async () => {
  await cluster.set('greeting', 'hello');
  assert.equal(await cluster.get('greeting'), 'hello');
  assert.equal(await cluster.getString('greeting'), 'hello');
  await cluster.set('greeting', 'héllo wörld ☃ 😀');
  assert.equal(await cluster.getString('greeting'), 'héllo wörld ☃ 😀');
  await cluster.set('clé ☃', '');
  assert.equal(await cluster.getString('clé ☃'), '');
});

test('int32: set a number, get it back as a number', async () => {
  for (const n of [0, 41, -7, 2 ** 31 - 1, -(2 ** 31)]) {
    await cluster.set('visits', n);
    assert.equal(await cluster.getInt('visits'), n);
    assert.equal(await cluster.get('visits'), n);
  }
});

test('int64: set a bigint, get it back as a bigint', async () => {
  for (const n of [1n << 40n, -(1n << 63n), (1n << 63n) - 1n, 0n]) {
    await cluster.set('big', n);
    assert.equal(await cluster.getLong('big'), n);
    assert.equal(await cluster.get('big'), n);
  }
});

test('binary: set a Buffer or Uint8Array, get a Buffer', async () => {
  const bytes = Buffer.from([0, 1, 2, 255, 128]);
  await cluster.set('blob', bytes);
  assert.deepEqual(await cluster.getBinary('blob'), bytes);
  const any = await cluster.get('blob');
  assert.ok(Buffer.isBuffer(any));
  assert.deepEqual(any, bytes);
  await cluster.set('blob', new Uint8Array([9, 8]));
  assert.deepEqual(await cluster.getBinary('blob'), Buffer.from([9, 8]));
});

test('missing keys: null from every get, exists false, delete false, ttl -2', async () => {
  assert.equal(await cluster.get('no-such-key'), null);
  assert.equal(await cluster.getString('no-such-key'), null);
  assert.equal(await cluster.getInt('no-such-key'), null);
  assert.equal(await cluster.getLong('no-such-key'), null);
  assert.equal(await cluster.getBinary('no-such-key'), null);
  assert.equal(await cluster.exists('no-such-key'), false);
  assert.equal(await cluster.delete('no-such-key'), false);
  assert.equal(await cluster.ttl('no-such-key'), -2);
  assert.equal(await cluster.expire('no-such-key', 5), false);
});

test('a get of another type rejects with WrongTypeError', async () => {
  await cluster.set('typed-int', 5);
  await cluster.set('typed-str', 'five');
  await cluster.set('typed-long', 5n);
  await cluster.set('typed-bin', Buffer.from('five'));
  const cases: [Promise<unknown>, string][] = [
    [cluster.getString('typed-int'), 'getString of an int'],
    [cluster.getInt('typed-str'), 'getInt of a string'],
    [cluster.getLong('typed-int'), 'getLong of an int'],
    [cluster.getInt('typed-long'), 'getInt of a long'],
    [cluster.getBinary('typed-str'), 'getBinary of a string'],
    [cluster.getString('typed-bin'), 'getString of binary'],
  ];
  for (const [p, what] of cases) {
    const e = await rejectsWith(p, 'WRONG_TYPE');
    assert.ok(e instanceof WrongTypeError, what);
  }
  assert.equal(await cluster.getInt('typed-int'), 5, 'the item is untouched');
});

test('values that do not fit reject with BAD_REQUEST before anything is sent', async () => {
  await rejectsWith(cluster.set('bad-int', 2 ** 31), 'BAD_REQUEST');
  await rejectsWith(cluster.set('bad-int', -(2 ** 31) - 1), 'BAD_REQUEST');
  await rejectsWith(cluster.set('bad-int', 1.5), 'BAD_REQUEST');
  await rejectsWith(cluster.set('bad-int', Number.NaN), 'BAD_REQUEST');
  await rejectsWith(cluster.set('bad-int', 1n << 63n), 'BAD_REQUEST');
  await rejectsWith(cluster.set('bad-int', null as unknown as ClusterValue), 'BAD_REQUEST');
  await rejectsWith(cluster.set('bad-int', 'x', { expiresSec: -1 }), 'BAD_REQUEST');
  await rejectsWith(cluster.expire('bad-int', 1.5), 'BAD_REQUEST');
  assert.equal(await cluster.exists('bad-int'), false, 'nothing was written');
});

test('exists and delete', async () => {
  await cluster.set('doomed', 'x');
  assert.equal(await cluster.exists('doomed'), true);
  assert.equal(await cluster.delete('doomed'), true);
  assert.equal(await cluster.exists('doomed'), false);
  assert.equal(await cluster.get('doomed'), null);
  assert.equal(await cluster.delete('doomed'), false);
});

test('expiry: ttl after set with expiresSec, expire() sets and removes it', async () => {
  await cluster.set('fleeting', 'x', { expiresSec: 100 });
  const ttl = await cluster.ttl('fleeting');
  assert.ok(ttl > 0 && ttl <= 100_000, `ttl ${ttl}`);
  await cluster.set('lasting', 'x');
  assert.equal(await cluster.ttl('lasting'), -1);
  assert.equal(await cluster.expire('lasting', 50), true);
  const ttl2 = await cluster.ttl('lasting');
  assert.ok(ttl2 > 0 && ttl2 <= 50_000, `ttl ${ttl2}`);
  assert.equal(await cluster.expire('lasting', 0), true);
  assert.equal(await cluster.ttl('lasting'), -1);
  assert.equal(await cluster.getString('lasting'), 'x');
});

test('an item with a 1 s expiry disappears', async () => {
  await cluster.set('short-lived', 7, { expiresSec: 1 });
  assert.equal(await cluster.getInt('short-lived'), 7);
  await waitFor('the item to expire', async () => ((await cluster.get('short-lived')) === null ? true : undefined), 10_000, 100);
  assert.equal(await cluster.exists('short-lived'), false);
  assert.equal(await cluster.ttl('short-lived'), -2);
});

test('maps: set, get, typed gets, exists, delete, getAll, keys, count, clear', async () => {
  const users = cluster.map('users');
  await users.set('ada', 'Lovelace');
  await users.set('alan', 42);
  await users.set('grace', 1n << 33n);
  await users.set('bytes', Buffer.from([1, 2]));
  assert.equal(await users.get('ada'), 'Lovelace');
  assert.equal(await users.getString('ada'), 'Lovelace');
  assert.equal(await users.getInt('alan'), 42);
  assert.equal(await users.getLong('grace'), 1n << 33n);
  assert.deepEqual(await users.getBinary('bytes'), Buffer.from([1, 2]));
  await rejectsWith(users.getInt('ada'), 'WRONG_TYPE');
  assert.equal(await users.exists('ada'), true);
  assert.equal(await users.exists('nobody'), false);
  assert.equal(await users.get('nobody'), null);
  assert.equal(await cluster.get('ada'), null, 'a map entry is not a plain key');
  assert.equal(await users.count(), 4);
  assert.deepEqual((await users.keys()).sort(), ['ada', 'alan', 'bytes', 'grace']);
  assert.deepEqual(
    await users.getAll(),
    new Map<string, ClusterValue>([
      ['ada', 'Lovelace'],
      ['alan', 42],
      ['grace', 1n << 33n],
      ['bytes', Buffer.from([1, 2])],
    ]),
  );
  assert.equal(await users.delete('alan'), true);
  assert.equal(await users.delete('alan'), false);
  assert.equal(await users.count(), 3);
  assert.equal(await users.clear(), true);
  assert.equal(await users.count(), 0);
  assert.deepEqual(await users.getAll(), new Map());
  assert.deepEqual(await users.keys(), []);
  assert.equal(await users.clear(), false);
});

test('maps are separate from each other and expire per entry', async () => {
  const a = cluster.map('map-a');
  const b = cluster.map('map-b');
  await a.set('k', 'in a');
  await b.set('k', 'in b', { expiresSec: 100 });
  assert.equal(await a.get('k'), 'in a');
  assert.equal(await b.get('k'), 'in b');
  assert.equal(await a.clear(), true);
  assert.equal(await b.get('k'), 'in b');
  assert.throws(() => cluster.map(''), (e: unknown) => e instanceof ClusterError && e.code === 'BAD_REQUEST');
});

test('1,000 requests in flight on one connection are all answered correctly', async () => {
  const n = 1000;
  const c = new Cluster({ seeds: [node.addr], requestTimeoutMs: 20_000 });
  try {
    await c.connect();
    assert.equal(c.nodes().length, 1);
    const value = (i: number): ClusterValue => (i % 3 === 0 ? i * 7 : i % 3 === 1 ? `v${i}-${'x'.repeat(i % 50)}` : BigInt(i) << 33n);
    await Promise.all(Array.from({ length: n }, (_, i) => c.set(`inflight-${i}`, value(i))));
    const got = await Promise.all(Array.from({ length: n }, (_, i) => c.get(`inflight-${i}`)));
    for (let i = 0; i < n; i++) assert.equal(got[i], value(i), `key ${i}`);
    const mixed = await Promise.all(
      Array.from({ length: n }, (_, i) => (i % 2 === 0 ? c.exists(`inflight-${i}`) : c.delete(`inflight-${i}`))),
    );
    assert.ok(mixed.every((v) => v === true));
    const after = await Promise.all(Array.from({ length: n }, (_, i) => c.exists(`inflight-${i}`)));
    for (let i = 0; i < n; i++) assert.equal(after[i], i % 2 === 0, `key ${i}`);
  } finally {
    await c.close();
  }
});

test('ping, capabilities and stats reach the node', async () => {
  const ms = await cluster.ping();
  assert.ok(typeof ms === 'number' && ms >= 0);
  assert.ok((await cluster.ping(node.addr)) >= 0);
  const caps = await cluster.capabilities();
  assert.ok(Array.isArray(caps) && caps.length > 0 && caps.every((c) => typeof c === 'string'));
  const stats = await cluster.stats();
  assert.equal(stats.length, 1);
  assert.equal(stats[0]!.addr, node.addr);
  await rejectsWith(cluster.ping('127.0.0.1:1'), 'NOT_CONNECTED');
});

test('a full queue rejects with QUEUE_FULL', async () => {
  const c = new Cluster({ seeds: [node.addr], maxQueuedRequests: 10 });
  try {
    await c.connect();
    const first = Array.from({ length: 10 }, (_, i) => c.set(`q-${i}`, i));
    await rejectsWith(c.set('q-overflow', 1), 'QUEUE_FULL');
    await Promise.all(first);
    await c.set('q-after', 1);
    assert.equal(await c.getInt('q-9'), 9);
  } finally {
    await c.close();
  }
});
