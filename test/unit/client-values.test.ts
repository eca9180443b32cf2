// Unit tests of client value conversion, request encoding/decoding and failinfo classification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader, Writer } from '../../src/protocol/codec.js';
import { Cmd, ErrorCode, Reply } from '../../src/protocol/commands.js';
import { ValueType } from '../../src/protocol/values.js';
import * as data from '../../src/protocol/messages/data.js';
import { ClusterError, WrongTypeError } from '../../src/client/errors.js';
import { checkExpiresSec, readClusterValue, valueTypeOf, writeClusterValue, type ClusterValue } from '../../src/client/values.js';
import { Request } from '../../src/client/request.js';
import { decodeResult, encodeRequest, failInfoError } from '../../src/client/wire.js';
import { resolveOptions } from '../../src/client/options.js';

function roundTrip(v: ClusterValue): ClusterValue | null {
  const w = new Writer();
  writeClusterValue(w, valueTypeOf(v), v);
  const buf = w.take();
  const r = new Reader(buf);
  const out = readClusterValue(r);
  r.done('value');
  return out;
}

function badRequest(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof ClusterError && e.code === 'BAD_REQUEST');
}

test('valueTypeOf maps JS values to wire types', () => {
  assert.equal(valueTypeOf('x'), ValueType.string);
  assert.equal(valueTypeOf(''), ValueType.string);
  assert.equal(valueTypeOf(0), ValueType.int32);
  assert.equal(valueTypeOf(-(2 ** 31)), ValueType.int32);
  assert.equal(valueTypeOf(2 ** 31 - 1), ValueType.int32);
  assert.equal(valueTypeOf(1n << 40n), ValueType.int64);
  assert.equal(valueTypeOf(Buffer.from([1])), ValueType.binary);
  assert.equal(valueTypeOf(new Uint8Array(0)), ValueType.binary);
});

test('out-of-range and unsupported values are BAD_REQUEST before sending', () => {
  for (const n of [2 ** 31, -(2 ** 31) - 1, 1.5, Number.NaN, Infinity, -Infinity]) badRequest(() => valueTypeOf(n));
  badRequest(() => valueTypeOf(1n << 63n));
  badRequest(() => valueTypeOf(-(1n << 63n) - 1n));
  assert.equal(valueTypeOf((1n << 63n) - 1n), ValueType.int64);
  assert.equal(valueTypeOf(-(1n << 63n)), ValueType.int64);
  for (const v of [null, undefined, {}, [], true]) badRequest(() => valueTypeOf(v));
});

test('values round-trip through the wire form, strings as UTF-8', () => {
  assert.equal(roundTrip('héllo ☃ 😀'), 'héllo ☃ 😀');
  assert.equal(roundTrip(-5), -5);
  assert.equal(roundTrip(-(1n << 62n)), -(1n << 62n));
  assert.deepEqual(roundTrip(Buffer.from([0, 255, 7])), Buffer.from([0, 255, 7]));
  fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => roundTrip(s) === s), { numRuns: 300 });
  fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (n) => roundTrip(n) === n), { numRuns: 300 });
  fc.assert(fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (n) => roundTrip(n) === n), { numRuns: 300 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => Buffer.from(b).equals(roundTrip(Buffer.from(b)) as Buffer)), { numRuns: 300 });
  const w = new Writer();
  w.i32(ValueType.none);
  assert.equal(readClusterValue(new Reader(w.take())), null);
});

test('a binary value read from a frame is a copy, not a view of the frame', () => {
  const w = new Writer();
  writeClusterValue(w, ValueType.binary, Buffer.from([1, 2, 3]));
  const frame = w.take();
  const v = readClusterValue(new Reader(frame)) as Buffer;
  frame.fill(0);
  assert.deepEqual(v, Buffer.from([1, 2, 3]));
});

test('checkExpiresSec accepts whole seconds 0..2^31-1 only', () => {
  assert.equal(checkExpiresSec(undefined), 0);
  assert.equal(checkExpiresSec(0), 0);
  assert.equal(checkExpiresSec(2 ** 31 - 1), 2 ** 31 - 1);
  for (const s of [-1, 1.5, 2 ** 31, Number.NaN, '5']) badRequest(() => checkExpiresSec(s));
});

test('a set request encodes exactly as the set codec decodes it', () => {
  const req = new Request();
  req.cmd = Cmd.set;
  req.map = 'm';
  req.key = 'clé';
  req.num = 60;
  req.flags = 1;
  req.value = 'välue';
  req.valueType = ValueType.string;
  const w = new Writer();
  encodeRequest(w, req);
  const m = data.set.decode(new Reader(w.take()), 'utf8');
  assert.deepEqual({ map: m.map, key: m.key, expiresSec: m.expiresSec, flags: m.flags }, { map: 'm', key: 'clé', expiresSec: 60, flags: 1 });
  assert.deepEqual(m.value, { t: 3, v: Buffer.from('välue') });
});

