// FairQueue: sources served in turn, bounded per source and in total.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FairQueue } from '../../src/server/fair-queue.js';

test('a flooding source is served in turn with the others, not before them', () => {
  const q = new FairQueue<string>(100, 1000);
  for (let i = 0; i < 50; i++) assert.ok(q.add('flood', `f${i}`));
  assert.ok(q.add('user', 'u0'));
  assert.equal(q.take(), 'f0');
  assert.equal(q.take(), 'u0', 'the other source waits one turn, not fifty');
});

test('bounds: per source and in total; every entry comes out once, in order within its source', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 200 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 50 }), (sources, perMax, totalMax) => {
      const q = new FairQueue<[number, number]>(perMax, totalMax);
      const accepted = new Map<number, number[]>();
      sources.forEach((src, i) => {
        const ok = q.add(String(src), [src, i]);
        if (ok) accepted.set(src, [...(accepted.get(src) ?? []), i]);
      });
      assert.ok(q.length <= totalMax);
      for (const list of accepted.values()) assert.ok(list.length <= perMax);
      const out = new Map<number, number[]>();
      for (let item = q.take(); item !== undefined; item = q.take()) out.set(item[0], [...(out.get(item[0]) ?? []), item[1]]);
      assert.deepEqual(out, accepted);
      assert.equal(q.length, 0);
    }),
  );
});
