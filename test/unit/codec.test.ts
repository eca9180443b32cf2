// Unit tests of the protocol codecs: round trips of every message codec in the table of
// test/helpers/codec-cases.ts, and the Reader's refusal of malformed payloads (truncated, bad string
// lengths, trailing bytes, unknown types).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError, Reader, Writer } from '../../src/protocol/codec.js';
import { readHeader } from '../../src/protocol/header.js';
import { readValue, valueBytes, valuesEqual, writeValue } from '../../src/protocol/values.js';
import * as legacy from '../../src/protocol/messages/legacy.js';
import * as data from '../../src/protocol/messages/data.js';
import * as authMsg from '../../src/protocol/messages/auth.js';
import * as nodeMsg from '../../src/protocol/messages/node.js';
import { HEADER_BYTES } from '../../src/shared/limits.js';

import { ALL, decodesOrRejects, encodePayload, MAX_COUNT, utf8, value } from '../helpers/codec-cases.js';

const RUNS = { numRuns: 60 };

// ---- round trips ----

test('every codec is in the table (legacy, data, node, auth, values)', () => {
  const names = new Set(ALL.map((x) => x.name.split('/')[0]!));
  for (const k of Object.keys(legacy)) assert.ok(names.has(`legacy.${k}`), `legacy.${k} has no round-trip case`);
  for (const k of Object.keys(data)) assert.ok(names.has(`data.${k}`), `data.${k} has no round-trip case`);
  const nodeCodecs = Object.entries(nodeMsg).filter(([, v]) => typeof v === 'object' && v !== null && 'decode' in v);
  for (const [k] of nodeCodecs) assert.ok(names.has(`node.${k}`), `node.${k} has no round-trip case`);
  const authCodecs = Object.entries(authMsg).filter(([, v]) => typeof v === 'object' && v !== null && 'decode' in v);
  for (const [k] of authCodecs) assert.ok(names.has(`auth.${k}`), `auth.${k} has no round-trip case`);
});

for (const cs of ALL) {
  test(`round trip: ${cs.name}`, () => {
    fc.assert(
      fc.property(cs.arb, (v) => {
        const w = new Writer(1);
        // Two frames back to back: each decodes from its own offset and length.
        w.begin(2000, 0, 0xfffffffe);
        cs.encode(w, v);
        const size1 = w.end();
        w.begin(5, 2200, 7);
        cs.encode(w, v);
        const size2 = w.end();
        const buf = w.take();
        assert.equal(buf.length, size1 + size2);
        const h1 = readHeader(buf, 0);
        assert.deepEqual(h1, { command: 2000, replyTo: 0, requestId: 0xfffffffe, length: size1 - HEADER_BYTES });
        const h2 = readHeader(buf, size1);
        assert.deepEqual(h2, { command: 5, replyTo: 2200, requestId: 7, length: size2 - HEADER_BYTES });
        assert.deepEqual(cs.decode(new Reader(buf, HEADER_BYTES, size1)), cs.expected(v));
        assert.deepEqual(cs.decode(new Reader(buf, size1 + HEADER_BYTES, buf.length)), cs.expected(v));
      }),
      RUNS,
    );
  });
}

// ---- malformed payloads ----

for (const cs of ALL) {
  test(`truncated payloads and trailing bytes are DecodeError: ${cs.name}`, () => {
    fc.assert(
      fc.property(cs.arb, fc.uint8Array({ minLength: 1, maxLength: 4 }), (v, extra) => {
        const payload = encodePayload(cs, v);
        for (let k = cs.emptyIsValid ? 1 : 0; k < payload.length; k++) {
          if (cs.olderLengths(v, payload.length).includes(k)) continue;
          // Bounded by `end` inside a longer buffer, and by the buffer's own end.
          assert.throws(() => cs.decode(new Reader(payload, 0, k)), DecodeError, `${cs.name}: ${k} of ${payload.length} bytes`);
          assert.throws(() => cs.decode(new Reader(payload.subarray(0, k))), DecodeError);
        }
        if (cs.embedded) return;
        const longer = Buffer.concat([payload, extra]);
        assert.throws(() => cs.decode(new Reader(longer)), DecodeError, `${cs.name}: trailing bytes`);
      }),
      { numRuns: 25 },
    );
  });
}