test('get, delete, expire and map requests encode as their codecs decode them', () => {
  const mk = (cmd: number, fields: Partial<Request>): Buffer => {
    const req = Object.assign(new Request(), { cmd, ...fields });
    const w = new Writer();
    encodeRequest(w, req);
    return w.take();
  };
  assert.deepEqual(data.get.decode(new Reader(mk(Cmd.get, { key: 'k', num: 2 })), 'utf8'), { map: '', key: 'k', expectType: 2 });
  assert.deepEqual(data.del.decode(new Reader(mk(Cmd.del, { map: 'm', key: 'k', flags: 1 })), 'utf8'), { map: 'm', key: 'k', flags: 1 });
  assert.deepEqual(data.expire.decode(new Reader(mk(Cmd.expire, { key: 'k', num: 9 })), 'utf8'), { map: '', key: 'k', expiresSec: 9, flags: 0 });
  assert.deepEqual(data.keyOnly.decode(new Reader(mk(Cmd.ttl, { key: 'k' })), 'utf8'), { map: '', key: 'k' });
  assert.equal(data.mapOnly.decode(new Reader(mk(Cmd.mapKeys, { map: 'users' })), 'utf8'), 'users');
  assert.deepEqual(data.mapDelete.decode(new Reader(mk(Cmd.mapDelete, { map: 'users', flags: 1 })), 'utf8'), { map: 'users', flags: 1 });
  assert.equal(mk(Cmd.ping, {}).length, 0);
});

test('decodeResult reads each reply kind and rejects mismatches as SERVER_ERROR', () => {
  const reply = (fill: (w: Writer) => void): Buffer => {
    const w = new Writer();
    fill(w);
    return w.take();
  };
  const req = (cmd: number): Request => Object.assign(new Request(), { cmd });
  assert.equal(decodeResult(req(Cmd.exists), Reply.bool, reply((w) => w.i32(1)), 0, 'n'), true);
  assert.equal(decodeResult(req(Cmd.ttl), Reply.long, reply((w) => w.i64n(-2)), 0, 'n'), -2);
  assert.deepEqual(decodeResult(req(Cmd.mapKeys), Reply.strings, reply((w) => data.stringsReply.encode(w, ['a', 'ü'], 'utf8')), 0, 'n'), ['a', 'ü']);
  const entries = decodeResult(
    req(Cmd.mapGetAll),
    Reply.entries,
    reply((w) => data.entriesReply.encode(w, [{ key: 'a', value: { t: 1, v: 5 } }, { key: 'b', value: { t: 3, v: Buffer.from('x') } }], 'utf8')),
    0,
    'n',
  );
  assert.deepEqual(entries, new Map<string, ClusterValue>([['a', 5], ['b', 'x']]));
  const isServerError = (e: unknown): boolean => e instanceof ClusterError && e.code === 'SERVER_ERROR';
  assert.throws(() => decodeResult(req(Cmd.get), Reply.bool, reply((w) => w.i32(1)), 0, 'n'), isServerError);
  assert.throws(() => decodeResult(req(Cmd.exists), Reply.bool, reply((w) => {
    w.i32(1);
    w.i32(2);
  }), 0, 'n'), isServerError, 'trailing bytes');
  assert.throws(() => decodeResult(req(Cmd.mapKeys), Reply.strings, reply((w) => w.i32(1000)), 0, 'n'), isServerError, 'count past the end');
});

test('failinfo codes map to retry or to the documented error codes', () => {
  for (const c of [ErrorCode.retryLater, ErrorCode.noOwner, ErrorCode.shuttingDown]) assert.equal(failInfoError(c, 'm', 'n'), null);
  const wrong = failInfoError(ErrorCode.wrongType, 'm', 'n');
  assert.ok(wrong instanceof WrongTypeError);
  assert.equal(wrong.code, 'WRONG_TYPE');
  assert.equal(failInfoError(ErrorCode.badRequest, 'm', 'n')?.code, 'BAD_REQUEST');
  assert.equal(failInfoError(ErrorCode.tooLarge, 'm', 'n')?.code, 'BAD_REQUEST');
  assert.equal(failInfoError(ErrorCode.backupFailed, 'm', 'n')?.code, 'BACKUP_FAILED');
  const other = failInfoError(ErrorCode.internal, 'm', 'n');
  assert.equal(other?.code, 'SERVER_ERROR');
  assert.equal(other?.serverCode, ErrorCode.internal);
  assert.equal(other?.node, 'n');
});

test('options: defaults beside their limits, bad values rejected as BAD_REQUEST', () => {
  const o = resolveOptions({ seeds: ['127.0.0.1:13600', '127.0.0.1:13600', 'localhost'] });
  assert.deepEqual(o.seeds, ['127.0.0.1:13600', 'localhost:13600']);
  assert.equal(o.requestTimeoutMs, 5000);
  assert.equal(o.maxQueuedRequests, 100000);
  assert.equal(o.maxRedirects, 8);
  assert.equal(o.fullWait, true);
  assert.equal(o.reconnectBaseMs, 50);
  assert.equal(o.reconnectMaxMs, 2000);
  assert.equal(o.closeTimeoutMs, 2000);
  assert.equal(o.maxFrameBytes, 16 * 1024 * 1024);
  badRequest(() => resolveOptions({ seeds: [] }));
  badRequest(() => resolveOptions({ seeds: ['host:notaport'] }));
  badRequest(() => resolveOptions({ seeds: ['a:1'], requestTimeoutMs: 0 }));
  badRequest(() => resolveOptions({ seeds: ['a:1'], reconnectBaseMs: 500, reconnectMaxMs: 100 }));
});
