// The feature check's cases for batches and scan: mset/mget/mdelete over keys of every node, a bad
// key failing alone, the map forms, and a scan that finds every key written under a prefix.
import { BatchError } from '../index.js';
import { fnv1aUtf8 } from '../shared/fnv.js';
import { type CheckContext, CheckFailed, expectEqual, expectTrue, show } from './check-context.js';

const BATCH_KEYS = 300;

async function batchCase(ctx: CheckContext): Promise<string> {
  const keys = Array.from({ length: BATCH_KEYS }, (_v, i) => ctx.key(`batch:${i}`));
  const nodes = new Set(keys.map((k) => ctx.cluster.bucketTable().primaries[keyBucket(k, ctx.cluster.bucketTable().mask)]));
  await ctx.cluster.mset(keys.map((k, i) => [k, i % 2 === 0 ? `v${i}` : i] as const));
  const back = await ctx.cluster.mget([...keys, ctx.key('batch:missing')]);
  const wrong = keys.findIndex((_k, i) => back[i] !== (i % 2 === 0 ? `v${i}` : i));
  if (wrong >= 0) throw new CheckFailed(`mget #${wrong} answered ${show(back[wrong])}`);
  expectEqual(back[BATCH_KEYS], null, 'mget of a missing key');
  const deleted = await ctx.cluster.mdelete([keys[0]!, ctx.key('batch:missing'), keys[1]!]);
  expectEqual(deleted.join(','), 'true,false,true', 'mdelete answers');
  const err = await ctx.cluster.mset([[ctx.key('batch:ok'), 1], [ctx.key('batch:bad'), 0.5]]).then(
    () => null,
    (e: unknown) => e,
  );
  expectTrue(err instanceof BatchError && err.results[0]!.ok && !err.results[1]!.ok, `a bad value fails alone: ${show(err)}`);
  expectEqual(await ctx.cluster.get(ctx.key('batch:ok')), 1, 'the good key of a failed batch');
  return `${BATCH_KEYS} keys over ${nodes.size} node(s): mset, mget in order, mdelete; a bad key fails alone`;
}

async function mapBatchCase(ctx: CheckContext): Promise<string> {
  const map = ctx.cluster.map(ctx.mapName('batch'));
  await map.setMany([['a', 1], ['b', 'two'], ['c', 3n]]);
  const got = await map.getMany(['c', 'none', 'a', 'b']);
  expectEqual(show(got), show([3n, null, 1, 'two']), 'getMany');
  expectEqual(await map.count(), 3, 'count after setMany');
  return 'setMany, getMany in order with a miss';
}

async function scanCase(ctx: CheckContext): Promise<string> {
  const keys = Array.from({ length: 200 }, (_v, i) => ctx.key(`scan:${i}`));
  await ctx.cluster.mset(keys.map((k) => [k, 1] as const));
  const seen = new Set<string>();
  for await (const k of ctx.cluster.scan({ prefix: `${ctx.prefix}scan:`, count: 50 })) seen.add(k);
  const missing = keys.filter((k) => !seen.has(k));
  if (missing.length > 0) throw new CheckFailed(`scan missed ${missing.length} key(s), e.g. ${missing[0]}`);
  expectEqual(seen.size, keys.length, 'scan found only the prefix');
  return `${keys.length} keys under a prefix, all found`;
}

/** The bucket the client routes a plain key to. */
function keyBucket(key: string, mask: number): number {
  return fnv1aUtf8(key) & mask;
}

export const BATCH_CASES = [
  { name: 'batches (mget, mset, mdelete)', timeoutMs: 20_000, run: batchCase },
  { name: 'map batches', timeoutMs: 10_000, run: mapBatchCase },
  { name: 'scan', timeoutMs: 30_000, run: scanCase },
] as const;
