// Unit tests of the client's bucket table: routing hash, epochs (newer wins), widening, hints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BucketTable, keyHash } from '../../src/client/bucket-table.js';
import { fnv1aUtf8 } from '../../src/shared/fnv.js';

const entry = (hash: number, epoch: number, primary: string, backup = '') => ({ hash, epoch, primary, backup });

test('keyHash is FNV-1a over the UTF-8 bytes, for ASCII and any text', () => {
  assert.equal(keyHash(''), 0x811c9dc5);
  assert.equal(keyHash('a'), 0xe40c292c);
  assert.equal(keyHash('foobar'), 0xbf9cf968);
  assert.equal(keyHash('héllo ☃ 😀'), fnv1aUtf8('héllo ☃ 😀'));
  fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => keyHash(s) === fnv1aUtf8(s)), { numRuns: 500 });
  fc.assert(fc.property(fc.string(), (s) => keyHash(s) === fnv1aUtf8(s)), { numRuns: 500 });
});

test('a new table has mask 0xFF and no owners', () => {
  const t = new BucketTable();
  const s = t.snapshot();
  assert.equal(s.mask, 0xff);
  assert.equal(s.primaries.length, 256);
  assert.ok(s.primaries.every((p) => p === ''));
  assert.ok(s.epochs.every((e) => e === -1));
  assert.equal(t.primaryOf(keyHash('anything')), '');
});

test('an entry applies only when its epoch is newer; stale and equal updates are ignored', () => {
  const t = new BucketTable();
  assert.deepEqual(t.apply(0xff, entry(7, 3, 'a:1', 'b:1')), [{ mask: 0xff, hash: 7, epoch: 3, primary: 'a:1', backup: 'b:1' }]);
  assert.equal(t.primaryOf(7), 'a:1');
  assert.equal(t.primaryOf(7 + 256), 'a:1', 'routing uses hash AND mask');
  assert.deepEqual(t.apply(0xff, entry(7, 2, 'old:1')), [], 'older epoch ignored');
  assert.deepEqual(t.apply(0xff, entry(7, 3, 'same-epoch:1')), [], 'equal epoch ignored');
  assert.equal(t.primaryOf(7), 'a:1');
  assert.equal(t.apply(0xff, entry(7, 4, 'c:1')).length, 1);
  assert.equal(t.primaryOf(7), 'c:1');
  assert.equal(t.snapshot().epochs[7], 4);
  assert.equal(t.snapshot().backups[7], '');
});

test('an entry under a wider mask widens the table: new[i] = old[i & oldMask]', () => {
  const t = new BucketTable();
  for (let h = 0; h < 256; h++) t.apply(0xff, entry(h, 1, `n${h % 5}:1`));
  const before = t.snapshot();
  t.apply(0x3ff, entry(0x105, 2, 'new:1'));
  const after = t.snapshot();
  assert.equal(after.mask, 0x3ff);
  assert.equal(after.primaries.length, 1024);
  for (let i = 0; i < 1024; i++) {
    if (i === 0x105) continue;
    assert.equal(after.primaries[i], before.primaries[i & 0xff], `bucket ${i}`);
    assert.equal(after.epochs[i], before.epochs[i & 0xff], `bucket ${i}`);
  }
  assert.equal(after.primaries[0x105], 'new:1');
  assert.equal(after.primaries[0x005], before.primaries[0x05], 'the split sibling keeps its owner');
  assert.equal(t.primaryOf(0xabcd0105), 'new:1');
});

test('an entry under a narrower mask covers every finer bucket it contains, each by its own epoch', () => {
  const t = new BucketTable();
  t.widen(0x3ff);
  t.apply(0x3ff, entry(0x203, 9, 'newer:1'));
  const changed = t.apply(0xff, entry(0x03, 5, 'coarse:1'));
  assert.deepEqual(
    changed.map((c) => c.hash),
    [0x003, 0x103, 0x303],
  );
  assert.equal(t.primaryOf(0x003), 'coarse:1');
  assert.equal(t.primaryOf(0x203), 'newer:1', 'the newer finer entry stays');
});

test('widen never narrows, and invalid masks or hashes are ignored', () => {
  const t = new BucketTable();
  t.widen(0x0f);
  assert.equal(t.mask, 0xff);
  t.widen(0x100);
  assert.equal(t.mask, 0xff);
  assert.deepEqual(t.apply(0x1f0, entry(1, 1, 'x:1')), []);
  assert.deepEqual(t.apply(0xff, entry(0x100, 1, 'x:1')), []);
  assert.deepEqual(t.applyAll(0x7, [entry(1, 1, 'x:1')]).length, 32, 'mask 0x07 covers 32 buckets of 0xff');
});

test('a hint (tryelsewhere) replaces the primary until an entry of the same epoch corrects it', () => {
  const t = new BucketTable();
  t.apply(0xff, entry(9, 4, 'a:1'));
  t.hint(0xff, 9, 'b:1');
  assert.equal(t.primaryOf(9), 'b:1');
  assert.equal(t.snapshot().epochs[9], 4, 'a hint carries no epoch');
  t.apply(0xff, entry(9, 3, 'stale:1'));
  assert.equal(t.primaryOf(9), 'b:1', 'an older entry still loses');
  assert.equal(t.apply(0xff, entry(9, 4, 'a:1')).length, 1, 'the correction is reported as a change');
  assert.equal(t.primaryOf(9), 'a:1', 'the authoritative entry of the same epoch wins over the hint');
  t.apply(0xff, entry(9, 4, 'c:1'));
  assert.equal(t.primaryOf(9), 'a:1', 'without a hint, equal epochs are ignored again');
});

test('addresses lists every primary and backup; snapshot is a copy', () => {
  const t = new BucketTable();
  t.apply(0xff, entry(1, 1, 'a:1', 'b:1'));
  t.apply(0xff, entry(2, 1, 'c:1', ''));
  assert.deepEqual([...t.addresses()].sort(), ['a:1', 'b:1', 'c:1']);
  const s = t.snapshot();
  s.primaries[1] = 'mutated';
  assert.equal(t.primaryOf(1), 'a:1');
});

test('property: after any sequence of entries each bucket holds its highest-epoch entry', () => {
  const update = fc.record({ hash: fc.integer({ min: 0, max: 15 }), epoch: fc.integer({ min: 0, max: 20 }), node: fc.integer({ min: 0, max: 3 }) });
  fc.assert(
    fc.property(fc.array(update, { maxLength: 60 }), (updates) => {
      const t = new BucketTable();
      t.widen(0xff);
      const best = new Map<number, { epoch: number; node: number }>();
      for (const u of updates) {
        t.apply(0x0f, entry(u.hash, u.epoch, `n${u.node}:1`));
        const b = best.get(u.hash);
        if (b === undefined || u.epoch > b.epoch) best.set(u.hash, { epoch: u.epoch, node: u.node });
      }
      for (let i = 0; i < 256; i++) {
        const b = best.get(i & 0x0f);
        assert.equal(t.primaryOf(i), b === undefined ? '' : `n${b.node}:1`);
      }
    }),
    { numRuns: 200 },
  );
});
