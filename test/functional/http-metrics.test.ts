// The HTTP side door of real nodes (serve --http): /metrics parsed by a strict parser and moving
// with load, the health endpoints through a kill -9 of a peer and a graceful leave, and the admin
// login a users file asks for.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { Cluster } from '../../src/index.js';
import { cleanup, killNode, makeTempDir, runCli, startNode, waitFor } from '../helpers/nodes.js';
import { waitForGoalState } from '../helpers/cluster.js';
import { parsePromText, sampleSum, sampleValue } from '../helpers/prom-text.js';
import { basicAuth, httpGet, httpPortOf } from '../helpers/http.js';
import { makeUsersFile } from '../helpers/users.js';

after(cleanup);

const FAST = ['--heartbeat-ms', '100', '--dead-after-ms', '1000'];

async function metrics(port: number, headers: Record<string, string> = {}): Promise<ReturnType<typeof parsePromText>> {
  const r = await httpGet(port, '/metrics', headers);
  assert.equal(r.status, 200, r.body);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parsePromText(r.body);
}

async function health(port: number, path: string): Promise<{ status: number; doc: Record<string, unknown> }> {
  const r = await httpGet(port, path);
  return { status: r.status, doc: JSON.parse(r.body) as Record<string, unknown> };
}

test('/metrics parses as Prometheus text and its counters move with load', async () => {
  const a = await startNode({ args: ['--http', '0', ...FAST] });
  const port = await httpPortOf(a);
  const b = await startNode({ nodes: [a.addr], args: FAST });
  await b.waitForLog((l) => l['msg'] === 'ready');
  await waitForGoalState([a.addr, b.addr]);

  const before = await metrics(port);
  for (const family of ['opencluster_requests_total', 'opencluster_request_duration_seconds', 'opencluster_items', 'opencluster_buckets', 'opencluster_connections',
    'opencluster_buckets_moved_total', 'opencluster_failovers_total', 'opencluster_redirects_total', 'opencluster_replication_backlog', 'opencluster_logger_backlog',
    'opencluster_lease_held', 'opencluster_quorum', 'opencluster_members', 'process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes']) {
    assert.ok(before.has(family), `family ${family} is exposed`);
  }
  assert.equal(before.get('opencluster_request_duration_seconds')!.type, 'histogram');
  assert.equal(before.get('opencluster_requests_total')!.type, 'counter');
  assert.equal(sampleValue(before, 'opencluster_lease_held'), 1);
  assert.equal(sampleValue(before, 'opencluster_buckets', { role: 'primary' }) + sampleValue(before, 'opencluster_buckets', { role: 'backup' }), 256);
  const setsBefore = sampleSum(before, 'opencluster_requests_total', { command: 'set' });

  const KEYS = 400;
  const c = new Cluster({ seeds: [a.addr], requestTimeoutMs: 10_000 });
  try {
    await c.connect();
    for (let i = 0; i < KEYS; i++) await c.set(`k${i}`, `v${i}`);
    for (let i = 0; i < KEYS; i++) assert.equal(await c.get(`k${i}`), `v${i}`);
    assert.equal(await c.get('no-such-key'), null);
  } finally {
    await c.close();
  }

  const afterLoad = await metrics(port);
  const sets = sampleSum(afterLoad, 'opencluster_requests_total', { command: 'set' }) - setsBefore;
  const gets = sampleSum(afterLoad, 'opencluster_requests_total', { command: 'get' });
  // The client sends each key to its primary: this node serves its share of both, all answered.
  assert.ok(sets > 0 && sets < KEYS, `this node answered some of the sets (${sets})`);
  assert.ok(gets > 0, `this node answered some of the gets (${gets})`);
  assert.equal(sampleValue(afterLoad, 'opencluster_request_duration_seconds_count', { command: 'set' }), sampleSum(afterLoad, 'opencluster_requests_total', { command: 'set' }), 'one latency observation per set');
  assert.ok(sampleValue(afterLoad, 'opencluster_request_duration_seconds_sum', { command: 'get' }) > 0);
  // Two nodes: every bucket is here, as primary or as backup, so every key is here once.
  assert.equal(sampleValue(afterLoad, 'opencluster_items', { role: 'primary' }) + sampleValue(afterLoad, 'opencluster_items', { role: 'backup' }), KEYS);
  assert.ok(sampleValue(afterLoad, 'opencluster_items', { role: 'primary' }) > 0);
  assert.ok(sampleValue(afterLoad, 'opencluster_data_bytes') > 0);
});

