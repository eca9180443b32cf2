// Unit tests of the shared data-file format: header checks, record round trips (fast-check),
// chunked decoding, and the difference between a torn tail and damage in the middle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { Writer } from '../../src/protocol/codec.js';
import {
  decodeHeader,
  encodeHeader,
  encodeRecord,
  encodeRecordBuffer,
  FILE_HEADER_BYTES,
  FileFormatError,
  FileKind,
  RecordDecoder,
  walkRecords,
  type FileHeader,
  type FileRecord,
  type RecordEvent,
} from '../../src/protocol/filefmt.js';
import { UpdateOp, type Update } from '../../src/protocol/messages/node.js';
import type { Value } from '../../src/protocol/values.js';

// ---- arbitraries ----

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 16 });
const value: fc.Arbitrary<Value> = fc.oneof(
  int32.map((v): Value => ({ t: 1, v })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v): Value => ({ t: 2, v })),
  bytes.map((v): Value => ({ t: 3, v })),
  bytes.map((v): Value => ({ t: 4, v })),
);
const expiresAtMs = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 45 }));

const update: fc.Arbitrary<Update> = fc.oneof(
  fc.tuple(latin1, latin1, expiresAtMs, value).map(([map, key, exp, v]): Update => ({ op: UpdateOp.set, map, key, expiresAtMs: exp, value: v })),
  fc.tuple(fc.constantFrom(UpdateOp.delete, UpdateOp.expired), latin1, latin1).map(([op, map, key]): Update => ({ op, map, key, expiresAtMs: 0, value: null })),
  fc.tuple(latin1, latin1, expiresAtMs).map(([map, key, exp]): Update => ({ op: UpdateOp.expire, map, key, expiresAtMs: exp, value: null })),
  latin1.map((map): Update => ({ op: UpdateOp.mapDelete, map, key: '', expiresAtMs: 0, value: null })),
);

const record: fc.Arbitrary<FileRecord> = fc
  .tuple(u32, u32, int32, fc.maxSafeNat(), update)
  .map(([mask, hash, epoch, seq, u]) => ({ mask, hash, epoch, seq, update: u }));

function encodeAll(records: readonly FileRecord[]): { buf: Buffer; offsets: number[] } {
  const w = new Writer(64);
  const offsets: number[] = [];
  for (const r of records) {
    offsets.push(w.pos);
    encodeRecord(w, r);
  }
  return { buf: Buffer.from(w.take()), offsets };
}

function recordsOf(events: RecordEvent[]): FileRecord[] {
  return events.flatMap((e) => (e.kind === 'record' ? [e.record] : []));
}

function sample(): FileRecord[] {
  return [
    { mask: 0xff, hash: 7, epoch: 1, seq: 1, update: { op: UpdateOp.set, map: '', key: 'a', expiresAtMs: 0, value: { t: 3, v: Buffer.from('hello') } } },
    { mask: 0xff, hash: 7, epoch: 1, seq: 2, update: { op: UpdateOp.set, map: 'users', key: 'ada', expiresAtMs: 1234, value: { t: 1, v: -5 } } },
    { mask: 0xff, hash: 9, epoch: 2, seq: 1, update: { op: UpdateOp.delete, map: '', key: 'a', expiresAtMs: 0, value: null } },
    { mask: 0xff, hash: 9, epoch: 2, seq: 2, update: { op: UpdateOp.mapDelete, map: 'users', key: '', expiresAtMs: 0, value: null } },
  ];
}

// ---- header ----

const HEADER: FileHeader = { version: 1, kind: FileKind.log, flags: 1, createdAtMs: 1_700_000_000_123, fileSeq: 42, recordCount: -1 };

test('a header round-trips and is exactly FILE_HEADER_BYTES long', () => {
  const b = encodeHeader(HEADER);
  assert.equal(b.length, FILE_HEADER_BYTES);
  assert.deepEqual(decodeHeader(b), HEADER);
});

test('a header with wrong magic, version, kind or checksum is refused with its code', () => {
  const code = (buf: Buffer): string => {
    try {
      decodeHeader(buf);
      return 'accepted';
    } catch (e) {
      assert.ok(e instanceof FileFormatError);
      return e.code;
    }
  };
  const good = encodeHeader(HEADER);
  const magic = Buffer.from(good);
  magic[1] = 0x58;
  assert.equal(code(magic), 'badMagic');
  assert.equal(code(Buffer.from('{"json": "not ours"}\n'.padEnd(60))), 'badMagic');
  const version = Buffer.from(good);
  version.writeUInt16BE(4, 8); // 1-3 are read (3: save files with versions)
  assert.equal(code(version), 'badVersion');
  const damaged = Buffer.from(good);
  damaged[20] ^= 0xff;
  assert.equal(code(damaged), 'badHeader');
  assert.equal(code(encodeHeader({ ...HEADER, kind: 9 as never })), 'badKind');
  assert.equal(code(good.subarray(0, 30)), 'torn');
  assert.equal(code(good.subarray(0, 5)), 'torn');
});

