// Unit tests of bucket math: masks, bucketOf, splitBucket and widenTable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bucketCount, bucketOf, DEFAULT_MASK, isValidMask, MAX_MASK, splitBucket, widenTable } from '../../src/shared/buckets.js';
import { AssertionFailed } from '../../src/shared/assert.js';

const MASK_BITS_MAX = 16;
/** A valid mask 2^n - 1, n in 1..16. */
const mask = fc.integer({ min: 1, max: MASK_BITS_MAX }).map((n) => 2 ** n - 1);
/** Two valid masks, the second at least as wide as the first, at most 2^12 buckets (tables stay small). */
const maskPair = fc
  .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 12 }))
  .filter(([a, d]) => a + d <= 12)
  .map(([a, d]) => [2 ** a - 1, 2 ** (a + d) - 1] as const);
const hash = fc.integer({ min: 0, max: 0xffffffff });

test('isValidMask accepts exactly 2^n - 1 for n in 1..16', () => {
  const valid = new Set<number>();
  for (let n = 1; n <= MASK_BITS_MAX; n++) valid.add(2 ** n - 1);
  for (const m of valid) assert.equal(isValidMask(m), true, `mask ${m}`);
  for (let m = -2; m <= MAX_MASK + 2; m++) assert.equal(isValidMask(m), valid.has(m), `mask ${m}`);
  for (const m of [0x1ffff, 0xffffffff, 1.5, Number.NaN, Infinity]) assert.equal(isValidMask(m), false, `mask ${m}`);
  assert.equal(isValidMask(DEFAULT_MASK), true);
  assert.equal(DEFAULT_MASK, 0xff);
});

test('bucketCount is mask + 1 and rejects invalid masks', () => {
  assert.equal(bucketCount(0xff), 256);
  assert.equal(bucketCount(0x0f), 16);
  assert.equal(bucketCount(MAX_MASK), 65536);
  assert.throws(() => bucketCount(0xfe), AssertionFailed);
  assert.throws(() => bucketCount(0), AssertionFailed);
});

test('bucketOf is hash AND mask, unsigned, below the bucket count', () => {
  assert.equal(bucketOf(0xe40c292c, 0xff), 0x2c);
  assert.equal(bucketOf(0xbf9cf968, 0xfff), 0x968);
  assert.equal(bucketOf(0xffffffff, 0xffff), 0xffff);
  fc.assert(
    fc.property(hash, mask, (h, m) => {
      const b = bucketOf(h, m);
      assert.ok(Number.isInteger(b) && b >= 0 && b <= m, `bucket ${b} of mask ${m}`);
      assert.equal(b, h % (m + 1));
    }),
  );
});

test('a hash seen as a signed int (as read off the wire) lands in the same bucket', () => {
  fc.assert(fc.property(hash, mask, (h, m) => assert.equal(bucketOf(h | 0, m), bucketOf(h, m))));
});

test('property: the bucket under a wider mask, ANDed with the old mask, is the old bucket', () => {
  fc.assert(
    fc.property(hash, maskPair, (h, [oldMask, newMask]) => {
      const wide = bucketOf(h, newMask);
      assert.equal(wide & oldMask, bucketOf(h, oldMask));
      assert.ok(splitBucket(bucketOf(h, oldMask), oldMask, newMask).includes(wide), 'the key stays in one of the split buckets');
    }),
  );
});

test('splitBucket gives h, h + (m+1), h + 2(m+1), ... below the new bucket count', () => {
  assert.deepEqual(splitBucket(3, 0x0f, 0x3f), [3, 19, 35, 51]);
  assert.deepEqual(splitBucket(7, 0xff, 0xff), [7]);
  fc.assert(
    fc.property(hash, maskPair, (h, [oldMask, newMask]) => {
      const parts = splitBucket(h, oldMask, newMask);
      assert.equal(parts.length, (newMask + 1) / (oldMask + 1));
      assert.equal(new Set(parts).size, parts.length, 'no bucket twice');
      parts.forEach((p, i) => {
        assert.equal(p, (h & oldMask) + i * (oldMask + 1));
        assert.equal(p & oldMask, h & oldMask);
        assert.ok(p <= newMask);
      });
    }),
  );
});

test('the split buckets of all old buckets cover the wider mask exactly once', () => {
  fc.assert(
    fc.property(maskPair, ([oldMask, newMask]) => {
      const seen = new Array<number>(newMask + 1).fill(0);
      for (let b = 0; b <= oldMask; b++) for (const p of splitBucket(b, oldMask, newMask)) seen[p]!++;
      assert.ok(seen.every((n) => n === 1));
    }),
    { numRuns: 30 },
  );
});

test('splitBucket refuses a narrower or invalid mask', () => {
  assert.throws(() => splitBucket(1, 0xff, 0x0f), AssertionFailed);
  assert.throws(() => splitBucket(1, 0xfe, 0xfff), AssertionFailed);
  assert.throws(() => splitBucket(1, 0xff, 0x1fe), AssertionFailed);
});

test('property: widenTable keeps new[i] = old[i & oldMask], copying each entry', () => {
  fc.assert(
    fc.property(maskPair, fc.integer(), ([oldMask, newMask], seed) => {
      const old = Array.from({ length: oldMask + 1 }, (_, i) => ({ owner: `n${(i * 31 + seed) % 7}`, i }));
      let copies = 0;
      const wide = widenTable(old, oldMask, newMask, (v) => {
        copies++;
        return { ...v };
      });
      assert.equal(wide.length, newMask + 1);
      assert.equal(copies, newMask + 1);
      for (let i = 0; i <= newMask; i++) {
        assert.deepEqual(wide[i], old[i & oldMask]);
        assert.notEqual(wide[i], old[i & oldMask], 'entries are copies, not shared');
      }
    }),
    { numRuns: 50 },
  );
});

test('widenTable agrees with bucketOf: a key finds the same entry before and after', () => {
  fc.assert(
    fc.property(maskPair, fc.array(hash, { maxLength: 50 }), ([oldMask, newMask], hashes) => {
      const old = Array.from({ length: oldMask + 1 }, (_, i) => i);
      const wide = widenTable(old, oldMask, newMask, (v) => v);
      for (const h of hashes) assert.equal(wide[bucketOf(h, newMask)], old[bucketOf(h, oldMask)]);
    }),
    { numRuns: 50 },
  );
});

test('widenTable refuses a table whose length does not match its mask, or a narrower mask', () => {
  const id = (v: number): number => v;
  assert.throws(() => widenTable([1, 2, 3], 0x03, 0x0f, id), AssertionFailed);
  assert.throws(() => widenTable(new Array<number>(16).fill(0), 0x0f, 0x07, id), AssertionFailed);
  assert.throws(() => widenTable(new Array<number>(16).fill(0), 0x0f, 0x1e, id), AssertionFailed);
});
