// Test helper: the table of every protocol codec (legacy, data in both text forms, node, auth,
// values) with an arbitrary for each message, and what codec.test.ts needs to run it.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError, Reader, Writer, type TextForm } from '../../src/protocol/codec.js';
import { writeValue, readValue, type Value } from '../../src/protocol/values.js';
import * as legacy from '../../src/protocol/messages/legacy.js';
import * as data from '../../src/protocol/messages/data.js';
import * as authMsg from '../../src/protocol/messages/auth.js';
import * as nodeMsg from '../../src/protocol/messages/node.js';

// ---- arbitraries ----

/** Records with the ordinary prototype, as decoders build them (deepEqual compares prototypes). */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const long = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const safeLong = fc.maxSafeInteger();
const bytes = fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a));
const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 12 });
export const utf8 = fc.string({ unit: 'binary', maxLength: 12 });
const text = (enc: TextForm): fc.Arbitrary<string> => (enc === 'latin1' ? latin1 : utf8);
const FORMS: readonly TextForm[] = ['latin1', 'utf8'];

export const value: fc.Arbitrary<Value> = fc.oneof(
  int32.map((v): Value => ({ t: 1, v })),
  long.map((v): Value => ({ t: 2, v })),
  bytes.map((v): Value => ({ t: 3, v })),
  bytes.map((v): Value => ({ t: 4, v })),
);

const legacySetHead = { mapHash: u32, keyHash: u32, expiresSec: int32, fullWait: int32, name: latin1 };
const bucketEntry = rec({ hash: u32, epoch: int32, primary: latin1, backup: latin1 });
const item = rec({ map: latin1, key: latin1, expiresAtMs: safeLong, value });
/** An item as copy_items carries it: with its version's (epoch, seq). */
const versionedItem = rec({ map: latin1, key: latin1, expiresAtMs: safeLong, value, vEpoch: fc.nat({ max: 2 ** 31 - 1 }), vSeq: fc.nat() });
const update: fc.Arbitrary<nodeMsg.Update> = fc.oneof(
  rec({ op: fc.constant(nodeMsg.UpdateOp.set), map: latin1, key: latin1, expiresAtMs: safeLong, value }),
  rec({
    op: fc.constantFrom(nodeMsg.UpdateOp.delete, nodeMsg.UpdateOp.expired, nodeMsg.UpdateOp.expire, nodeMsg.UpdateOp.mapDelete),
    map: latin1,
    key: latin1,
    expiresAtMs: safeLong,
    value: fc.constant(null),
  }),
);
const syncUpdateMsg = rec({ mask: u32, hash: u32, epoch: int32, seq: safeLong, update });

// ---- the codec table ----

export interface Case {
  name: string;
  arb: fc.Arbitrary<unknown>;
  encode(w: Writer, v: unknown): void;
  decode(r: Reader): unknown;
  /** What decode must give back for v (default: v itself). */
  expected(v: unknown): unknown;
  /** Decoders that check a count against a bound throw RangeError for it. */
  countChecked: boolean;
  /** A part of a message (item, update, value): the enclosing message checks for trailing bytes. */
  embedded: boolean;
  /** An empty payload is a valid message too (a field older senders leave out). */
  emptyIsValid: boolean;
  /** The one shorter length of v's payload that is a valid message too (trailing fields older senders leave out). */
  /** Lengths at which a shorter payload is a valid older form of the frame. */
  olderLengths: (v: unknown, payloadBytes: number) => readonly number[];
}

function c<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  encode: (w: Writer, v: T) => void,
  decode: (r: Reader) => unknown,
  opts: { expected?: (v: T) => unknown; countChecked?: boolean; embedded?: boolean; emptyIsValid?: boolean; olderLengths?: (v: T, payloadBytes: number) => readonly number[] } = {},
): Case {
  return {
    name,
    arb: arb as fc.Arbitrary<unknown>,
    encode: encode as (w: Writer, v: unknown) => void,
    decode,
    expected: (opts.expected as ((v: unknown) => unknown) | undefined) ?? ((v) => v),
    countChecked: opts.countChecked ?? false,
    embedded: opts.embedded ?? false,
    emptyIsValid: opts.emptyIsValid ?? false,
    olderLengths: (opts.olderLengths as ((v: unknown, payloadBytes: number) => readonly number[]) | undefined) ?? (() => []),
  };
}

export const MAX_COUNT = 1000;

