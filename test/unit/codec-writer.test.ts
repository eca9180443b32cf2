// The Writer's integer limits and frame bookkeeping, and the value type names (the codecs' round
// trips and malformed input are in codec.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader, Writer } from '../../src/protocol/codec.js';
import { readHeader } from '../../src/protocol/header.js';
import { isValueType, valueTypeName } from '../../src/protocol/values.js';
import { HEADER_BYTES } from '../../src/shared/limits.js';
import { AssertionFailed } from '../../src/shared/assert.js';

test('Writer: integers at their limits and a zero-size start buffer', () => {
  const w = new Writer(0);
  w.i32(-(2 ** 31));
  w.i32(2 ** 31 - 1);
  w.u32AsInt(0xffffffff);
  w.i64n(Number.MAX_SAFE_INTEGER);
  w.i64n(Number.MIN_SAFE_INTEGER);
  w.i64n(-1);
  w.u16(0xffff);
  w.i16(-1);
  const r = new Reader(w.take());
  assert.equal(r.i32(), -(2 ** 31));
  assert.equal(r.i32(), 2 ** 31 - 1);
  assert.equal(r.u32(), 0xffffffff);
  assert.equal(r.i64n(), Number.MAX_SAFE_INTEGER);
  assert.equal(r.i64n(), Number.MIN_SAFE_INTEGER);
  assert.equal(r.i64n(), -1);
  assert.equal(r.u16(), 0xffff);
  assert.equal(r.i16(), -1);
  r.done('limits');
});

test('Writer: abandon drops a half-written frame, take hands out exactly the whole frames', () => {
  const w = new Writer(4);
  w.begin(30, 0, 1);
  w.end();
  w.begin(2000, 0, 2);
  w.i32(5);
  assert.equal(w.inFrame, true);
  assert.equal(w.frameBytes, HEADER_BYTES + 4);
  w.abandon();
  assert.equal(w.inFrame, false);
  const b = w.take();
  assert.equal(b.length, HEADER_BYTES);
  assert.deepEqual(readHeader(b, 0), { command: 30, replyTo: 0, requestId: 1, length: 0 });
  assert.equal(w.length, 0);
});

test('value type names and the type guard', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 9].map(valueTypeName), ['none', 'int', 'long', 'string', 'binary', 'type9']);
  assert.deepEqual([-1, 0, 1, 2, 3, 4, 5, 1.5].map(isValueType), [false, true, true, true, true, true, false, false]);
});

test('property: ints are the bytes Buffer writes, and read back as Buffer reads them', () => {
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.maxSafeInteger(), (i, u, l) => {
      const w = new Writer(0);
      w.i32(i);
      w.u32AsInt(u);
      w.i64n(l);
      const got = Buffer.from(w.take());
      const want = Buffer.alloc(16);
      want.writeInt32BE(i, 0);
      want.writeUInt32BE(u, 4);
      want.writeBigInt64BE(BigInt(l), 8);
      assert.deepEqual(got, want);
      const r = new Reader(got);
      assert.equal(r.i32(), want.readInt32BE(0));
      assert.equal(r.u32(), want.readUInt32BE(4));
      assert.equal(r.i64n(), l);
    }),
  );
});

test('Reader refuses a payload that is not inside its buffer', () => {
  const b = Buffer.alloc(8);
  assert.throws(() => new Reader(b, 0, 9), AssertionFailed);
  assert.throws(() => new Reader(b, -1, 4), AssertionFailed);
  assert.throws(() => new Reader(b, 5, 4), AssertionFailed);
  assert.equal(new Reader(b, 4, 8).i32(), 0);
});
