// Keys of the original client with bytes >= 0x80: it hashes them with a signed char, which differs
// from FNV-1a. The node stores such an item under the hash the client gave, in the bucket that
// hash names, and its legacy gets find it; a hash that is neither variant is still refused.
// The two hashes always agree in their low 8 bits (the sign extension only touches bits 8..31, and
// a product's low bits depend only on the factors' low bits), so the cluster here has 4,096
// buckets: with a mask of 0xff or less both hashes name the same bucket.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, type NodeProcess } from '../helpers/nodes.js';
import { inGoalState, startCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/nodes.js';
import { C, fnv, getPayload, int, R, RawClient, RawPool, str } from '../helpers/raw.js';
import { Cmd } from '../../src/protocol/commands.js';

const TEST_TIMEOUT_MS = 60_000;
let nodes: NodeProcess[];
const pool = new RawPool();

before(async () => {
  nodes = await startCluster(2, { args: ['--mask', '0xfff'] });
  const addrs = nodes.map((n) => n.addr);
  await waitFor('the two nodes balanced', async () => ((await inGoalState(addrs, 4096)) ? true : undefined), 60_000, 250);
});
after(async () => {
  pool.destroyAll();
  await cleanup();
});

/** The 2012 client's hash: FNV-1a where each byte is a signed char, sign-extended before the XOR. */
function signedCharHash(bytes: Buffer): number {
  let h = 0x811c9dc5;
  for (const b of bytes) {
    const signed = b >= 0x80 ? b - 256 : b; // (signed char)b
    h = Math.imul((h ^ signed) >>> 0, 16777619) >>> 0;
  }
  return h >>> 0;
}

/** set_int exactly as the original client builds it: map hash 0, its own key hash, the name's bytes. */
function originalSetInt(name: Buffer, keyHash: number, value: number): Buffer {
  return Buffer.concat([int(0), int(keyHash), int(0), int(0), str(name), int(value)]);
}

async function primaries(addr: string): Promise<string[]> {
  const c = await pool.open(addr);
  const f = await c.request(Cmd.getTable);
  let off = 8;
  const out: string[] = [];
  const count = f.payload.readInt32BE(4);
  for (let i = 0; i < count; i++) {
    const hash = f.payload.readInt32BE(off);
    off += 8;
    const plen = f.payload.readInt32BE(off);
    out[hash] = f.payload.subarray(off + 4, off + 4 + plen).toString('latin1');
    off += 4 + plen;
    off += 4 + f.payload.readInt32BE(off);
  }
  return out;
}

test('a name with bytes >= 0x80 and the signed-char hash: stored under that hash, in its bucket, and read back by it', { timeout: TEST_TIMEOUT_MS }, async () => {
  const owners = await primaries(nodes[0]!.addr);
  assert.equal(owners.length, 4096);
  // Names whose signed-char bucket and FNV-1a bucket have different primaries: routing is by the given hash.
  let checked = 0;
  for (let i = 0; checked < 5 && i < 2000; i++) {
    const name = Buffer.from(`clé-${i}-ü`, 'utf8');
    const signed = signedCharHash(name);
    assert.notEqual(signed, fnv(name), 'the two hashes differ for this name');
    const owner = owners[signed & 0xfff]!;
    if (owner === owners[fnv(name) & 0xfff]) continue;
    const other = nodes.find((n) => n.addr !== owner)!.addr;
    const value = -1000 - i;
    // At the node not holding the given hash's bucket: tryelsewhere to the one that does.
    const away = await (await pool.open(other)).request(C.setInt, originalSetInt(name, signed, value));
    assert.equal(away.command, R.tryelsewhere, 'the node that does not hold the bucket of the given hash sends the client on');
    assert.equal(away.payload.subarray(4).toString('latin1'), owner, 'to the primary of the bucket of the given hash');
    const c = await pool.open(owner);
    const set = await c.request(C.setInt, originalSetInt(name, signed, value));
    assert.deepEqual([set.command, set.replyTo], [R.ack, C.setInt], `set_int of ${name.toString('utf8')} with its signed-char hash is acked`);
    const got = await c.request(C.getInt, getPayload(0, signed));
    assert.equal(got.command, R.dataInt, 'get_int by the same hash finds it');
    assert.ok(got.payload.equals(Buffer.concat([int(0), int(signed), int(value)])), 'data_int: map hash, the given key hash, the value');
    checked++;
  }
  assert.equal(checked, 5, 'five names checked');
});

test('a key hash that is neither FNV-1a nor its signed-char variant is refused (failinfo 3), and nothing is stored', { timeout: TEST_TIMEOUT_MS }, async () => {
  const name = Buffer.from('größe', 'utf8');
  const wrong = (signedCharHash(name) ^ 0x10000) >>> 0; // another hash of the same bucket
  const owner = (await primaries(nodes[0]!.addr))[wrong & 0xfff]!;
  const c: RawClient = await pool.open(owner);
  const f = await c.request(C.setInt, originalSetInt(name, wrong, 5));
  assert.equal(f.command, R.failinfo);
  assert.equal(f.payload.readInt32BE(0), 3, 'badRequest');
  assert.match(f.payload.subarray(8).toString('utf8'), /neither the FNV-1a hash of the name nor the original client's signed-char variant/);
  assert.equal((await c.request(C.getInt, getPayload(0, wrong))).command, R.fail, 'nothing stored under it');
  // FNV-1a of the same name (what the project's clients send) is still accepted.
  const fnvOwner = (await primaries(nodes[0]!.addr))[fnv(name) & 0xfff]!;
  const d = await pool.open(fnvOwner);
  assert.equal((await d.request(C.setInt, originalSetInt(name, fnv(name), 6))).command, R.ack);
  const got = await d.request(C.getInt, getPayload(0, fnv(name)));
  assert.ok(got.payload.equals(Buffer.concat([int(0), int(fnv(name)), int(6)])), 'read back by its FNV-1a hash');
});
