// Unit tests of FNV-1a hashing: the PROTOCOL.md vectors and agreement of the three entry points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fnv1a, fnv1aLatin1, fnv1aSignedCharLatin1, fnv1aUtf8, legacyKeyMapName, legacyMapName, mapRouteHashLatin1 } from '../../src/shared/fnv.js';
import { Store } from '../../src/server/store.js';

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

/** The original C client's hash, as its code reads: `hash ^= *p` with p a signed char*, widened to int. */
function signedCharReference(bytes: Uint8Array): number {
  let h = 2166136261n;
  for (const b of new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length)) h = ((h ^ BigInt.asUintN(32, BigInt(b))) * 16777619n) % 2n ** 32n;
  return Number(h);
}

test('fnv1aSignedCharLatin1 is the original client\'s signed-char hash; equal to FNV-1a for ASCII, not for "café"', () => {
  fc.assert(fc.property(latin1Text, (text) => assert.equal(fnv1aSignedCharLatin1(text), signedCharReference(Buffer.from(text, 'latin1')))));
  fc.assert(fc.property(fc.string({ unit: 'binary-ascii', maxLength: 64 }), (text) => assert.equal(fnv1aSignedCharLatin1(text), fnv1aLatin1(text))));
  const cafe = Buffer.from('café', 'utf8').toString('latin1');
  assert.notEqual(fnv1aSignedCharLatin1(cafe), fnv1aLatin1(cafe));
});

test('the maps of legacy keys and legacy maps route by the hash in their name; a store widening keeps them there', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (h) => {
    assert.equal(mapRouteHashLatin1(legacyKeyMapName(h)), h);
    assert.equal(mapRouteHashLatin1(legacyMapName(h)), h);
  }));
  const name = Buffer.from('clé-é', 'utf8').toString('latin1');
  const h = fnv1aSignedCharLatin1(name);
  assert.notEqual(h & 0xfff, fnv1aLatin1(name) & 0xfff, 'the two hashes name different buckets under 0xfff');
  assert.equal(h & 0xff, fnv1aLatin1(name) & 0xff, 'the low 8 bits always agree');
  const store = new Store(0xf);
  const map = legacyKeyMapName(h);
  store.put(store.bucketOf(map, name), map, name, { value: { t: 1, v: 7 }, expiresAtMs: 0, vEpoch: 0, vSeq: 0 });
  store.widen(0xfff);
  assert.equal(store.bucket(h & 0xfff)?.maps.get(map)?.get(name)?.value.v, 7, 'the item sits in the bucket of the hash the client gave');
});
