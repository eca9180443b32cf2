// Batch writes meet the single-key rules that came with them (issue 11 A and C): every key mset
// and setMany store takes a version as a set does, and past --max-memory (noeviction) each key that
// does not fit is refused on its own with OUT_OF_MEMORY while the keys that fit are stored.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchError, Cluster, ClusterError } from '../../src/index.js';
import { cleanup, startNode } from '../helpers/nodes.js';

after(cleanup);

test('mset and map setMany give each key a version, as set does', { timeout: 60_000 }, async () => {
  const node = await startNode();
  const c = new Cluster({ seeds: [node.addr], requestTimeoutMs: 10_000 });
  try {
    await c.connect();
    const keys = Array.from({ length: 20 }, (_, i) => `vk${i}`);
    await c.mset(keys.map((k, i) => [k, i] as const));
    const first = await Promise.all(keys.map((k) => c.getWithVersion(k)));
    for (const [i, v] of first.entries()) {
      assert.ok(v !== null && v.value === i, `${keys[i]} holds its value`);
      assert.ok(v.version > 0n, `${keys[i]} has a version after mset, not ${v.version}`);
    }
    // A second mset of the same keys moves every version on; an ifVersion set matches what mset made.
    await c.mset(keys.map((k) => [k, 'again'] as const));
    const second = await Promise.all(keys.map((k) => c.getWithVersion(k)));
    for (const [i, v] of second.entries()) assert.ok(v!.version > first[i]!.version, `${keys[i]}: the version grows with the write`);
    assert.equal(await c.set('vk0', 'cas', { ifVersion: second[0]!.version }), true);
    // A map lives in one bucket: its entries' versions come from one seq, so no two are the same.
    const m = c.map('vmap');
    const names = ['a', 'b', 'c', 'd', 'e'];
    await m.setMany(names.map((k, i) => [k, i] as const));
    const versions = await Promise.all(names.map(async (k) => (await m.getWithVersion(k))!.version));
    for (const [i, v] of versions.entries()) assert.ok(v > 0n, `map entry ${names[i]} has a version`);
    assert.equal(new Set(versions).size, names.length, `no two writes of one bucket share a version: ${versions.join(', ')}`);
  } finally {
    await c.close();
  }
});

const MiB = 1024 * 1024;
const VALUE_BYTES = 200 * 1024;
const KEYS_PER_BATCH = 5;
/** 128 MiB less the empty process (~75 MiB) holds about 90 such items: this many batches overfill it. */
const BATCHES_MAX = 60;

test('past --max-memory (noeviction) mset refuses each key that does not fit, alone; the others are stored', { timeout: 120_000 }, async () => {
  const node = await startNode({ args: ['--max-memory', '128mb', '--eviction', 'noeviction'] });
  const c = new Cluster({ seeds: [node.addr], requestTimeoutMs: 20_000 });
  try {
    await c.connect();
    const value = 'y'.repeat(VALUE_BYTES);
    const stored: string[] = [];
    let refusal: BatchError | null = null;
    let refusedKeys: string[] = [];
    for (let b = 0; b < BATCHES_MAX && refusal === null; b++) {
      const keys = Array.from({ length: KEYS_PER_BATCH }, (_, i) => `mem${b}:${i}`);
      try {
        await c.mset(keys.map((k) => [k, value] as const));
        stored.push(...keys);
      } catch (e) {
        assert.ok(e instanceof BatchError, `a batch past the limit rejects BatchError, not ${String(e)}`);
        refusal = e;
        for (const [i, r] of e.results.entries()) {
          if (r.ok) {
            stored.push(keys[i]!);
            continue;
          }
          assert.ok(r.error instanceof ClusterError);
          assert.equal(r.error.code, 'OUT_OF_MEMORY', `key ${keys[i]}: ${r.error.message}`);
          refusedKeys.push(keys[i]!);
        }
      }
    }
    assert.ok(refusal !== null, `${BATCHES_MAX * KEYS_PER_BATCH} keys of ${VALUE_BYTES} bytes reached the 128 MiB limit`);
    assert.ok(refusedKeys.length > 0 && stored.length > 0);
    // Nothing refused was applied; every key acknowledged is there, whole.
    assert.deepEqual(await c.mget(refusedKeys), refusedKeys.map(() => null));
    const back = await c.mget(stored);
    assert.equal(back.filter((v) => v === value).length, stored.length, 'every stored key reads back');
    // The single-key set agrees with the batch, and the node's figures count the refusals.
    await assert.rejects(c.set('mem-single', value), (e: unknown) => e instanceof ClusterError && e.code === 'OUT_OF_MEMORY');
    const [doc] = (await c.stats()) as unknown as { memory: { used: number; limit: number; refused: number } }[];
    assert.ok(doc!.memory.refused >= refusedKeys.length + 1, `refused ${doc!.memory.refused}`);
    assert.ok(doc!.memory.used <= 128 * MiB, `used ${doc!.memory.used} stays under the limit`);
    // Deletes make room again: a batch fits once some keys are gone.
    await c.mdelete(stored.slice(0, 20));
    refusedKeys = refusedKeys.slice(0, 1);
    await c.mset(refusedKeys.map((k) => [k, value] as const));
    assert.equal(await c.get(refusedKeys[0]!), value);
  } finally {
    await c.close();
  }
});