const legacyCases: Case[] = [
  c('legacy.setInt', rec({ ...legacySetHead, value: int32 }), legacy.setInt.encode, legacy.setInt.decode),
  c('legacy.setString', rec({ ...legacySetHead, value: bytes }), legacy.setString.encode, legacy.setString.decode),
  c('legacy.legacyGet', rec({ mapHash: u32, keyHash: u32 }), legacy.legacyGet.encode, legacy.legacyGet.decode),
  c('legacy.dataInt', rec({ mapHash: u32, keyHash: u32, value: int32 }), legacy.dataInt.encode, legacy.dataInt.decode),
  c('legacy.dataString', rec({ mapHash: u32, keyHash: u32, value: bytes }), legacy.dataString.encode, legacy.dataString.decode),
  c('legacy.address', latin1, legacy.address.encode, legacy.address.decode),
  c('legacy.hashmask', rec({ mask: u32, hash: u32, level: int32 }), legacy.hashmask.encode, legacy.hashmask.decode),
  c('legacy.failinfo', rec({ code: int32, message: utf8 }), legacy.failinfo.encode, legacy.failinfo.decode),
  c('legacy.unknown', u16, legacy.unknown.encode, legacy.unknown.decode),
];

function dataCases(enc: TextForm): Case[] {
  const t = text(enc);
  const ref = { map: t, key: t };
  return [
    c(`data.set/${enc}`, rec({ ...ref, expiresSec: int32, flags: int32, value }), (w, v) => data.set.encode(w, v, enc), (r) =>
      data.set.decode(r, enc),
    ),
    c(`data.get/${enc}`, rec({ ...ref, expectType: int32 }), (w, v) => data.get.encode(w, v, enc), (r) => data.get.decode(r, enc)),
    c(`data.del/${enc}`, rec({ ...ref, flags: int32 }), (w, v) => data.del.encode(w, v, enc), (r) => data.del.decode(r, enc)),
    c(`data.keyOnly/${enc}`, rec(ref), (w, v) => data.keyOnly.encode(w, v, enc), (r) => data.keyOnly.decode(r, enc)),
    c(`data.expire/${enc}`, rec({ ...ref, expiresSec: int32, flags: int32 }), (w, v) => data.expire.encode(w, v, enc), (r) =>
      data.expire.decode(r, enc),
    ),
    c(`data.mapOnly/${enc}`, t, (w, v) => data.mapOnly.encode(w, v, enc), (r) => data.mapOnly.decode(r, enc)),
    c(`data.mapDelete/${enc}`, rec({ map: t, flags: int32 }), (w, v) => data.mapDelete.encode(w, v, enc), (r) =>
      data.mapDelete.decode(r, enc),
    ),
    c(`data.stringsReply/${enc}`, fc.array(t, { maxLength: 8 }), (w, v) => data.stringsReply.encode(w, v, enc), (r) =>
      data.stringsReply.decode(r, enc, MAX_COUNT), { countChecked: true },
    ),
    c(
      `data.entriesReply/${enc}`,
      fc.array(rec({ key: t, value }), { maxLength: 6 }),
      (w, v) => data.entriesReply.encode(w, v, enc),
      (r) => data.entriesReply.decode(r, enc, MAX_COUNT),
      { countChecked: true },
    ),
  ];
}

const dataFormlessCases: Case[] = [
  c('data.clientHello', rec({ version: int32, features: int32 }), data.clientHello.encode, data.clientHello.decode),
  c('data.valueReply', fc.option(value, { nil: null }), data.valueReply.encode, data.valueReply.decode),
  c('data.boolReply', fc.boolean(), data.boolReply.encode, data.boolReply.decode),
  c('data.longReply', safeLong, data.longReply.encode, data.longReply.decode),
  c('data.jsonReply', fc.jsonValue({ maxDepth: 3 }), data.jsonReply.encode, data.jsonReply.decode, {
    expected: (v) => JSON.parse(JSON.stringify(v)) as unknown,
  }),
];

const tableMsg = rec({ mask: u32, entries: fc.array(bucketEntry, { maxLength: 5 }) })
  .filter((m) => m.entries.length <= m.mask + 1);

