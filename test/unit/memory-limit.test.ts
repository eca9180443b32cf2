// Sizes as --max-memory reads them, and the store's eviction candidates (sampled LRU, volatile, TTL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseByteSize } from '../../src/shared/byte-size.js';
import { Store } from '../../src/server/store.js';

test('parseByteSize reads bytes and kb/mb/gb in any case, and refuses what is not a size', () => {
  assert.equal(parseByteSize('1048576'), 1048576);
  assert.equal(parseByteSize('512mb'), 512 * 1024 ** 2);
  assert.equal(parseByteSize('1GB'), 1024 ** 3);
  assert.equal(parseByteSize('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseByteSize('64k'), 65536);
  for (const bad of ['', 'mb', '-5mb', '12 parsecs', '1e9']) assert.throws(() => parseByteSize(bad), RangeError, bad);
});

const str = (s: string) => ({ t: 3 as const, v: Buffer.from(s) });

test('the eviction candidate of a bucket is its least recently used item; a read or a rewrite makes an item recent', () => {
  const s = new Store(1);
  for (const k of ['a', 'b', 'c']) s.put(0, '', k, { value: str(k), expiresAtMs: 0, vEpoch: 0, vSeq: 0 });
  assert.equal(s.evictionCandidate(0, 5, false, false)?.key, 'a');
  s.read(0, '', 'a', 0, null);
  assert.equal(s.evictionCandidate(0, 5, false, false)?.key, 'b');
  s.put(0, '', 'b', { value: str('b2'), expiresAtMs: 0, vEpoch: 0, vSeq: 0 });
  assert.equal(s.evictionCandidate(0, 5, false, false)?.key, 'c');
  s.put(0, 'm', 'x', { value: str('x'), expiresAtMs: 0, vEpoch: 0, vSeq: 0 });
  s.read(0, '', 'c', 0, null);
  assert.equal(s.evictionCandidate(0, 5, false, false)?.key, 'a', 'a was read before c, b and x were written');
});

test('volatile candidates are only items with an expiry; by TTL the one expiring soonest', () => {
  const s = new Store(1);
  s.put(0, '', 'forever', { value: str('f'), expiresAtMs: 0, vEpoch: 0, vSeq: 0 });
  s.put(0, '', 'late', { value: str('l'), expiresAtMs: 9_000_000, vEpoch: 0, vSeq: 0 });
  s.put(0, '', 'soon', { value: str('s'), expiresAtMs: 5_000_000, vEpoch: 0, vSeq: 0 });
  assert.equal(s.evictionCandidate(0, 5, true, false)?.key, 'late');
  assert.equal(s.evictionCandidate(0, 5, true, true)?.key, 'soon');
  s.remove(0, '', 'late');
  s.remove(0, '', 'soon');
  assert.equal(s.evictionCandidate(0, 5, true, false), undefined, 'no item with an expiry: nothing to evict');
});