for (const cs of ALL) {
  test(`property: random bytes either decode or throw DecodeError: ${cs.name}`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (b) => decodesOrRejects(cs, new Reader(Buffer.from(b)))),
      { numRuns: 300 },
    );
    // Valid encodings with some bytes overwritten reach much deeper into each decoder.
    fc.assert(
      fc.property(
        cs.arb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (v, edits) => {
          const payload = encodePayload(cs, v);
          if (payload.length === 0) return;
          for (const [at, b] of edits) payload[at % payload.length] = b;
          decodesOrRejects(cs, new Reader(payload));
        },
      ),
      { numRuns: 300 },
    );
  });
}

test('negative string lengths are DecodeError', () => {
  for (const len of [-1, -2, -(2 ** 31)]) {
    const b = Buffer.alloc(8);
    b.writeInt32BE(len, 0);
    assert.throws(() => new Reader(b).strLatin1(), DecodeError);
    assert.throws(() => new Reader(b).strUtf8(), DecodeError);
    assert.throws(() => new Reader(b).strView(), DecodeError);
    assert.throws(() => new Reader(b).strCopy(), DecodeError);
    assert.throws(() => legacy.address.decode(new Reader(b)), DecodeError);
  }
});

test('string lengths past the end of the payload are DecodeError, even when the buffer goes on', () => {
  const b = Buffer.alloc(64, 0x41);
  b.writeInt32BE(10, 0);
  // The payload ends after 8 bytes: the string of 10 must not be read out of the bytes beyond.
  assert.throws(() => new Reader(b, 0, 8).strLatin1(), DecodeError);
  assert.throws(() => new Reader(b, 0, 8).strCopy(), DecodeError);
  assert.equal(new Reader(b, 0, 14).strLatin1(), 'AAAAAAAAAA');
  b.writeInt32BE(2 ** 31 - 1, 0);
  assert.throws(() => new Reader(b).strUtf8(), DecodeError);
  // set_string whose value length runs past the end.
  const w = new Writer();
  legacy.setString.encode(w, { mapHash: 0, keyHash: 1, expiresSec: 0, fullWait: 0, name: 'k', value: Buffer.from('abc') });
  const p = Buffer.from(w.take());
  p.writeInt32BE(4, p.length - 7);
  assert.throws(() => legacy.setString.decode(new Reader(p)), DecodeError);
});

test('set_int with a 3-byte payload is DecodeError', () => {
  assert.throws(() => legacy.setInt.decode(new Reader(Buffer.from([1, 2, 3]))), DecodeError);
});

test('unknown value types are DecodeError', () => {
  for (const t of [5, 6, 255, -1, 2 ** 31 - 1, -(2 ** 31)]) {
    const b = Buffer.alloc(12);
    b.writeInt32BE(t, 0);
    assert.throws(() => readValue(new Reader(b)), DecodeError, `type ${t}`);
    assert.throws(() => data.valueReply.decode(new Reader(b)), DecodeError, `type ${t}`);
  }
});

test('longs outside the safe integer range are DecodeError where a number is expected', () => {
  const w = new Writer();
  w.i64(2n ** 53n);
  w.i64(-(2n ** 53n));
  const b = w.take();
  assert.throws(() => new Reader(b, 0, 8).i64n(), DecodeError);
  assert.throws(() => new Reader(b, 8, 16).i64n(), DecodeError);
  assert.throws(() => data.longReply.decode(new Reader(b, 0, 8)), DecodeError);
});

test('counts out of range are refused before any item is read', () => {
  const big = Buffer.alloc(4);
  big.writeInt32BE(MAX_COUNT + 1, 0);
  assert.throws(() => data.stringsReply.decode(new Reader(big), 'utf8', MAX_COUNT), RangeError);
  assert.throws(() => data.entriesReply.decode(new Reader(big), 'utf8', MAX_COUNT), RangeError);
  const neg = Buffer.alloc(4);
  neg.writeInt32BE(-1, 0);
  assert.throws(() => data.stringsReply.decode(new Reader(neg), 'utf8', MAX_COUNT), RangeError);
  for (const d of [nodeMsg.members.decode, nodeMsg.logBatch.decode]) assert.throws(() => d(new Reader(neg)), DecodeError);
  // table: more entries than the mask has buckets.
  const t = Buffer.alloc(8);
  t.writeUInt32BE(0x0f, 0);
  t.writeInt32BE(17, 4);
  assert.throws(() => nodeMsg.table.decode(new Reader(t)), DecodeError);
});

