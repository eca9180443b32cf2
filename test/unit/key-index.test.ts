// The key index (key-index.ts) against a Map: random adds and deletes (which rebuild it, growing and
// shrinking), lookups of present and absent keys, insertion order, and iteration that stays live
// while keys are added and deleted under it, as a Map's does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyIndex } from '../../src/server/key-index.js';

/** Latin1 keys from a small alphabet (so keys repeat and collide in length), the empty key among them. */
const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', '\u00e9', '\u00ff', '\u0000'), minLength: 0, maxLength: 4 });

type Op = { k: 'add'; key: string; slot: number } | { k: 'del'; key: string } | { k: 'iter'; step: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('add' as const), key: keyArb, slot: fc.nat({ max: 1e6 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('del' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('iter' as const), step: fc.nat({ max: 5 }) }) },
);

test('KeyIndex holds what a Map holds, in the same order, through random adds and deletes', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
      const ix = new KeyIndex();
      const model = new Map<string, number>();
      for (const op of ops) {
        if (op.k === 'add') {
          if (model.has(op.key)) continue;
          ix.add(op.key, op.slot);
          model.set(op.key, op.slot);
        } else if (op.k === 'del') {
          const had = model.get(op.key) ?? -1;
          model.delete(op.key);
          assert.equal(ix.delete(op.key), had);
        }
        assert.equal(ix.size, model.size);
      }
      assert.deepEqual([...ix], [...model]);
      for (const [key, slot] of model) assert.equal(ix.get(key), slot);
      for (const key of ['zz', 'aaaaa', '\u0100', 'a\u0100']) assert.equal(ix.get(key), model.get(key) ?? -1);
    }),
    { numRuns: 300 },
  );
});

test('KeyIndex iteration is live like a Map iteration while keys are added and deleted under it', () => {
  fc.assert(
    fc.property(fc.array(keyArb, { minLength: 1, maxLength: 60 }), fc.array(opArb, { maxLength: 300 }), (initial, ops) => {
      const ix = new KeyIndex();
      const model = new Map<string, number>();
      for (const key of initial) {
        if (model.has(key)) continue;
        ix.add(key, model.size);
        model.set(key, model.size);
      }
      const it = ix.entries();
      const mit = model.entries();
      for (const op of ops) {
        if (op.k === 'add' && !model.has(op.key)) {
          ix.add(op.key, op.slot);
          model.set(op.key, op.slot);
        } else if (op.k === 'del') {
          ix.delete(op.key);
          model.delete(op.key);
        } else if (op.k === 'iter') {
          for (let i = 0; i <= op.step; i++) assert.deepEqual(it.next(), mit.next());
        }
      }
      // The rest of both iterations agree too.
      assert.deepEqual([...it], [...mit]);
    }),
    { numRuns: 300 },
  );
});

test('KeyIndex grows to many keys and shrinks back when they go, keeping lookups right', () => {
  const ix = new KeyIndex();
  const empty = ix.bytes;
  const n = 50_000;
  for (let i = 0; i < n; i++) ix.add(`key:${i}`, i);
  assert.equal(ix.size, n);
  for (let i = 0; i < n; i += 997) assert.equal(ix.get(`key:${i}`), i);
  assert.equal(ix.get(`key:${n}`), -1);
  const full = ix.bytes;
  assert.ok(full > n * 24, `50k entries take their records' bytes at least (${full})`);
  for (let i = 0; i < n; i++) if (i % 1000 !== 0) assert.equal(ix.delete(`key:${i}`), i);
  assert.equal(ix.size, n / 1000);
  assert.ok(ix.bytes < full / 20, `the index shrinks when most keys go (${ix.bytes} of ${full})`);
  for (let i = 0; i < n; i += 1000) assert.equal(ix.get(`key:${i}`), i);
  for (let i = 0; i < n; i += 1000) ix.delete(`key:${i}`);
  assert.ok(ix.bytes <= empty * 8, `an emptied index is small again (${ix.bytes}, new ${empty})`);
});

test('KeyIndex refuses a key that is not latin1 and a key added twice', () => {
  const ix = new KeyIndex();
  ix.add('k', 1);
  assert.throws(() => ix.add('k', 2), /already/);
  assert.throws(() => ix.add('\u0100', 3), /latin1/);
  assert.equal(ix.get('k'), 1);
});