const nodeCases: Case[] = [
  c('node.table', tableMsg, nodeMsg.table.encode, nodeMsg.table.decode),
  c(
    'node.bucketOwner',
    rec({ mask: u32, entry: bucketEntry }),
    (w, v) => nodeMsg.bucketOwner.encode(w, v.mask, v.entry),
    nodeMsg.bucketOwner.decode,
  ),
  c('node.serverHello', rec({ addr: latin1, incarnation: long, role: int32 }), nodeMsg.serverHello.encode, nodeMsg.serverHello.decode),
  c('node.probe', rec({ from: latin1, fromIncarnation: long, target: latin1, targetIncarnation: long, fromClusterSize: int32 }), nodeMsg.probe.encode, nodeMsg.probe.decode),
  c(
    'node.members',
    fc.array(rec({ addr: latin1, incarnation: long, role: int32, state: int32 }), { maxLength: 6 }),
    nodeMsg.members.encode,
    nodeMsg.members.decode,
  ),
  c(
    'node.heartbeat',
    rec({ originMs: safeLong, primaries: int32, backups: int32, transferring: int32, suspects: fc.array(rec({ addr: latin1, incarnation: long }), { maxLength: 5 }), viewSize: fc.nat({ max: 4096 }), fenceMs: fc.nat({ max: 0x7fffffff }) }),
    nodeMsg.heartbeat.encode,
    nodeMsg.heartbeat.decode,
    { olderLengths: (_v, payloadBytes) => [payloadBytes - 8, payloadBytes - 4] }, // the view size, then the fence, came later (heartbeat-frame.test.ts)
  ),
  c('node.memberGone', rec({ addr: latin1, incarnation: long }), nodeMsg.memberGone.encode, nodeMsg.memberGone.decode),
  c('node.widenMask', u32, nodeMsg.widenMask.encode, nodeMsg.widenMask.decode),
  c('node.copyBegin', rec({ mask: u32, hash: u32, epoch: int32, role: int32 }), nodeMsg.copyBegin.encode, nodeMsg.copyBegin.decode),
  c(
    'node.copyItems',
    rec({ mask: u32, hash: u32, items: fc.array(versionedItem, { maxLength: 5 }) }),
    nodeMsg.copyItems.encode,
    nodeMsg.copyItems.decode,
    // A frame of a node before versions ends after the items (12 bytes of version each).
    { olderLengths: (v, payloadBytes) => [payloadBytes - 12 * v.items.length] },
  ),
  c('node.bucketRef', rec({ mask: u32, hash: u32 }), nodeMsg.bucketRef.encode, nodeMsg.bucketRef.decode),
  c(
    'node.copyFinalise',
    rec({ mask: u32, hash: u32, epoch: int32, seq: safeLong, primary: latin1, backup: latin1 }),
    nodeMsg.copyFinalise.encode,
    nodeMsg.copyFinalise.decode,
  ),
  c('node.syncUpdate', syncUpdateMsg, nodeMsg.syncUpdate.encode, nodeMsg.syncUpdate.decode),
  c('node.logBatch', fc.array(syncUpdateMsg, { maxLength: 4 }), nodeMsg.logBatch.encode, nodeMsg.logBatch.decode),
  // An empty payload is the subscription of a logging node from before snapshots: flags 0.
  c('node.subscribeUpdates', int32, nodeMsg.subscribeUpdates.encode, nodeMsg.subscribeUpdates.decode, { emptyIsValid: true }),
  c('node.snapshotRequest', rec({ mask: u32, hash: u32 }), nodeMsg.snapshotRequest.encode, nodeMsg.snapshotRequest.decode),
  c(
    'node.logSnapshot',
    // A part lies within its snapshot: offset + count <= total.
    rec({ mask: u32, hash: u32, epoch: int32, seq: safeLong, offset: fc.nat(1000), more: fc.nat(1000), items: fc.array(item, { maxLength: 4 }) }).map(({ more, ...m }) => ({ ...m, total: m.offset + m.items.length + more })),
    nodeMsg.logSnapshot.encode,
    nodeMsg.logSnapshot.decode,
  ),
  c('node.item', item, nodeMsg.writeItem, nodeMsg.readItem, { embedded: true }),
  c('node.update', update, nodeMsg.writeUpdate, nodeMsg.readUpdate, { embedded: true }),
];

const valueCases: Case[] = [c('values.value', fc.option(value, { nil: null }), writeValue, readValue, { embedded: true })];

const nonce = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a));
const authCases: Case[] = [
  c('auth.nodeAuth', rec({ addr: latin1, incarnation: long, role: int32, nonce }), authMsg.nodeAuth.encode, authMsg.nodeAuth.decode),
  c('auth.nodeChallenge', rec({ addr: latin1, incarnation: long, nonce, mac: nonce }), authMsg.nodeChallenge.encode, authMsg.nodeChallenge.decode),
  c('auth.nodeProof', nonce, authMsg.nodeProof.encode, authMsg.nodeProof.decode),
  c('auth.auth', rec({ user: utf8, password: utf8 }), authMsg.auth.encode, authMsg.auth.decode),
];

export const ALL: Case[] = [...legacyCases, ...FORMS.flatMap(dataCases), ...dataFormlessCases, ...nodeCases, ...valueCases, ...authCases];

// ---- running a case ----

export function encodePayload(cs: Case, v: unknown): Buffer {
  const w = new Writer(1); // tiny on purpose: every codec must grow the buffer correctly
  cs.encode(w, v);
  return Buffer.from(w.take());
}

/** Runs a decode that may fail; only DecodeError (or a count RangeError where allowed) is an acceptable failure. */
export function decodesOrRejects(cs: Case, r: Reader): void {
  try {
    cs.decode(r);
  } catch (e) {
    if (e instanceof DecodeError) return;
    // A count out of range is a RangeError without a Node error code; a Buffer read past the end has one.
    if (cs.countChecked && e instanceof RangeError && !('code' in e)) return;
    assert.fail(`${cs.name}: decoder threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}