// ---- records ----

test('records round-trip through walkRecords (property)', () => {
  fc.assert(
    fc.property(fc.array(record, { maxLength: 20 }), (records) => {
      const { buf, offsets } = encodeAll(records);
      const events = [...walkRecords(buf, 100)];
      assert.deepEqual(recordsOf(events), records);
      assert.deepEqual(
        events.map((e) => e.offset),
        offsets.map((o) => o + 100),
      );
      assert.ok(events.every((e) => e.kind === 'record'));
    }),
  );
});

test('the incremental decoder gives the same records for any chunking (property)', () => {
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 30 }), (records, cuts) => {
      const { buf } = encodeAll(records);
      const d = new RecordDecoder(FILE_HEADER_BYTES);
      const got: FileRecord[] = [];
      let pos = 0;
      for (let i = 0; pos < buf.length; i++) {
        const n = cuts[i % cuts.length]!;
        d.push(buf.subarray(pos, pos + n), (r) => got.push(r));
        pos += n;
      }
      assert.equal(d.finish(), null);
      assert.deepEqual(got, records);
    }),
  );
});

test('a cut anywhere yields the whole records before it and a torn tail exactly when inside a record', () => {
  const records = sample();
  const { buf, offsets } = encodeAll(records);
  const ends = [...offsets.slice(1), buf.length];
  for (let cut = 0; cut <= buf.length; cut++) {
    const events = [...walkRecords(buf.subarray(0, cut), FILE_HEADER_BYTES)];
    const whole = ends.filter((e) => e <= cut).length;
    assert.deepEqual(recordsOf(events), records.slice(0, whole), `cut at ${cut}`);
    const last = events[events.length - 1];
    const onBoundary = cut === 0 || ends.includes(cut);
    if (onBoundary) {
      assert.ok(last === undefined || last.kind === 'record', `cut at ${cut}: no torn tail on a record boundary`);
    } else {
      assert.equal(last?.kind, 'torn', `cut at ${cut}`);
      assert.equal(last.offset, FILE_HEADER_BYTES + (whole === 0 ? 0 : ends[whole - 1]!));
    }
    const d = new RecordDecoder(FILE_HEADER_BYTES);
    d.push(buf.subarray(0, cut), () => undefined);
    assert.equal(d.finish() === null, onBoundary, `decoder finish at cut ${cut}`);
  }
});

test('a damaged byte in the middle is a checksum error naming the record offset, never a torn tail', () => {
  const records = sample();
  const { buf, offsets } = encodeAll(records);
  for (let i = 0; i < records.length; i++) {
    const payloadStart = offsets[i]! + 8;
    const payloadEnd = i + 1 < offsets.length ? offsets[i + 1]! : buf.length;
    for (let p = payloadStart; p < payloadEnd; p++) {
      const bad = Buffer.from(buf);
      bad[p] ^= 0x40;
      assert.throws(
        () => [...walkRecords(bad, 1000)],
        (e: unknown) => e instanceof FileFormatError && e.code === 'checksum' && e.offset === 1000 + offsets[i]! && e.message.includes(`offset ${1000 + offsets[i]!}`),
        `flip at ${p}`,
      );
    }
    const badCrc = Buffer.from(buf);
    badCrc[offsets[i]! + 5] ^= 1;
    assert.throws(() => [...walkRecords(badCrc)], (e: unknown) => e instanceof FileFormatError && e.code === 'checksum' && e.offset === offsets[i]);
  }
});

test('an impossible record length is a badLength error at its offset', () => {
  const { buf, offsets } = encodeAll(sample());
  const bad = Buffer.from(buf);
  bad.writeUInt32BE(0xfffffff0, offsets[1]!);
  assert.throws(() => [...walkRecords(bad)], (e: unknown) => e instanceof FileFormatError && e.code === 'badLength' && e.offset === offsets[1]);
  const tiny = Buffer.from(buf);
  tiny.writeUInt32BE(3, offsets[2]!);
  assert.throws(() => [...walkRecords(tiny)], (e: unknown) => e instanceof FileFormatError && e.code === 'badLength' && e.offset === offsets[2]);
});

test('a record whose checksum matches but whose payload does not decode is a badRecord error', () => {
  const rec = encodeRecordBuffer(sample()[0]!);
  // Rewrite the op to 77 and fix up the CRC: the frame is intact, the content is not ours.
  rec.writeInt32BE(77, 8 + 20);
  rec.writeUInt32BE(crc32(rec.subarray(8)), 4);
  assert.throws(() => [...walkRecords(rec, 44)], (e: unknown) => e instanceof FileFormatError && e.code === 'badRecord' && e.offset === 44);
});
