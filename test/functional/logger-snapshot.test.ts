// The logging node captures everything (issue 14, item 4): 50,000 keys written before the logger
// starts reach it as bucket snapshots; writers go on and a node is killed -9 meanwhile; the logs,
// compacted and injected into a fresh node, give back every key, type, value, map entry and expiry
// of the original cluster, and compact reports no gap.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Cluster, type ClusterValue } from '../../src/index.js';
import { loadFiles } from '../../src/logger/compact.js';
import { listLogFiles } from '../../src/logger/log-reader.js';
import { fnv1aLatin1 } from '../../src/shared/fnv.js';
import { cleanup, killNode, makeTempDir, runCli, startNode, waitFor } from '../helpers/nodes.js';
import { startCluster, waitForGoalState } from '../helpers/cluster.js';
import { killLoggers, startLoggerProc, stopLoggerProc } from '../helpers/logger-proc.js';

after(async () => {
  await killLoggers();
  await cleanup();
});

const PLAIN = 45_000;
const MAPS = 50;
const ENTRIES = 100; // 45,000 + 50 x 100 = 50,000 keys
const EXPIRY_BASE_SEC = 10 * 24 * 3600;
const IN_FLIGHT = 256;

const hasExpiry = (i: number): boolean => i % 10 === 5;

function valueFor(i: number, round: number): ClusterValue {
  switch (i % 4) {
    case 0:
      return `s${i}-r${round}-é`;
    case 1:
      return i * 10 + round;
    case 2:
      return (BigInt(i) << 33n) + BigInt(round);
    default:
      return Buffer.from([i & 255, (i >> 8) & 255, round & 255, 0]);
  }
}

function canon(v: ClusterValue | null): string {
  if (v === null) return 'missing';
  if (typeof v === 'number') return `int:${v}`;
  if (typeof v === 'bigint') return `long:${v}`;
  if (typeof v === 'string') return `string:${v}`;
  return `binary:${Buffer.from(v).toString('base64')}`;
}

/** Runs the tasks with at most IN_FLIGHT at once. */
async function pool(n: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < n) await task(next++);
  }));
}

interface Digest {
  values: Map<string, string>;
  /** Expiry of the keys that have one: absolute ms, bounded by the time of the ttl request. */
  expiry: Map<string, { lo: number; hi: number }>;
}

/** Every key the test may have written: plain keys (value, type, expiry) and every map's entries. */
async function digestOf(c: Cluster): Promise<Digest> {
  const values = new Map<string, string>();
  const expiry = new Map<string, { lo: number; hi: number }>();
  await pool(PLAIN, async (i) => {
    const v = await c.get(`p${i}`);
    if (v !== null) values.set(`|p${i}`, canon(v));
    const before = Date.now();
    const ttl = await c.ttl(`p${i}`);
    if (ttl >= 0) expiry.set(`p${i}`, { lo: before + ttl, hi: Date.now() + ttl });
  });
  for (let m = 0; m < MAPS; m++) for (const [k, v] of await c.map(`m${m}`).getAll()) values.set(`m${m}|${k}`, canon(v));
  return { values, expiry };
}

