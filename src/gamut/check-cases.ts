// The feature check's cases, in the order they run: each exercises one client feature against the
// live cluster and returns a short detail, or throws CheckFailed / CheckSkipped.
import { fnv1aUtf8 } from '../shared/fnv.js';
import { type CheckContext, CheckFailed, expectEqual, expectRejects, expectTrue, pollUntil, show } from './check-context.js';
import { routingCase } from './check-routing.js';
import { ATOMIC_CASES } from './check-atomic.js';
import { BATCH_CASES } from './check-batch.js';

export interface CheckCase {
  name: string;
  timeoutMs: number;
  run(ctx: CheckContext): Promise<string>;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
/** Below the default 16 MiB frame limit with room for the header and names. */
export const LARGE_VALUE_BYTES = 15 * 1024 * 1024;
export const MANY_IN_FLIGHT = 2000;
/** Expiry is whole seconds; a 1 s item must be gone well within this. */
const EXPIRY_GONE_WITHIN_MS = 5000;
/** Candidates tried when looking for two keys with the same FNV-1a hash (about 80k expected). */
const COLLISION_TRIES_MAX = 1_000_000;

async function pingCase(ctx: CheckContext): Promise<string> {
  const ms = await ctx.cluster.ping();
  expectTrue(typeof ms === 'number' && Number.isFinite(ms) && ms >= 0, `ping returned ${show(ms)}`);
  return `${ms.toFixed(2)} ms round trip, ${ctx.cluster.nodes().length} node(s) known`;
}

async function capabilitiesCase(ctx: CheckContext): Promise<string> {
  const caps = await ctx.cluster.capabilities();
  expectTrue(Array.isArray(caps) && caps.length > 0 && caps.every((c) => typeof c === 'string'), `capabilities: ${show(caps)}`);
  return caps.join(' ');
}

async function statsCase(ctx: CheckContext): Promise<string> {
  const stats = await ctx.cluster.stats();
  expectTrue(stats.length >= 1, 'stats() returned no node');
  for (const s of stats) {
    const rec = s as unknown as Record<string, unknown>;
    expectTrue(typeof rec['addr'] === 'string', `stats without addr: ${JSON.stringify(rec).slice(0, 80)}`);
    expectTrue(typeof rec['items'] === 'number', `stats of ${String(rec['addr'])} without a numeric items count`);
  }
  return `${stats.length} node(s) answered`;
}

async function roundTrip(ctx: CheckContext, name: string, values: readonly (string | number | bigint | Buffer)[]): Promise<void> {
  for (let i = 0; i < values.length; i++) {
    const key = ctx.key(`${name}:${i}`);
    await ctx.cluster.set(key, values[i]!);
    expectEqual(await ctx.cluster.get(key), values[i], `get ${name} #${i}`);
  }
}

async function stringCase(ctx: CheckContext): Promise<string> {
  const values = ['hello', '', 'héllo wörld ☃ 𝄞', 'x'.repeat(10_000)];
  await roundTrip(ctx, 'string', values);
  expectEqual(await ctx.cluster.getString(ctx.key('string:0')), 'hello', 'getString');
  return `${values.length} strings incl. empty and non-ASCII`;
}

async function int32Case(ctx: CheckContext): Promise<string> {
  const values = [0, 41, -1, INT32_MIN, INT32_MAX];
  await roundTrip(ctx, 'int', values);
  expectEqual(await ctx.cluster.getInt(ctx.key('int:1')), 41, 'getInt');
  return `${values.join(', ')}`;
}

async function int64Case(ctx: CheckContext): Promise<string> {
  const values = [0n, 1n << 40n, -5n, INT64_MIN, INT64_MAX];
  await roundTrip(ctx, 'long', values);
  expectEqual(await ctx.cluster.getLong(ctx.key('long:1')), 1n << 40n, 'getLong');
  return 'bigint incl. int64 min and max';
}

async function binaryCase(ctx: CheckContext): Promise<string> {
  const all = Buffer.from(Array.from({ length: 256 }, (_v, i) => i));
  await roundTrip(ctx, 'binary', [all, Buffer.alloc(0), Buffer.from('ff00', 'hex')]);
  expectEqual(await ctx.cluster.getBinary(ctx.key('binary:0')), all, 'getBinary');
  return 'all 256 byte values, empty, short';
}

async function overwriteCase(ctx: CheckContext): Promise<string> {
  const key = ctx.key('overwrite');
  await ctx.cluster.set(key, 'text');
  await ctx.cluster.set(key, 7);
  expectEqual(await ctx.cluster.get(key), 7, 'after string then int');
  await ctx.cluster.set(key, Buffer.from([1]));
  expectEqual(await ctx.cluster.get(key), Buffer.from([1]), 'after int then binary');
  return 'a set replaces value and type';
}

async function badValueCase(ctx: CheckContext): Promise<string> {
  const key = ctx.key('bad');
  await expectRejects(() => ctx.cluster.set(key, 1.5), 'BAD_REQUEST', 'set 1.5');
  await expectRejects(() => ctx.cluster.set(key, INT32_MAX + 1), 'BAD_REQUEST', 'set 2^31');
  await expectRejects(() => ctx.cluster.set(key, INT64_MAX + 1n), 'BAD_REQUEST', 'set 2^63n');
  expectEqual(await ctx.cluster.get(key), null, 'nothing stored after rejected sets');
  return 'non-int32 numbers and out-of-range bigints rejected';
}

async function wrongTypeCase(ctx: CheckContext): Promise<string> {
  const key = ctx.key('wrongtype');
  await ctx.cluster.set(key, 41);
  await expectRejects(() => ctx.cluster.getString(key), 'WRONG_TYPE', 'getString of an int');
  await expectRejects(() => ctx.cluster.getLong(key), 'WRONG_TYPE', 'getLong of an int');
  await expectRejects(() => ctx.cluster.getBinary(key), 'WRONG_TYPE', 'getBinary of an int');
  await ctx.cluster.set(key, 'text');
  await expectRejects(() => ctx.cluster.getInt(key), 'WRONG_TYPE', 'getInt of a string');
  expectEqual(await ctx.cluster.get(key), 'text', 'value intact after wrong-type reads');
  const map = ctx.cluster.map(ctx.mapName('wrongtype'));
  await map.set('n', 5);
  await expectRejects(() => map.getString('n'), 'WRONG_TYPE', 'map getString of an int');
  return 'WRONG_TYPE for keys and map entries, value intact';
}

async function deleteCase(ctx: CheckContext): Promise<string> {
  const key = ctx.key('delete');
  await ctx.cluster.set(key, 'x');
  expectEqual(await ctx.cluster.exists(key), true, 'exists after set');
  expectEqual(await ctx.cluster.delete(key), true, 'delete of an existing key');
  expectEqual(await ctx.cluster.exists(key), false, 'exists after delete');
  expectEqual(await ctx.cluster.delete(key), false, 'second delete');
  expectEqual(await ctx.cluster.get(key), null, 'get after delete');
  expectEqual(await ctx.cluster.getString(key), null, 'getString of a missing key');
  return 'exists, delete (true then false), get null';
}

async function expiryCase(ctx: CheckContext): Promise<string> {
  const key = ctx.key('expiry');
  const t0 = Date.now();
  await ctx.cluster.set(key, 'short-lived', { expiresSec: 1 });
  const ttl = await ctx.cluster.ttl(key);
  expectTrue(ttl > 0 && ttl <= 1000, `ttl right after set with expiresSec 1: ${ttl}`);
  expectEqual(await ctx.cluster.get(key), 'short-lived', 'get before expiry');
  const gone = await pollUntil(async () => (await ctx.cluster.get(key)) === null, EXPIRY_GONE_WITHIN_MS);
  expectTrue(gone, `still present ${EXPIRY_GONE_WITHIN_MS} ms after a 1 s expiry`);
  expectEqual(await ctx.cluster.ttl(key), -2, 'ttl of an expired key');
  expectEqual(await ctx.cluster.exists(key), false, 'exists of an expired key');
  return `gone within ${Date.now() - t0} ms of the set (ttl was ${ttl} ms)`;
}

async function expireCase(ctx: CheckContext): Promise<string> {
  const key = ctx.key('expire');
  await ctx.cluster.set(key, 'v');
  expectEqual(await ctx.cluster.ttl(key), -1, 'ttl without expiry');
  expectEqual(await ctx.cluster.expire(key, 100), true, 'expire 100 of an existing key');
  const ttl = await ctx.cluster.ttl(key);
  expectTrue(ttl > 98_000 && ttl <= 100_000, `ttl after expire 100: ${ttl}`);
  expectEqual(await ctx.cluster.expire(key, 0), true, 'expire 0');
  expectEqual(await ctx.cluster.ttl(key), -1, 'ttl after expire 0');
  expectEqual(await ctx.cluster.expire(ctx.key('expire:missing'), 5), false, 'expire of a missing key');
  expectEqual(await ctx.cluster.expire(key, 1), true, 'expire 1');
  const gone = await pollUntil(async () => !(await ctx.cluster.exists(key)), EXPIRY_GONE_WITHIN_MS);
  expectTrue(gone, 'still present after expire 1');
  return 'ttl -1, expire set/cleared/missing, expired on time';
}

async function mapCase(ctx: CheckContext): Promise<string> {
  const name = ctx.mapName('m');
  const map = ctx.cluster.map(name);
  const entries: [string, string | number | bigint | Buffer][] = [['a', 'alpha'], ['b', 2], ['c', 3n], ['d', Buffer.from([9, 8])]];
  for (const [k, v] of entries) await map.set(k, v);
  for (const [k, v] of entries) expectEqual(await map.get(k), v, `map get ${k}`);
  const all = await map.getAll();
  expectEqual(all.size, entries.length, 'getAll size');
  for (const [k, v] of entries) expectEqual(all.get(k), v, `getAll ${k}`);
  expectEqual((await map.keys()).sort().join(','), 'a,b,c,d', 'keys');
  expectEqual(await map.count(), 4, 'count');
  expectEqual(await map.exists('a'), true, 'exists a');
  expectEqual(await map.delete('a'), true, 'delete a');
  expectEqual(await map.delete('a'), false, 'delete a again');
  expectEqual(await map.get('a'), null, 'get a after delete');
  expectEqual(await map.count(), 3, 'count after delete');
  const plain = ctx.key('map:m');
  await ctx.cluster.set(plain, 'plain');
  await map.set(plain, 'entry');
  expectEqual(await ctx.cluster.get(plain), 'plain', 'a plain key beside a map entry of the same name');
  expectEqual(await map.clear(), true, 'clear');
  expectEqual(await map.count(), 0, 'count after clear');
  expectEqual((await map.getAll()).size, 0, 'getAll after clear');
  expectEqual((await map.keys()).length, 0, 'keys after clear');
  expectEqual(await map.clear(), false, 'clear of a missing map');
  return 'set/get/getAll/keys/count/delete/clear';
}

async function largeValueCase(ctx: CheckContext): Promise<string> {
  const key = ctx.key('large');
  const value = Buffer.alloc(LARGE_VALUE_BYTES);
  for (let i = 0; i < value.length; i += 4096) value.writeUInt32BE(i, i);
  const t0 = Date.now();
  await ctx.cluster.set(key, value);
  const back = await ctx.cluster.getBinary(key);
  const ms = Date.now() - t0;
  expectTrue(back !== null && back.length === value.length, `read back ${back === null ? 'nothing' : `${back.length} bytes`}`);
  expectTrue(back!.equals(value), 'large value read back differs');
  expectEqual(await ctx.cluster.delete(key), true, 'delete large value');
  return `${(LARGE_VALUE_BYTES / 1048576).toFixed(0)} MiB set+get in ${ms} ms`;
}

async function manyInFlightCase(ctx: CheckContext): Promise<string> {
  const keys = Array.from({ length: MANY_IN_FLIGHT }, (_v, i) => ctx.key(`many:${i}`));
  const t0 = Date.now();
  await Promise.all(keys.map((k, i) => ctx.cluster.set(k, i % 2 === 0 ? `v${i}` : i)));
  const back = await Promise.all(keys.map((k) => ctx.cluster.get(k)));
  const wrong = back.findIndex((v, i) => !(i % 2 === 0 ? v === `v${i}` : v === i));
  if (wrong >= 0) throw new CheckFailed(`request #${wrong} answered ${show(back[wrong])}`);
  return `${MANY_IN_FLIGHT} sets then ${MANY_IN_FLIGHT} gets at once in ${Date.now() - t0} ms`;
}

/** Two keys with the same FNV-1a hash must stay two items. */
async function collisionCase(ctx: CheckContext): Promise<string> {
  const seen = new Map<number, string>();
  let pair: [string, string] | undefined;
  // Random suffixes: names differing only in a short counter almost never collide under FNV-1a.
  for (let i = 0; i < COLLISION_TRIES_MAX && pair === undefined; i++) {
    const name = `${ctx.prefix}c${Math.random().toString(36).slice(2, 12)}`;
    const h = fnv1aUtf8(name);
    const other = seen.get(h);
    if (other !== undefined) pair = [other, name];
    else seen.set(h, name);
  }
  if (pair === undefined) throw new CheckFailed(`no FNV-1a collision among ${COLLISION_TRIES_MAX} names`);
  const [a, b] = pair;
  ctx.keys.add(a).add(b);
  await ctx.cluster.set(a, 'first');
  await ctx.cluster.set(b, 'second');
  expectEqual(await ctx.cluster.get(a), 'first', `${a} beside ${b}`);
  expectEqual(await ctx.cluster.get(b), 'second', `${b} beside ${a}`);
  expectEqual(await ctx.cluster.delete(a), true, 'delete one of the pair');
  expectEqual(await ctx.cluster.get(b), 'second', 'the other survives');
  return `hash ${fnv1aUtf8(a).toString(16)} shared by 2 keys, kept apart`;
}

export const CASES: readonly CheckCase[] = [
  { name: 'ping', timeoutMs: 10_000, run: pingCase },
  { name: 'capabilities', timeoutMs: 10_000, run: capabilitiesCase },
  { name: 'stats', timeoutMs: 10_000, run: statsCase },
  { name: 'string values', timeoutMs: 10_000, run: stringCase },
  { name: 'int32 values', timeoutMs: 10_000, run: int32Case },
  { name: 'int64 values', timeoutMs: 10_000, run: int64Case },
  { name: 'binary values', timeoutMs: 10_000, run: binaryCase },
  { name: 'overwrite changes type', timeoutMs: 10_000, run: overwriteCase },
  { name: 'bad values rejected', timeoutMs: 10_000, run: badValueCase },
  { name: 'wrong-type errors', timeoutMs: 10_000, run: wrongTypeCase },
  { name: 'delete and exists', timeoutMs: 10_000, run: deleteCase },
  { name: 'expiry on set', timeoutMs: 15_000, run: expiryCase },
  { name: 'expire and ttl', timeoutMs: 15_000, run: expireCase },
  { name: 'maps', timeoutMs: 10_000, run: mapCase },
  { name: 'hash collisions', timeoutMs: 20_000, run: collisionCase },
  { name: 'large value', timeoutMs: 60_000, run: largeValueCase },
  { name: 'many in flight', timeoutMs: 30_000, run: manyInFlightCase },
  { name: 'routing', timeoutMs: 30_000, run: routingCase },
  ...ATOMIC_CASES,
  ...BATCH_CASES,
];