test('health: ready and cluster-safe through a kill -9 of a peer, then a graceful leave', async () => {
  const a = await startNode({ args: ['--http', '127.0.0.1:0', ...FAST] });
  const port = await httpPortOf(a);
  assert.equal((await health(port, '/health/live')).status, 200);
  const b = await startNode({ nodes: [a.addr], args: ['--http', '0', ...FAST] });
  const c = await startNode({ nodes: [a.addr], args: FAST });
  await b.waitForLog((l) => l['msg'] === 'ready');
  await c.waitForLog((l) => l['msg'] === 'ready');
  await waitForGoalState([a.addr, b.addr, c.addr]);
  await waitFor('cluster-safe 200 in the goal state', async () => ((await health(port, '/health/cluster-safe')).status === 200 ? true : undefined));
  const ready = await health(port, '/health/ready');
  assert.equal(ready.status, 200);
  assert.equal(ready.doc['status'], 'ok');

  // Some data, so the hand-over at the graceful leave below takes a while.
  const client = new Cluster({ seeds: [a.addr], requestTimeoutMs: 10_000 });
  await client.connect();
  await Promise.all(Array.from({ length: 20 }, async (_, w) => {
    for (let i = w; i < 4000; i += 20) await client.set(`k${i}`, 'x'.repeat(200));
  }));
  await client.close();

  await killNode(c);
  const unsafe = await waitFor('cluster-safe 503 after the kill', async () => {
    const h = await health(port, '/health/cluster-safe');
    return h.status === 503 ? h : undefined;
  }, 10_000, 50);
  assert.equal(unsafe.doc['status'], 'unavailable');
  assert.equal(typeof unsafe.doc['reason'], 'string');
  // Two of three still hear each other: the dead node's buckets get new owners and backups.
  await waitFor('ready again without the dead node', async () => ((await health(port, '/health/ready')).status === 200 ? true : undefined), 15_000);
  await waitForGoalState([a.addr, b.addr]);
  await waitFor('cluster-safe 200 with two nodes', async () => ((await health(port, '/health/cluster-safe')).status === 200 ? true : undefined), 15_000);
  const m = await metrics(port);
  const mb = await metrics(await httpPortOf(b));
  assert.ok(sampleValue(m, 'opencluster_failovers_total') + sampleValue(mb, 'opencluster_failovers_total') > 0, 'the survivors took over the dead node\'s buckets');
  assert.equal(sampleValue(m, 'opencluster_members', { state: 'dead' }), 1, 'the killed node is counted dead');

  // Graceful leave of the node itself: from the signal on it no longer serves, while it still answers live.
  a.signal('SIGINT');
  await a.waitForLog((l) => l['msg'] === 'signal received');
  const leaving = await health(port, '/health/ready');
  assert.equal(leaving.status, 503);
  assert.equal(leaving.doc['reason'], 'leaving');
  assert.equal((await health(port, '/health/cluster-safe')).status, 503);
  assert.equal(await a.exited, 0);
});

test('with a users file, the side door asks for an admin; --http-open-metrics opens metrics and health only', async () => {
  const dir = makeTempDir();
  const usersFile = await makeUsersFile(dir, [
    { name: 'boss', role: 'admin', password: 'boss-secret' },
    { name: 'reader', role: 'read', password: 'reader-secret' },
  ]);
  const closed = await startNode({ args: ['--http', '0', '--users-file', usersFile] });
  const port = await httpPortOf(closed);
  for (const path of ['/', '/metrics', '/health/ready', '/events', '/state']) {
    const r = await httpGet(port, path);
    assert.equal(r.status, 401, `${path} without a login`);
    assert.match(String(r.headers['www-authenticate']), /^Basic realm="opencluster"/);
  }
  assert.equal((await httpGet(port, '/metrics', basicAuth('boss', 'wrong'))).status, 401, 'a wrong password');
  assert.equal((await httpGet(port, '/metrics', basicAuth('nobody', 'boss-secret'))).status, 401, 'an unknown user');
  assert.equal((await httpGet(port, '/metrics', basicAuth('reader', 'reader-secret'))).status, 403, 'a user without the admin role');
  assert.equal((await httpGet(port, '/metrics', { authorization: 'Basic !!!' })).status, 401, 'a malformed header');
  await metrics(port, basicAuth('boss', 'boss-secret'));
  const page = await httpGet(port, '/', basicAuth('boss', 'boss-secret'));
  assert.equal(page.status, 200);
  assert.match(page.body, /<title>OpenCluster<\/title>/);

  const open = await startNode({ args: ['--http', '0', '--users-file', usersFile, '--http-open-metrics'] });
  const openPort = await httpPortOf(open);
  await metrics(openPort);
  assert.equal((await health(openPort, '/health/ready')).status, 200);
  assert.equal((await httpGet(openPort, '/')).status, 401, 'the dashboard still asks');
  assert.equal((await httpGet(openPort, '/state')).status, 401);
});

test('--http refuses what it cannot serve safely, with a usage error', async () => {
  const dir = makeTempDir();
  const wide = await runCli(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--http', '0.0.0.0:0']);
  assert.equal(wide.code, 2);
  assert.match(wide.stderr, /refusing to serve HTTP on 0\.0\.0\.0:0 without --users-file/);
  const bad = await runCli(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--http', 'nope:port']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--http: .*bad port/);
  const lonely = await runCli(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--http-open-metrics']);
  assert.equal(lonely.code, 2);
  assert.match(lonely.stderr, /--http-open-metrics needs --http/);
  // A port that is taken: the node does not start (nothing half-started is left running).
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as AddressInfo).port;
  try {
    const busy = await runCli(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--http', String(port)]);
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, new RegExp(`--http 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  } finally {
    taken.close();
  }
});

test('the side door answers bad requests without harm to the node', async () => {
  const n = await startNode({ args: ['--http', '0'] });
  const port = await httpPortOf(n);
  assert.equal((await httpGet(port, '/nothing-here')).status, 404);
  assert.equal((await httpGet(port, '/metrics?x=' + 'y'.repeat(4000))).status, 200);
  const state = JSON.parse((await httpGet(port, '/state')).body) as { nodes: { addr: string; state: string }[]; primaries: number[] };
  assert.deepEqual(state.nodes.map((r) => [r.addr, r.state]), [[n.addr, 'alive']]);
  assert.equal(state.primaries.length, 256);
  assert.equal((await health(port, '/health/live')).status, 200);
});
