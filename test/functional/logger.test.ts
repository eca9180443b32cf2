// The logging node with real node processes: it stays apart from clients and buckets; its logs,
// compacted and injected into a fresh cluster, give back exactly the data of the cluster it
// followed through a join and a graceful shutdown; kill -9 leaves logs that compact; a restart
// continues the series, reports its gap and closes it with the buckets' snapshots.
import { test, after, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, truncateSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Cluster, type ClusterValue } from '../../src/index.js';
import { loadFiles } from '../../src/logger/compact.js';
import { listLogFiles, readFiles } from '../../src/logger/log-reader.js';
import { readFileHeader } from '../../src/protocol/filefmt-io.js';
import { FileFlag } from '../../src/protocol/filefmt.js';
import type { Item } from '../../src/protocol/messages/node.js';
import { cleanup, makeTempDir, runCli, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';
import { startCluster, waitForGoalState } from '../helpers/cluster.js';
import { killLoggers, startLoggerProc, stopLoggerProc, type LoggerProc } from '../helpers/logger-proc.js';

after(async () => {
  await killLoggers();
  await cleanup();
});

const startLogger = startLoggerProc;
const stopLogger = stopLoggerProc;

/** A value in one comparable text form: its type and its content. */
function canon(v: ClusterValue | null): string {
  if (v === null) return 'missing';
  if (typeof v === 'number') return `int:${v}`;
  if (typeof v === 'bigint') return `long:${v}`;
  if (typeof v === 'string') return `string:${v}`;
  return `binary:${Buffer.from(v).toString('base64')}`;
}

function canonItem(it: Item): string {
  const v = it.value;
  if (v.t === 1) return `int:${v.v}`;
  if (v.t === 2) return `long:${v.v}`;
  if (v.t === 3) return `string:${v.v.toString('utf8')}`;
  return `binary:${v.v.toString('base64')}`;
}

const PLAIN_KEYS = 240;
const MAPS = ['m0', 'm1', 'm2', 'm3', 'm4'];
const ENTRIES = 16;

/** Everything the workload may have touched, as "map|key" → canonical value ('missing' when absent). */
async function contentOf(c: Cluster): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < PLAIN_KEYS; i++) {
    const v = await c.get(`k${i}`);
    if (v !== null) out.set(`|k${i}`, canon(v));
  }
  for (const m of MAPS) {
    for (const [k, v] of await c.map(m).getAll()) out.set(`${m}|${k}`, canon(v));
  }
  return out;
}

function valueFor(i: number, round: number): ClusterValue {
  switch (i % 4) {
    case 0:
      return `s${i}-r${round}-é`;
    case 1:
      return i * 1000 + round;
    case 2:
      return (BigInt(i) << 40n) + BigInt(round);
    default:
      return Buffer.from([i & 255, round & 255, 0, 255]);
  }
}

/** One round of the workload over every key: sets of all types, deletes, expiries, map changes. */
async function workloadRound(c: Cluster, round: number, errors: string[]): Promise<void> {
  const ops: Promise<unknown>[] = [];
  const guard = (p: Promise<unknown>, what: string): void => {
    ops.push(p.catch((e: unknown) => errors.push(`${what}: ${String(e)}`)));
  };
  for (let i = 0; i < PLAIN_KEYS; i++) {
    const key = `k${i}`;
    if (i % 10 === 3 && round % 2 === 1) guard(c.delete(key), `delete ${key}`);
    else if (i % 10 === 5) guard(c.set(key, valueFor(i, round), { expiresSec: 3600 }), `set ${key} with expiry`);
    else if (i % 10 === 7 && round > 0) guard(c.expire(key, 1800 + round), `expire ${key}`);
    else guard(c.set(key, valueFor(i, round)), `set ${key}`);
  }
  for (const [mi, m] of MAPS.entries()) {
    for (let e = 0; e < ENTRIES; e++) {
      if ((e + round) % 5 === 0) guard(c.map(m).delete(`e${e}`), `map delete ${m}.e${e}`);
      else guard(c.map(m).set(`e${e}`, valueFor(e + mi, round)), `map set ${m}.e${e}`);
    }
  }
  await Promise.all(ops);
  if (round === 2) await c.map('m4').clear().catch((e: unknown) => errors.push(`clear m4: ${String(e)}`));
}