test('50,000 keys written before the logger starts, writers and a kill -9 meanwhile: compact + inject rebuild the cluster, no gap', async (t) => {
  const nodes = await startCluster(3);
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  const client = new Cluster({ seeds: [addrs[0]!], requestTimeoutMs: 15_000 });
  await client.connect();
  try {
    await pool(PLAIN, (i) => client.set(`p${i}`, valueFor(i, 0), hasExpiry(i) ? { expiresSec: EXPIRY_BASE_SEC + i } : undefined));
    await pool(MAPS * ENTRIES, (j) => client.map(`m${j % MAPS}`).set(`e${Math.floor(j / MAPS)}`, valueFor(j, 0)));

    const dir = makeTempDir('oc-logs-');
    const lp = await startLoggerProc([addrs[0]!], dir);
    for (const a of addrs) await lp.waitForLog((l) => l['msg'] === 'subscribed to node updates' && l['node'] === a, 20_000);

    // Writers: overwrites (expiry changed on some), deletes and map changes, bounded in count.
    let stop = false;
    let ops = 0;
    const errors: string[] = [];
    const writer = async (w: number): Promise<void> => {
      for (let n = 1; !stop && n < 200_000; n++) {
        const i = (n * 7919 + w * 104_729) % PLAIN;
        const op = n % 7 === 0 ? client.delete(`p${i}`) : n % 11 === 0 ? client.map(`m${i % MAPS}`).set(`e${i % ENTRIES}`, valueFor(i, n)) : client.set(`p${i}`, valueFor(i, n), hasExpiry(i) ? { expiresSec: EXPIRY_BASE_SEC + n } : undefined);
        await op.catch((e: unknown) => errors.push(String(e)));
        ops++;
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await waitFor('the writers under way', () => (ops >= 2000 ? true : undefined), 30_000);
    await killNode(nodes[2]!);
    const opsAtKill = ops;
    await waitForGoalState(addrs.slice(0, 2), 40_000);
    await waitFor('more writes after the failover', () => (ops >= opsAtKill + 2000 ? true : undefined), 30_000);
    stop = true;
    await Promise.all(writers);

    // Barrier: one probe key in every bucket, written after the writers stopped. A bucket's updates
    // reach the logger in order from its primary, so once every probe is in the logs, every earlier
    // update is too; and once no gap is left, every snapshot the logger asked for is in.
    const probes: string[] = [];
    const covered = new Set<number>();
    for (let i = 0; covered.size < 256; i++) {
      const b = fnv1aLatin1(`probe${i}`) & 0xff;
      if (covered.has(b)) continue;
      covered.add(b);
      probes.push(`probe${i}`);
    }
    await pool(probes.length, (i) => client.set(probes[i]!, i));
    await waitFor('the logs to hold every probe and no gap', async () => {
      const { state, report } = await loadFiles(await listLogFiles(dir));
      const keys = new Set<string>();
      for (const { item } of state.live(Date.now())) if (item.key.startsWith('probe')) keys.add(item.key);
      return keys.size === probes.length && report.gaps.length === 0 ? true : undefined;
    }, 40_000, 500);

    assert.equal(await stopLoggerProc(lp), 0);
    const stopped = lp.logs.find((l) => l['msg'] === 'logger stopped');
    t.diagnostic(`writer ops ${ops} (errors ${errors.length}); logger: ${JSON.stringify({ tracker: stopped?.['tracker'], snapshots: stopped?.['snapshots'] })}`);

    const original = await digestOf(client);
    const out = join(makeTempDir('oc-compacted-'), 'cluster.oc');
    const compact = await runCli(['compact', ...(await listLogFiles(dir)), '--out', out, '--json'], 60_000);
    assert.equal(compact.code, 0, compact.stderr);
    const crep = JSON.parse(compact.stdout) as { items: number; gaps: unknown[]; snapshots: { applied: number } };
    assert.deepEqual(crep.gaps, [], 'compact closes every gap');
    assert.ok(crep.snapshots.applied >= 256, `every bucket came as a snapshot (${crep.snapshots.applied})`);
    assert.equal(crep.items, original.values.size + probes.length);

    const fresh = await startNode();
    const injectStartMs = Date.now();
    const inject = await runCli(['inject', out, '--cluster', fresh.addr, '--json'], 90_000);
    const injectMs = Date.now() - injectStartMs;
    assert.equal(inject.code, 0, inject.stderr);
    const c2 = new Cluster({ seeds: [fresh.addr], requestTimeoutMs: 15_000 });
    await c2.connect();
    try {
      const copy = await digestOf(c2);
      const diffs: string[] = [];
      for (const [k, v] of original.values) if (copy.values.get(k) !== v) diffs.push(`${k}: ${v} vs ${copy.values.get(k) ?? 'missing'}`);
      for (const [k, v] of copy.values) if (!original.values.has(k)) diffs.push(`${k}: missing vs ${v}`);
      assert.deepEqual(diffs.slice(0, 10), [], 'same keys, types, values and map entries');
      assert.ok(original.values.size > 40_000, `the cluster holds the data (${original.values.size})`);
      // inject sends the remaining expiry in whole seconds rounded up, which the fresh node counts
      // from when the request reaches it: the copy's expiry is at or after the original's, and
      // later by less than a second plus the time inject ran (each bounded by its ttl request).
      const wrong: string[] = [];
      for (const [k, o] of original.expiry) {
        const c = copy.expiry.get(k);
        if (c === undefined || c.hi < o.lo || c.lo >= o.hi + 1000 + injectMs) wrong.push(`${k}: ${JSON.stringify(o)} vs ${JSON.stringify(c)}`);
      }
      assert.deepEqual(wrong.slice(0, 10), [], 'same expiry, to the second');
      assert.equal(copy.expiry.size, original.expiry.size);
    } finally {
      await c2.close();
    }
  } finally {
    await client.close();
  }
});