test('an update whose value does not match its op is DecodeError', () => {
  const w = new Writer();
  nodeMsg.writeUpdate(w, { op: nodeMsg.UpdateOp.set, map: '', key: 'k', expiresAtMs: 0, value: null });
  assert.throws(() => nodeMsg.readUpdate(new Reader(w.take())), DecodeError);
  nodeMsg.writeUpdate(w, { op: nodeMsg.UpdateOp.delete, map: '', key: 'k', expiresAtMs: 0, value: { t: 1, v: 1 } });
  assert.throws(() => nodeMsg.readUpdate(new Reader(w.take())), DecodeError);
  const bad = Buffer.alloc(4);
  bad.writeInt32BE(9, 0);
  assert.throws(() => nodeMsg.readUpdate(new Reader(bad)), DecodeError);
});

test('jsonReply with a payload that is not JSON is DecodeError', () => {
  for (const s of ['', '{', 'nope', '\u00ff']) {
    const w = new Writer();
    w.strUtf8(s);
    assert.throws(() => data.jsonReply.decode(new Reader(w.take())), DecodeError, JSON.stringify(s));
  }
});

// ---- text forms and values ----

test('property: the same bytes, read as latin1 by the node and as UTF-8 by the client', () => {
  fc.assert(
    fc.property(utf8, (s) => {
      const w = new Writer();
      w.strUtf8(s);
      const wire = Buffer.from(w.take());
      const nodeForm = new Reader(wire).strLatin1();
      assert.equal(nodeForm, Buffer.from(s, 'utf8').toString('latin1'));
      // The node writes its latin1 form back: the client reads its own text again.
      w.strLatin1(nodeForm);
      const back = w.take();
      assert.deepEqual(Buffer.from(back), wire);
      assert.equal(new Reader(back).strUtf8(), s);
    }),
  );
});

test('property: valuesEqual holds across a round trip and valueBytes counts the value bytes', () => {
  fc.assert(
    fc.property(value, (v) => {
      const w = new Writer();
      writeValue(w, v);
      const b = w.take();
      const back = readValue(new Reader(b));
      assert.ok(valuesEqual(v, back));
      assert.equal(b.length, 4 + valueBytes(v) + (v.t === 3 || v.t === 4 ? 4 : 0));
    }),
  );
  assert.ok(valuesEqual(null, null));
  assert.ok(!valuesEqual({ t: 1, v: 1 }, null));
  assert.ok(!valuesEqual({ t: 3, v: Buffer.from('a') }, { t: 4, v: Buffer.from('a') }));
  assert.ok(!valuesEqual({ t: 1, v: 1 }, { t: 1, v: 2 }));
});

// ---- many strings at once (a batch's keys) ----

test('property: strs reads what str reads one by one, in both text forms, and stops where they stop', () => {
  const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 40 });
  fc.assert(
    fc.property(fc.array(latin1, { maxLength: 30 }), fc.array(utf8, { maxLength: 30 }), fc.nat(5), (ls, us, tail) => {
      const w = new Writer();
      for (const s of ls) w.strLatin1(s);
      for (const s of us) w.strUtf8(s);
      w.i32(tail);
      const b = Buffer.from(w.take());
      const r = new Reader(b);
      assert.deepEqual(r.strs(ls.length, 'latin1'), ls);
      assert.deepEqual(r.strs(us.length, 'utf8'), us);
      assert.equal(r.i32(), tail);
      r.done('strs');
    }),
    RUNS,
  );
});

test('strs refuses a negative length or one past the end of the payload, even when the buffer goes on', () => {
  const w = new Writer();
  w.strLatin1('ab');
  w.strLatin1('cde');
  const good = Buffer.from(w.take());
  assert.deepEqual(new Reader(good).strs(2, 'latin1'), ['ab', 'cde']);
  const negative = Buffer.from(good);
  negative.writeInt32BE(-1, 6);
  assert.throws(() => new Reader(negative).strs(2, 'latin1'), DecodeError);
  const long = Buffer.concat([good, Buffer.alloc(32, 0x41)]);
  // The payload ends with the second string: a third must not be read out of the bytes beyond.
  assert.throws(() => new Reader(long, 0, good.length).strs(3, 'latin1'), DecodeError);
  long.writeInt32BE(8, 6);
  assert.throws(() => new Reader(long, 0, good.length).strs(2, 'latin1'), DecodeError);
});