/** What the logs in DIR hold right now, as "map|key" → canonical value (items expired by now left out). */
async function logContent(dir: string): Promise<Map<string, string>> {
  const { state } = await loadFiles(await listLogFiles(dir));
  const out = new Map<string, string>();
  for (const { item } of state.live(Date.now())) out.set(`${item.map}|${item.key}`, canonItem(item));
  return out;
}

/** The log records of one "map|key", for a failure message. */
async function recordsOf(dir: string, mapKey: string): Promise<string> {
  const out: string[] = [];
  await readFiles(await listLogFiles(dir), {
    onRecord: (r) => {
      const u = r.update ?? (r.snapshot.part === 'item' ? { ...r.snapshot.item, op: 'snap' } : undefined);
      if (u !== undefined && `${u.map}|${u.key}` === mapKey) out.push(`op${u.op}@${r.hash.toString(16)}/e${r.epoch}/s${r.seq}`);
    },
  });
  return out.join(' ') || 'none';
}

function diff(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`${k}: ${v} vs ${b.get(k) ?? 'missing'}`);
  for (const [k, v] of b) if (!a.has(k)) out.push(`${k}: missing vs ${v}`);
  return out;
}

describe('a logger following a three-node cluster', () => {
  let nodes: NodeProcess[];
  let lp: LoggerProc;
  let client: Cluster;
  const dir = makeTempDir('oc-logs-');

  before(async () => {
    nodes = await startCluster(3);
    lp = await startLogger([nodes[0]!.addr], dir);
    client = new Cluster({ seeds: [nodes[0]!.addr], requestTimeoutMs: 15_000 });
    await client.connect();
    await waitForGoalState(nodes.map((n) => n.addr));
  });

  after(async () => {
    await client?.close();
  });

  test('the logger subscribes to every node, never owns a bucket and never meets a client; status shows it apart', async () => {
    const name = String((await lp.waitForLog((l) => l['msg'] === 'logger started'))['name']);
    assert.match(name, /^logger@/);
    for (const n of nodes) await lp.waitForLog((l) => l['msg'] === 'subscribed to node updates' && l['node'] === n.addr);
    const table = client.bucketTable();
    assert.ok(!table.primaries.includes(name) && !table.backups.includes(name), 'no bucket names the logger');
    assert.ok(!client.nodes().includes(name), 'clients are never told about the logger');
    const stats = await waitFor('stats from all three nodes', async () => {
      const s = await client.stats();
      return s.length === 3 ? s : undefined;
    });
    for (const s of stats) assert.equal((s['connections'] as { loggers: number }).loggers, 1, `${String(s['addr'])} streams to one logger`);
    const status = await runCli(['status', '--cluster', nodes[0]!.addr, '--json']);
    assert.ok(status.code === 0 || status.code === 1 || status.code === 3, `a report, whatever its verdict: ${status.stderr}`);
    const report = JSON.parse(status.stdout) as { nodes: { addr: string }[]; loggers: { addr: string }[] };
    assert.deepEqual(report.loggers.map((l) => l.addr), [name]);
    assert.deepEqual(report.nodes.map((n) => n.addr).sort(), nodes.map((n) => n.addr).sort());
  });

  test('through a join and a graceful shutdown, compact + inject into a fresh cluster gives exactly the same data', async (t) => {
    const errors: string[] = [];
    // Short-lived items first: expired long before the comparison, in both clusters.
    for (let i = 0; i < 20; i++) await client.set(`short${i}`, i, { expiresSec: 1 });
    const shortSetAt = Date.now();
    await workloadRound(client, 0, errors);
    const joining = startNode({ nodes: [nodes[0]!.addr] });
    await workloadRound(client, 1, errors);
    const n4 = await joining;
    await workloadRound(client, 2, errors);
    const leaving = nodes[1]!;
    leaving.signal('SIGINT');
    await workloadRound(client, 3, errors);
    assert.equal(await leaving.exited, 0, 'the leaving node exits 0');
    await workloadRound(client, 4, errors);
    const remaining = [nodes[0]!.addr, nodes[2]!.addr, n4.addr];
    await waitForGoalState(remaining);
    await waitFor('the short-lived items to expire', () => (Date.now() > shortSetAt + 1500 ? true : undefined));

    const original = await contentOf(client);
    assert.ok(original.size > PLAIN_KEYS / 2, `the workload left data (${original.size} items; errors: ${errors.slice(0, 3).join('; ')})`);
    // The logger is asynchronous: wait (bounded) until its files hold what the cluster holds.
    await waitFor('the logs to catch up with the cluster', async () => (diff(original, await logContent(dir)).length === 0 ? true : undefined), 20_000, 250).catch(async () => {
      const d = diff(original, await logContent(dir));
      for (const line of d.slice(0, 3)) t.diagnostic(`mismatch ${line}; its log records: ${await recordsOf(dir, line.slice(0, line.indexOf(':')))}`);
      assert.deepEqual(d.slice(0, 10), [], 'logs hold the cluster data');
    });
    assert.equal(await stopLogger(lp), 0, 'the logger exits 0 after SIGINT');
    const stopped = lp.logs.find((l) => l['msg'] === 'logger stopped');
    assert.ok(stopped !== undefined, 'the logger reports its counters when it stops');
    t.diagnostic(`items ${original.size}, workload errors ${errors.length}, logger: ${JSON.stringify({ updates: stopped['updatesReceived'], written: stopped['written'], tracker: stopped['tracker'] })}`);
    for (const e of errors.slice(0, 3)) t.diagnostic(`workload error: ${e}`);
    for (const g of lp.logs.filter((l) => String(l['msg']).startsWith('GAP')).slice(0, 3)) t.diagnostic(`logger: ${JSON.stringify(g)}`);

    const files = await listLogFiles(dir);
    const out = join(makeTempDir('oc-compacted-'), 'cluster.oc');
    const compact = await runCli(['compact', ...files, '--out', out, '--json']);
    assert.equal(compact.code, 0, compact.stderr);
    const crep = JSON.parse(compact.stdout) as { items: number; torn: unknown[] };
    assert.equal(crep.items, original.size);
    assert.deepEqual(crep.torn, []);

    const fresh = await startNode();
    const injectStartMs = Date.now();
    const inject = await runCli(['inject', out, '--cluster', fresh.addr, '--json'], 60_000);
    const injectTookMs = Date.now() - injectStartMs;
    assert.equal(inject.code, 0, inject.stderr);
    const irep = JSON.parse(inject.stdout) as { loaded: number; errors: number };
    assert.equal(irep.errors, 0);
    assert.equal(irep.loaded, original.size);

    const c2 = new Cluster({ seeds: [fresh.addr], requestTimeoutMs: 10_000 });
    await c2.connect();
    try {
      assert.deepEqual(diff(await contentOf(client), await contentOf(c2)), [], 'same keys, types and values');
      const freshStats = await c2.stats();
      assert.equal(freshStats[0]!['items'], original.size, 'nothing else was injected');
      // Remaining expiry is kept: inject rounds what remains up to a whole second and the fresh node
      // counts it from when the request arrives, so the copy ends at most a second plus inject's own
      // run later; never much sooner.
      for (const i of [5, 15, 25, 105]) {
        const [a, b] = [await client.ttl(`k${i}`), await c2.ttl(`k${i}`)];
        assert.ok(a > 0 && b > 0 && b <= a + 1000 + injectTookMs && b >= a - 10_000, `k${i}: ttl ${a} ms in the original, ${b} ms after inject (inject took ${injectTookMs} ms)`);
      }
      assert.equal(await c2.ttl('k1'), -1, 'an item without expiry has none after inject');
    } finally {
      await c2.close();
    }
  });
});

