// Functional tests of the client's lifecycle against real `serve` processes: close(), process exit,
// a dead seed (NOT_CONNECTED), and deadlines against a node paused with SIGSTOP.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, IndeterminateError, TimeoutError } from '../../src/index.js';
import { cleanup, killNode, startNode, unusedPort } from '../helpers/nodes.js';
import { rejectsWith } from '../helpers/assertions.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/src/index.js, relative to dist/test/functional. */
const INDEX_PATH = join(here, '..', '..', 'src', 'index.js');

after(cleanup);


test('a dead seed: connect() and requests reject with NOT_CONNECTED', async () => {
  const port = await unusedPort();
  const c = new Cluster({ seeds: [`127.0.0.1:${port}`], connectTimeoutMs: 2000 });
  await rejectsWith(c.get('x'), 'NOT_CONNECTED');
  const e = await rejectsWith(c.connect(), 'NOT_CONNECTED');
  assert.match(e.message, new RegExp(String(port)));
  await rejectsWith(c.get('x'), 'NOT_CONNECTED');
  await rejectsWith(c.set('x', 1), 'NOT_CONNECTED');
  assert.deepEqual(c.nodes(), []);
  await c.close();
});

test('seeds are tried in order: a dead first seed, a live second one', async () => {
  const node = await startNode();
  const port = await unusedPort();
  const c = new Cluster({ seeds: [`127.0.0.1:${port}`, node.addr] });
  try {
    await c.connect();
    assert.deepEqual(c.nodes(), [node.addr]);
    await c.set('k', 'v');
    assert.equal(await c.get('k'), 'v');
  } finally {
    await c.close();
    await killNode(node);
  }
});

test('close() is idempotent, and afterwards every call rejects with CLOSED', async () => {
  const node = await startNode();
  const c = new Cluster({ seeds: [node.addr] });
  await c.connect();
  await c.set('k', 1);
  const inflight = c.getInt('k');
  const p1 = c.close();
  const p2 = c.close();
  assert.equal(p1, p2, 'the same promise');
  await p1;
  assert.equal(await inflight, 1, 'a reply that arrives before the goodbye ack still resolves');
  await c.close();
  await rejectsWith(c.get('k'), 'CLOSED');
  await rejectsWith(c.set('k', 2), 'CLOSED');
  await rejectsWith(c.connect(), 'CLOSED');
  await killNode(node);
});

test('a process that closes its client exits on its own', async () => {
  const node = await startNode();
  const script = `
    import { Cluster } from ${JSON.stringify(INDEX_PATH)};
    const c = new Cluster({ seeds: [process.env.SEED] });
    await c.connect();
    await c.set('exit-test', 'bye');
    const v = await c.get('exit-test');
    const m = c.map('m');
    await m.set('a', 1);
    await c.close();
    console.log(String(v));
  `;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, SEED: node.addr },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exitBoundMs = 15_000;
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve('did not exit');
    }, exitBoundMs);
    proc.on('exit', (c, sig) => {
      clearTimeout(timer);
      resolve(c ?? sig ?? 'unknown');
    });
  });
  assert.equal(code, 0, `child exit: ${code}; stderr: ${err}`);
  assert.equal(out.trim(), 'bye');
  await killNode(node);
});

test('against a node paused with SIGSTOP: reads time out, sent writes are indeterminate, close() is bounded', async () => {
  const node = await startNode();
  const c = new Cluster({ seeds: [node.addr], requestTimeoutMs: 500, closeTimeoutMs: 300 });
  try {
    await c.connect();
    await c.set('paused', 'v');
    node.signal('SIGSTOP');
    const read = await rejectsWith(c.get('paused'), 'TIMEOUT');
    assert.ok(read instanceof TimeoutError);
    const write = await rejectsWith(c.set('paused', 'w'), 'INDETERMINATE');
    assert.ok(write instanceof IndeterminateError);
    // A new client cannot finish its handshake with the paused node: bounded by connectTimeoutMs.
    const c2 = new Cluster({ seeds: [node.addr], connectTimeoutMs: 300 });
    await rejectsWith(c2.connect(), 'NOT_CONNECTED');
    await c2.close();
  } finally {
    node.signal('SIGCONT');
    await c.close();
    await killNode(node);
  }
});

test('requests pending at close() reject with CLOSED', async () => {
  const node = await startNode();
  const c = new Cluster({ seeds: [node.addr], requestTimeoutMs: 60_000, closeTimeoutMs: 200 });
  try {
    await c.connect();
    node.signal('SIGSTOP');
    const pending = [c.get('a'), c.set('b', 1), c.map('m').count()];
    await c.close();
    for (const p of pending) await rejectsWith(p, 'CLOSED');
  } finally {
    node.signal('SIGCONT');
    await killNode(node);
  }
});
