// The routing case: with several nodes, keys chosen so that every primary owns some of them are
// written and read back, and every node's own ops counters show that it served its share.
import { fnv1aUtf8 } from '../shared/fnv.js';
import { bucketOf } from '../shared/buckets.js';
import { type CheckContext, CheckFailed, CheckSkipped, expectTrue, show } from './check-context.js';

const KEYS_PER_NODE = 32;
const SEARCH_MAX = 200_000;
/** Numeric leaves summed per stats object (bounds the walk over an unexpected shape). */
const STATS_LEAVES_MAX = 10_000;

/** Keys under the prefix, KEYS_PER_NODE for each owner, by the client's bucket table. */
function keysPerOwner(ctx: CheckContext, mask: number, primaries: readonly string[], owners: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>(owners.map((o) => [o, []]));
  let missing = owners.length;
  for (let i = 0; i < SEARCH_MAX && missing > 0; i++) {
    const name = `${ctx.prefix}route:${i}`;
    const list = out.get(primaries[bucketOf(fnv1aUtf8(name), mask)]!);
    if (list === undefined || list.length >= KEYS_PER_NODE) continue;
    list.push(name);
    ctx.keys.add(name);
    if (list.length === KEYS_PER_NODE) missing--;
  }
  if (missing > 0) throw new CheckFailed(`no ${KEYS_PER_NODE} keys found for every owner among ${SEARCH_MAX} names`);
  return out;
}

function sumNumbers(v: unknown, budget: { left: number }): number {
  if (budget.left-- <= 0) return 0;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v !== 'object' || v === null) return 0;
  let sum = 0;
  for (const x of Object.values(v)) sum += sumNumbers(x, budget);
  return sum;
}

/** Each node's total of its `ops` counters, by address. */
async function opsByNode(ctx: CheckContext): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const s of await ctx.cluster.stats()) {
    const rec = s as unknown as Record<string, unknown>;
    const ops = rec['ops'];
    if (typeof ops !== 'object' || ops === null) throw new CheckFailed(`stats of ${String(rec['addr'])} carry no ops counters`);
    out.set(String(rec['addr']), sumNumbers(ops, { left: STATS_LEAVES_MAX }));
  }
  return out;
}

async function writeAndRead(ctx: CheckContext, keys: readonly string[]): Promise<void> {
  await Promise.all(keys.map((k) => ctx.cluster.set(k, `routed ${k}`)));
  const back = await Promise.all(keys.map((k) => ctx.cluster.get(k)));
  const wrong = back.findIndex((v, i) => v !== `routed ${keys[i]!}`);
  if (wrong >= 0) throw new CheckFailed(`${keys[wrong]!} read back ${show(back[wrong])}`);
}

export async function routingCase(ctx: CheckContext): Promise<string> {
  const table = ctx.cluster.bucketTable();
  const owners = [...new Set(table.primaries.filter((p) => p.length > 0))].sort();
  if (owners.length < 2) throw new CheckSkipped(`one node (${owners[0] ?? 'none'}) holds every bucket`);
  const known = new Set(ctx.cluster.nodes());
  for (const o of owners) expectTrue(known.has(o), `primary ${o} is not among the client's nodes ${[...known].join(',')}`);
  const perOwner = keysPerOwner(ctx, table.mask, table.primaries, owners);
  const keys = [...perOwner.values()].flat();
  await writeAndRead(ctx, keys); // first pass: the client links to every owner it needs
  const before = await opsByNode(ctx);
  await writeAndRead(ctx, keys);
  const after = await opsByNode(ctx);
  const shares: string[] = [];
  for (const o of owners) {
    const b = before.get(o);
    const a = after.get(o);
    if (a === undefined || b === undefined) throw new CheckFailed(`no stats from primary ${o}`);
    // Each owner was sent KEYS_PER_NODE sets and as many gets: its counters must show at least that share.
    expectTrue(a - b >= KEYS_PER_NODE, `${o} counted ${a - b} ops for its ${KEYS_PER_NODE} keys`);
    shares.push(`${o} +${a - b}`);
  }
  return `${owners.length} primaries, ${KEYS_PER_NODE} keys each; ops ${shares.join(', ')}`;
}