test('kill -9 of the logger mid-load: compact reports the torn record and the rest is intact', async () => {
  const [n1, n2] = await startCluster(2);
  const dir = makeTempDir('oc-logs-');
  const lp = await startLogger([n1!.addr], dir);
  await lp.waitForLog((l) => l['msg'] === 'subscribed to node updates' && l['node'] === n2!.addr);
  const c = new Cluster({ seeds: [n1!.addr], fullWait: false });
  await c.connect();
  const written = new Map<string, number>();
  let stop = false;
  const writer = async (w: number): Promise<void> => {
    for (let n = 0; !stop && n < 1_000_000; n++) {
      const key = `w${w}-${n % 25}`;
      await c.set(key, `${key}#${n}`);
      written.set(key, n);
    }
  };
  const load = Promise.all([0, 1, 2, 3].map(writer));
  try {
    // Kill once the logger is well into the load (its files have grown), while writes continue.
    await waitFor('the logger to write under load', async () => {
      const files = await listLogFiles(dir);
      return files.length > 0 && statSync(files[files.length - 1]!).size > 64 * 1024 ? true : undefined;
    });
    lp.proc.kill('SIGKILL');
    assert.equal(await lp.exited, 'SIGKILL');
  } finally {
    stop = true;
    await load;
    await c.close();
  }
  const files = await listLogFiles(dir);
  // Whatever the kill left, cut the newest file inside its last record, as a crash mid-write does.
  const newest = files[files.length - 1]!;
  truncateSync(newest, statSync(newest).size - 3);
  const out = join(dir, 'after-crash.oc');
  const r = await runCli(['compact', ...files, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`${basename(newest)}: torn record at offset \\d+`));
  const rep = JSON.parse(r.stdout) as { torn: { file: string }[]; items: number };
  assert.deepEqual(rep.torn.map((t) => t.file), [newest]);
  // The rest is intact: every record before the tail reads, and every value is one the load wrote.
  const { state } = await loadFiles([out]);
  let checked = 0;
  for (const { item } of state.live(Date.now())) {
    const m = /^(w\d-\d+)#(\d+)$/.exec(item.value.t === 3 ? item.value.v.toString() : '');
    assert.ok(m !== null && m[1] === item.key, `${item.key} holds a value written for it`);
    assert.ok(Number(m[2]) <= written.get(item.key)!, `${item.key} holds a value the load wrote`);
    checked++;
  }
  assert.equal(checked, rep.items);
  assert.ok(checked > 0);
});

