// The feature check's cases for the atomic operations: incr/decr (overflow, wrong type), the
// conditional sets, getAndSet/getAndDelete, versions with ifVersion, and concurrent increments of
// counters held by every node at once.
import { fnv1aUtf8 } from '../shared/fnv.js';
import { type CheckContext, CheckFailed, expectEqual, expectRejects, expectTrue, show } from './check-context.js';

const INT32_MAX = 2 ** 31 - 1;
/** Increments sent at once to each counter in the concurrency case. */
const CONCURRENT_INCRS = 500;

async function incrCase(ctx: CheckContext): Promise<string> {
  const c = ctx.cluster;
  const k = ctx.key('incr:n');
  expectEqual(await c.incr(k), 1, 'incr of a missing key starts from 0');
  expectEqual(await c.incr(k, 41), 42, 'incr by 41');
  expectEqual(await c.decr(k, 2), 40, 'decr by 2');
  expectEqual(await c.incr(ctx.key('incr:init'), 5, { initial: 100 }), 105, 'incr from initial');
  expectEqual(await c.incr(ctx.key('incr:long'), 1n, { initial: 1n << 40n }), (1n << 40n) + 1n, 'incr of a long');
  const max = ctx.key('incr:max');
  await c.set(max, INT32_MAX);
  await expectRejects(() => c.incr(max), 'OVERFLOW', 'incr past int32 max');
  expectEqual(await c.get(max), INT32_MAX, 'an overflowing incr changes nothing');
  const s = ctx.key('incr:string');
  await c.set(s, 'text');
  await expectRejects(() => c.incr(s), 'WRONG_TYPE', 'incr of a string');
  const m = c.map(ctx.mapName('incr'));
  expectEqual(await m.incr('hits', 3), 3, 'map.incr');
  return 'int and long, initial, OVERFLOW, WRONG_TYPE, map.incr';
}

async function conditionalCase(ctx: CheckContext): Promise<string> {
  const c = ctx.cluster;
  const k = ctx.key('cond:once');
  expectEqual(await c.set(k, 'a', { ifAbsent: true }), true, 'ifAbsent on a missing key');
  expectEqual(await c.set(k, 'b', { ifAbsent: true }), false, 'ifAbsent on an existing key');
  expectEqual(await c.set(ctx.key('cond:none'), 'x', { ifExists: true }), false, 'ifExists on a missing key');
  expectEqual(await c.set(k, 'c', { ifExists: true }), true, 'ifExists on an existing key');
  expectEqual(await c.getAndSet(k, 'd'), 'c', 'getAndSet returns the old value');
  expectEqual(await c.getAndDelete(k), 'd', 'getAndDelete returns the value');
  expectEqual(await c.exists(k), false, 'getAndDelete deleted it');
  expectEqual(await c.getAndDelete(k), null, 'getAndDelete of a missing key');
  expectEqual(await c.map(ctx.mapName('cond')).set('f', 1, { ifAbsent: true }), true, 'map.set ifAbsent');
  return 'ifAbsent, ifExists, getAndSet, getAndDelete, map form';
}

async function versionCase(ctx: CheckContext): Promise<string> {
  const c = ctx.cluster;
  const k = ctx.key('version');
  await c.set(k, 'one');
  const v1 = await c.getWithVersion(k);
  expectTrue(v1 !== null && v1.value === 'one' && v1.version > 0n, `getWithVersion: ${show(v1)}`);
  await c.set(k, 'one');
  const v2 = (await c.getWithVersion(k))!;
  expectTrue(v2.version !== v1!.version, 'a write of the same value changes the version');
  await expectRejects(() => c.set(k, 'two', { ifVersion: v1!.version }), 'VERSION_MISMATCH', 'set with an old version');
  expectEqual(await c.set(k, 'two', { ifVersion: v2.version }), true, 'set with the current version');
  await expectRejects(() => c.delete(k, { ifVersion: v2.version }), 'VERSION_MISMATCH', 'delete with an old version');
  const v3 = (await c.getWithVersion(k))!;
  expectEqual(await c.delete(k, { ifVersion: v3.version }), true, 'delete with the current version');
  await c.set(k, 'again');
  const v4 = (await c.getWithVersion(k))!;
  expectTrue(![v1!.version, v2.version, v3.version].includes(v4.version), 'a re-created item takes a new version');
  return 'changes on every write, ifVersion on set and delete, never reused';
}

/** One counter per node (its primary), each incremented CONCURRENT_INCRS times at once. */
async function concurrentIncrCase(ctx: CheckContext): Promise<string> {
  const c = ctx.cluster;
  const table = c.bucketTable();
  const byNode = new Map<string, string>();
  for (let i = 0; i < 10_000 && byNode.size < c.nodes().length; i++) {
    const key = `${ctx.prefix}counter:${i}`;
    const primary = table.primaries[fnv1aUtf8(key) & table.mask] ?? '';
    if (primary !== '' && !byNode.has(primary)) byNode.set(primary, ctx.key(`counter:${i}`));
  }
  const keys = [...byNode.values()];
  const results = await Promise.all(keys.map((k) => Promise.all(Array.from({ length: CONCURRENT_INCRS }, () => c.incr(k)))));
  for (let i = 0; i < keys.length; i++) {
    const got = await c.get(keys[i]!);
    if (got !== CONCURRENT_INCRS) throw new CheckFailed(`${keys[i]}: ${CONCURRENT_INCRS} increments made ${show(got)}`);
    if (new Set(results[i]).size !== CONCURRENT_INCRS) throw new CheckFailed(`${keys[i]}: two increments returned the same value`);
  }
  return `${CONCURRENT_INCRS} increments at once on each of ${keys.length} counter(s), one per node: all counted once`;
}

/** The shape of check-cases.ts's CheckCase (declared here to keep imports one way). */
interface AtomicCase {
  name: string;
  timeoutMs: number;
  run(ctx: CheckContext): Promise<string>;
}

export const ATOMIC_CASES: readonly AtomicCase[] = [
  { name: 'incr and decr', timeoutMs: 10_000, run: incrCase },
  { name: 'conditional sets', timeoutMs: 10_000, run: conditionalCase },
  { name: 'versions', timeoutMs: 10_000, run: versionCase },
  { name: 'concurrent incr across nodes', timeoutMs: 30_000, run: concurrentIncrCase },
];
