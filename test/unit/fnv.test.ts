// Unit tests of FNV-1a hashing: the PROTOCOL.md vectors and agreement of the three entry points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fnv1a, fnv1aLatin1, fnv1aUtf8 } from '../../src/shared/fnv.js';

const VECTORS: ReadonlyArray<[string, number]> = [
  ['', 0x811c9dc5],
  ['a', 0xe40c292c],
  ['foobar', 0xbf9cf968],
];

/** A reference FNV-1a written with BigInt arithmetic, independent of Math.imul. */
function reference(bytes: Uint8Array): number {
  let h = 2166136261n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 16777619n) % 2n ** 32n;
  return Number(h);
}

const latin1Text = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 64 });

test('PROTOCOL.md vectors for fnv1a, fnv1aLatin1 and fnv1aUtf8', () => {
  for (const [text, want] of VECTORS) {
    assert.equal(fnv1a(Buffer.from(text, 'latin1')), want, `fnv1a("${text}")`);
    assert.equal(fnv1aLatin1(text), want, `fnv1aLatin1("${text}")`);
    assert.equal(fnv1aUtf8(text), want, `fnv1aUtf8("${text}")`);
  }
});

test('hashes are unsigned 32-bit integers', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const h = fnv1a(bytes);
      assert.ok(Number.isInteger(h) && h >= 0 && h <= 0xffffffff, `hash ${h} out of range`);
    }),
  );
});

test('fnv1a matches a BigInt reference implementation', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 128 }), (bytes) => assert.equal(fnv1a(bytes), reference(bytes))));
});

test('fnv1aLatin1 equals fnv1a over the latin1 bytes of the same string', () => {
  fc.assert(fc.property(latin1Text, (text) => assert.equal(fnv1aLatin1(text), fnv1a(Buffer.from(text, 'latin1')))));
});

test('fnv1aUtf8 equals fnv1a over the UTF-8 bytes, and fnv1aLatin1 over the same bytes held as latin1', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 32 }), (text) => {
      const bytes = Buffer.from(text, 'utf8');
      const h = fnv1aUtf8(text);
      assert.equal(h, fnv1a(bytes));
      // The node keeps keys as latin1 strings (one char per byte): the same bytes must hash the same.
      assert.equal(h, fnv1aLatin1(bytes.toString('latin1')));
    }),
  );
});

test('ASCII text hashes the same through all three', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary-ascii', maxLength: 64 }), (text) => {
      const h = fnv1a(Buffer.from(text, 'ascii'));
      assert.equal(fnv1aLatin1(text), h);
      assert.equal(fnv1aUtf8(text), h);
    }),
  );
});