test('a logger restarted on its directory continues the series and reports the gap it has', async () => {
  const n1 = await startNode();
  const dir = makeTempDir('oc-logs-');
  const c = new Cluster({ seeds: [n1.addr] });
  await c.connect();
  try {
    // One map lives in one bucket: its updates have consecutive seqs.
    const g = c.map('g');
    let lp = await startLogger([n1.addr], dir);
    for (let i = 0; i < 10; i++) await g.set(`a${i}`, i);
    await waitFor('the logger to hold the first ten updates', async () => ((await logContent(dir)).size === 10 ? true : undefined));
    assert.equal(await stopLogger(lp), 0);
    for (let i = 0; i < 5; i++) await g.set(`while-down${i}`, i);
    lp = await startLogger([n1.addr], dir);
    await lp.waitForLog((l) => l['msg'] === 'subscribed to node updates');
    const restarted = await lp.waitForLog((l) => String(l['msg']).startsWith('logger restarted'));
    assert.equal(restarted['bucketsKnown'], 256, 'every bucket came as a snapshot in the first run');
    // The node snapshots every bucket for the restarted logger: the updates made while it was
    // down are closed by the snapshot of their bucket, and said.
    const gap = await lp.waitForLog((l) => String(l['msg']).startsWith('GAP since the logger last ran'));
    assert.equal(gap['missed'], 5);
    await g.set('after', 1);
    await waitFor('the logs to hold every update, those made while the logger was down too', async () => ((await logContent(dir)).size === 16 ? true : undefined));
    assert.equal(await stopLogger(lp), 0);
    const files = await listLogFiles(dir);
    assert.deepEqual(files.map((f) => basename(f)), ['oc-000001.log', 'oc-000002.log']);
    assert.ok(((await readFileHeader(files[1]!)).flags & FileFlag.runStart) !== 0);
    const seen: string[] = [];
    const s = await readFiles(files, { onRecord: (rec) => { if (rec.update !== undefined) seen.push(rec.update.key); } });
    assert.deepEqual(s.torn, []);
    assert.equal(seen.length, 11);
  } finally {
    await c.close();
  }
});
