// scan() against real nodes: every key of the cluster (or of a map, or with a prefix), bucket by
// bucket; and the guarantee that a key existing for the whole scan is returned at least once while
// a node joins (buckets move) and while the bucket mask widens (buckets split) mid-scan.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../src/index.js';
import { cleanup, killNode, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';

after(cleanup);

function primaries(c: Cluster): Set<string> {
  return new Set(c.bucketTable().primaries.filter((p) => p !== ''));
}

async function fill(c: Cluster, prefix: string, n: number): Promise<string[]> {
  const keys = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  for (let i = 0; i < n; i += 500) await c.mset(keys.slice(i, i + 500).map((k) => [k, 1] as const));
  return keys;
}

function missing(want: string[], got: Iterable<string>): string[] {
  const seen = new Set(got);
  return want.filter((k) => !seen.has(k));
}

test('scan returns every key once: all, by prefix, of a map; bad options are BAD_REQUEST', async () => {
  const a = await startNode();
  const b = await startNode({ nodes: [a.addr] });
  const d = await startNode({ nodes: [a.addr] });
  const c = new Cluster({ seeds: [a.addr], requestTimeoutMs: 15_000 });
  try {
    await c.connect();
    await waitFor('buckets on all three nodes', () => (primaries(c).size === 3 ? true : undefined), 30_000, 100);
    const sc = await fill(c, 'sc:', 1000);
    const other = await fill(c, 'other:', 50);
    const m = c.map('scanmap');
    await m.setMany(Array.from({ length: 300 }, (_, i) => [`e${i}`, i] as const));
    const all: string[] = [];
    for await (const k of c.scan({ count: 37 })) all.push(k);
    assert.equal(all.length, new Set(all).size, 'no key twice');
    assert.deepEqual(missing([...sc, ...other], all), []);
    assert.ok(!all.some((k) => k.startsWith('e')), 'map entries are not plain keys');
    const pre: string[] = [];
    for await (const k of c.scan({ prefix: 'sc:' })) pre.push(k);
    assert.deepEqual(pre.sort(), sc.slice().sort());
    const entries: string[] = [];
    for await (const k of m.scan({ count: 50 })) entries.push(k);
    assert.equal(entries.length, 300);
    assert.deepEqual(entries, entries.slice().sort(), 'one bucket: in byte order');
    const e1: string[] = [];
    for await (const k of m.scan({ prefix: 'e1' })) e1.push(k);
    assert.equal(e1.length, 111, 'e1, e10-e19, e100-e199');
    // Stopping early is fine; bad options are typed errors.
    for await (const k of c.scan()) {
      assert.equal(typeof k, 'string');
      break;
    }
    await assert.rejects(async () => {
      for await (const _ of c.scan({ count: 0 })) assert.fail('no key for a bad count');
    }, { code: 'BAD_REQUEST' });
  } finally {
    await c.close();
    for (const n of [a, b, d]) await killNode(n);
  }
});

test('a node joins during a scan: every key that exists throughout is returned', async () => {
  const a = await startNode();
  const b = await startNode({ nodes: [a.addr] });
  const nodes: NodeProcess[] = [a, b];
  const c = new Cluster({ seeds: [a.addr], requestTimeoutMs: 15_000 });
  try {
    await c.connect();
    await waitFor('buckets on both nodes', () => (primaries(c).size === 2 ? true : undefined), 30_000, 100);
    const keys = await fill(c, 'j', 3000);
    const got: string[] = [];
    let joined = false;
    for await (const k of c.scan({ count: 8 })) {
      got.push(k);
      if (got.length === 200) {
        nodes.push(await startNode({ nodes: [a.addr] }));
        joined = true;
      }
      // Half way through, wait until buckets have moved to the new node: the rest of the scan
      // runs on a table that changed under it (and pages may be redirected or retried).
      if (got.length === 1500) await waitFor('the joiner to hold buckets', () => (primaries(c).size === 3 ? true : undefined), 30_000, 50);
      // Churn meanwhile: keys created and deleted do not disturb the guarantee.
      if (got.length % 100 === 0) await c.set(`churn${got.length}`, 1).then(() => c.delete(`churn${got.length - 100}`));
    }
    assert.ok(joined);
    assert.deepEqual(missing(keys, got), [], 'every key present for the whole scan was returned');
  } finally {
    await c.close();
    for (const n of nodes) await killNode(n);
  }
});

test('the bucket mask widens during a scan: buckets split and the scan goes on where it was', async () => {
  const a = await startNode({ args: ['--mask', '0x3'] });
  const nodes: NodeProcess[] = [a];
  const c = new Cluster({ seeds: [a.addr], requestTimeoutMs: 15_000 });
  try {
    await c.connect();
    const keys = await fill(c, 'w', 2000);
    const mapKeys = Array.from({ length: 40 }, (_, i) => `me${i}`);
    await c.map('wmap').setMany(mapKeys.map((k) => [k, 1] as const));
    const got: string[] = [];
    const mapIt = c.map('wmap').scan({ count: 5 });
    const mapGot: string[] = [];
    const first = await mapIt.next();
    if (first.done !== true) mapGot.push(first.value);
    for await (const k of c.scan({ count: 10 })) {
      got.push(k);
      if (got.length === 50) {
        nodes.push(await startNode({ nodes: [a.addr] }));
        nodes.push(await startNode({ nodes: [a.addr] }));
        // The nodes' buckets split while the scan is under way (the client counts 256 buckets
        // from the start; each page is the part of a node's coarser bucket that hashes to it).
        await a.waitForLog((l) => l['msg'] === 'bucket mask widened', 30_000);
      }
    }
    for await (const k of { [Symbol.asyncIterator]: () => mapIt }) mapGot.push(k);
    assert.ok(a.logs.some((l) => l['msg'] === 'bucket mask widened'), 'the mask widened during the scan');
    assert.deepEqual(missing(keys, got), []);
    assert.equal(got.length, new Set(got).size, 'a split bucket goes on after its cursor: no key twice');
    assert.deepEqual(mapGot.sort(), mapKeys.slice().sort());
  } finally {
    await c.close();
    for (const n of nodes) await killNode(n);
  }
});
