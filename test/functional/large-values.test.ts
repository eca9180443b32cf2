// Large values through a real node (issue 12's paths without copies): values around the sizes where
// frames are assembled into buffers of their own (4 KiB) and sent by reference (8 KiB), up to 4 MiB,
// many in flight at once, overwritten while read, in batches; every byte comes back as it was set.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../src/index.js';
import { cleanup, startNode, type NodeProcess } from '../helpers/nodes.js';

let node: NodeProcess;
let cluster: Cluster;

before(async () => {
  node = await startNode();
  cluster = new Cluster({ seeds: [node.addr], requestTimeoutMs: 30_000 });
  await cluster.connect();
});

after(async () => {
  await cluster?.close();
  await cleanup();
});

const SIZES = [4095, 4096, 5000, 8191, 8192, 10_000, 65_536, 100_000, 1 << 20, 4 << 20];

/** Bytes that differ by position and by seed, so a value shifted, cut or mixed with another shows. */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7 + (i >>> 8)) & 0xff;
  return b;
}

test('binary and string values of every size, all in flight at once, come back byte for byte', async () => {
  const values = SIZES.map((n, i) => pattern(n, i));
  const texts = SIZES.map((n, i) => 'ü'.repeat(Math.floor(n / 2)) + String(i)); // 2 UTF-8 bytes per ü
  await Promise.all([...values.map((v, i) => cluster.set(`bin:${i}`, v)), ...texts.map((t, i) => cluster.set(`txt:${i}`, t))]);
  const [bins, strs] = await Promise.all([Promise.all(values.map((_v, i) => cluster.getBinary(`bin:${i}`))), Promise.all(texts.map((_t, i) => cluster.getString(`txt:${i}`)))]);
  values.forEach((v, i) => assert.ok(bins[i]!.equals(v), `binary of ${SIZES[i]} bytes`));
  texts.forEach((t, i) => assert.equal(strs[i], t, `string of ${SIZES[i]} characters`));
});

test('a buffer changed right after set() does not change what was stored', async () => {
  const v = pattern(200_000, 9);
  const keep = Buffer.from(v);
  const done = cluster.set('changed', v);
  v.fill(0); // before the request is written (the same tick)
  await done;
  assert.ok((await cluster.getBinary('changed'))!.equals(keep));
});

test('gets of a large value while it is overwritten see one whole version or the other', async () => {
  const a = pattern(300_000, 1);
  const b = pattern(300_000, 2);
  await cluster.set('flip', a);
  const reads: Promise<Buffer | null>[] = [];
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 20; i++) {
    writes.push(cluster.set('flip', i % 2 === 0 ? b : a));
    reads.push(cluster.getBinary('flip'));
  }
  await Promise.all(writes);
  for (const got of await Promise.all(reads)) assert.ok(got!.equals(a) || got!.equals(b), 'a whole version');
  assert.ok((await cluster.getBinary('flip'))!.equals(a), 'the last write wins');
});

test('mset and mget of large values', async () => {
  const entries = SIZES.slice(0, 8).map((n, i) => [`batch:${i}`, pattern(n, 100 + i)] as const);
  await cluster.mset(entries);
  const got = await cluster.mget(entries.map(([k]) => k));
  entries.forEach(([, v], i) => assert.ok(Buffer.isBuffer(got[i]) && (got[i] as Buffer).equals(v), `value of ${v.length} bytes`));
});
