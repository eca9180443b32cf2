// TLS with real node processes: a TLS cluster serves TLS clients and its bytes are not plain; plain
// and TLS peers on the wrong port fail fast and are logged; node links are mutual (another CA's or
// an expired certificate cannot join); --tls-client-auth require; SIGHUP reloads certificates
// without dropping connections; a logging node over TLS; the CLI's TLS flags.
import { test, after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Cluster, ClusterError, type ClusterOptions } from '../../src/index.js';
import { loadFiles } from '../../src/logger/compact.js';
import { listLogFiles } from '../../src/logger/log-reader.js';
import { CLI_PATH, cleanup, killNode, makeTempDir, runCli, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';
import { startCluster } from '../helpers/cluster.js';
import { makePki, tlsArgs, type CertPair, type TestPki } from '../helpers/certs.js';
import { C, R, RawClient, frame, setStringPayload } from '../helpers/raw.js';

let pki: TestPki;
let nodes: NodeProcess[] = [];
let plain: NodeProcess;
const clients: Cluster[] = [];
const children = new Set<ChildProcess>();

before(async () => {
  pki = makePki();
  nodes = await startCluster(3, { args: tlsArgs(pki) });
  plain = await startNode();
});

after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  for (const c of children) c.kill('SIGKILL');
  await cleanup();
});

function client(seed: string, extra: Partial<ClusterOptions> = {}): Cluster {
  const c = new Cluster({ seeds: [seed], requestTimeoutMs: 5000, connectTimeoutMs: 3000, ...extra });
  clients.push(c);
  return c;
}

const caOnly = (): ClusterOptions['tls'] => ({ ca: readFileSync(pki.ca.cert) });

async function connectError(c: Cluster): Promise<ClusterError> {
  const e = await c.connect().then(
    () => null,
    (err: unknown) => err,
  );
  assert.ok(e instanceof ClusterError, `connect() rejects with a ClusterError, got ${String(e)}`);
  return e;
}

/** A TCP relay in front of a node that keeps every byte the client sent. */
function recordingRelay(target: string): Promise<{ server: Server; addr: string; seen: Buffer[] }> {
  const seen: Buffer[] = [];
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const server = createServer((inbound) => {
    const outbound = netConnect({ host, port });
    inbound.on('data', (d: Buffer) => seen.push(Buffer.from(d)));
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, addr: `127.0.0.1:${(server.address() as { port: number }).port}`, seen })));
}

/** A raw TLS connection (for the peer's certificate and hand-made frames). */
function rawTls(addr: string, pair?: CertPair): Promise<TLSSocket> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host, port, ca: readFileSync(pki.ca.cert), ...(pair ? { cert: readFileSync(pair.cert), key: readFileSync(pair.key) } : {}) });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('a three-node TLS cluster', () => {
  test('forms, serves a client that uses tls: { ca }, and carries no plain bytes', async () => {
    const c = client(nodes[0]!.addr, { tls: caOnly() });
    await c.connect();
    await c.set('tls-key', 'tls-value');
    assert.equal(await c.getString('tls-key'), 'tls-value');
    await waitFor('the client to reach all three nodes', async () => ((await c.stats()).length === 3 ? true : undefined));
    for (const n of nodes.slice(1)) await n.waitForLog((l) => l['msg'] === 'ready');

    // The same request through a relay that records the client's bytes: the value never shows.
    const relay = await recordingRelay(nodes[0]!.addr);
    try {
      const s = await rawTls(relay.addr);
      const secret = 'a-value-nobody-may-read-on-the-wire';
      const reply = new Promise<Buffer>((resolve) => s.once('data', (d: Buffer) => resolve(d)));
      s.write(frame(C.setString, 0, 7, setStringPayload(0, 'wire-key', Buffer.from(secret))));
      const first = await reply;
      assert.ok(([R.ack, R.tryelsewhere] as number[]).includes(first.readUInt16BE(0)), `the node answers over TLS (reply ${first.readUInt16BE(0)})`);
      s.destroy();
      const wire = Buffer.concat(relay.seen);
      assert.ok(wire.length > 0 && !wire.includes(Buffer.from(secret)) && !wire.includes(Buffer.from('wire-key')), 'neither key nor value travel in the clear');
    } finally {
      relay.server.close();
    }
  });

  test('a plain TCP client fails fast with a TLS hint; the node logs the failed handshake with the address', async () => {
    const c = client(nodes[1]!.addr);
    const e = await connectError(c);
    assert.equal(e.code, 'NOT_CONNECTED');
    assert.match(e.message, /TLS/);
    assert.doesNotMatch(e.message, /within \d+ ms/, 'not a timeout: the node broke off at once');
    const raw = await RawClient.connect(nodes[1]!.addr);
    const local = `${raw.socket.localAddress}:${raw.socket.localPort}`;
    raw.sendFrame(C.ping, 0, raw.id());
    assert.ok(await raw.waitClosed(), 'the node closes a plain connection');
    assert.equal(raw.queued.length, 0, 'and answers nothing in the clear');
    const line = await nodes[1]!.waitForLog((l) => l['msg'] === 'TLS handshake failed (a plain TCP client on a TLS port?)' && l['client'] === local);
    assert.equal(line['level'], 40, 'logged as a warning');
  });

  test('a TLS client to a plain node fails fast; the plain node logs it', async () => {
    const c = client(plain.addr, { tls: caOnly() });
    const e = await connectError(c);
    assert.equal(e.code, 'NOT_CONNECTED');
    assert.match(e.message, /TLS/);
    assert.doesNotMatch(e.message, /within \d+ ms/);
    await plain.waitForLog((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('a TLS client connected to a plain port') && typeof l['client'] === 'string');
  });

  for (const kind of ['another CA', 'an expired certificate'] as const) {
    test(`a node with ${kind} cannot join; both logs say why`, async () => {
      const pair = kind === 'another CA' ? pki.otherNode : pki.expired;
      const seed = nodes[0]!;
      const n = await startNode({ nodes: [seed.addr], args: tlsArgs(pki, pair) });
      try {
        const mine = await n.waitForLog((l) => l['msg'] === 'cannot link to a node: the node handshake failed');
        assert.match(String(mine['err']), /notAllowed: node links need a TLS certificate signed by the cluster CA/);
        const theirs = await seed.waitForLog((l) => l['msg'] === 'node link refused: the peer has no certificate signed by the cluster CA' && l['claimed'] === n.addr);
        assert.match(String(theirs['why']), kind === 'another CA' ? /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER/ : /CERT_HAS_EXPIRED/);
        assert.equal(n.logs.some((l) => l['msg'] === 'ready'), false, 'it never joins');
      } finally {
        await killNode(n);
      }
    });
  }

  test('a logging node over TLS receives the updates', async () => {
    const dir = makeTempDir('oc-tls-logs-');
    const proc = spawn(process.execPath, [CLI_PATH, 'logger', '--dir', dir, '--node', nodes[0]!.addr, ...tlsArgs(pki)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(proc);
    const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig ?? '?')));
    const lines: Record<string, unknown>[] = [];
    createInterface({ input: proc.stdout! }).on('line', (t) => lines.push(JSON.parse(t) as Record<string, unknown>));
    await waitFor('the logger to subscribe to all three nodes', () => (lines.filter((l) => l['msg'] === 'subscribed to node updates').length >= 3 ? true : undefined));
    const c = client(nodes[0]!.addr, { tls: caOnly() });
    await c.connect();
    for (let i = 0; i < 20; i++) await c.set(`logged-${i}`, `v${i}`);
    proc.kill('SIGINT');
    assert.equal(await exited, 0);
    children.delete(proc);
    const { state } = await loadFiles(await listLogFiles(dir));
    const keys = new Set([...state.all()].map(({ item }) => item.key));
    for (let i = 0; i < 20; i++) assert.ok(keys.has(`logged-${i}`), `logged-${i} is in the log`);
  });

  test('CLI: set and get with --tls-ca', async () => {
    const set = await runCli(['set', 'cli-tls', 'hello', '--cluster', nodes[2]!.addr, '--tls-ca', pki.ca.cert]);
    assert.equal(set.code, 0, set.stderr);
    const get = await runCli(['get', 'cli-tls', '--cluster', nodes[2]!.addr, '--tls-ca', pki.ca.cert]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout.trim(), 'hello');
    const plainGet = await runCli(['get', 'cli-tls', '--cluster', nodes[2]!.addr]);
    assert.equal(plainGet.code, 2);
    assert.match(plainGet.stderr, /TLS/);
  });
});

describe('--tls-client-auth require, and SIGHUP', () => {
  let node: NodeProcess;
  let own: CertPair;

  before(async () => {
    const dir = makeTempDir('oc-tls-own-');
    const issued = pki.issue('reload-1', 0x1101);
    own = { cert: join(dir, 'node.crt'), key: join(dir, 'node.key') };
    copyFileSync(issued.cert, own.cert);
    copyFileSync(issued.key, own.key);
    chmodSync(own.key, 0o600);
    node = await startNode({ args: [...tlsArgs(pki, own), '--tls-client-auth', 'require'] });
  });

  test('a client without a certificate is refused; one signed by the CA works', async () => {
    const e = await connectError(client(node.addr, { tls: caOnly() }));
    assert.equal(e.code, 'NOT_CONNECTED');
    assert.match(e.message, /client certificate/);
    await node.waitForLog((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('connection closed: client certificates are required'));
    const ok = client(node.addr, { tls: { ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) } });
    await ok.connect();
    await ok.set('auth', 'yes');
    assert.equal(await ok.getString('auth'), 'yes');
  });

  test('SIGHUP: new connections get the new certificate, an open client keeps working; bad files keep the old ones', async () => {
    const tls = { ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) };
    const before = client(node.addr, { tls });
    await before.connect();
    await before.set('before-reload', 1);
    const s1 = await rawTls(node.addr, pki.client);
    assert.equal(s1.getPeerCertificate().serialNumber, '1101');
    s1.destroy();

    const next = pki.issue('reload-2', 0x1102);
    writeFileSync(own.cert, readFileSync(next.cert));
    writeFileSync(own.key, readFileSync(next.key));
    const seen = node.logs.length;
    node.signal('SIGHUP');
    await node.waitForLog((l) => l['msg'] === 'TLS certificates reloaded' && node.logs.indexOf(l) >= seen);
    const s2 = await rawTls(node.addr, pki.client);
    assert.equal(s2.getPeerCertificate().serialNumber, '1102');
    s2.destroy();
    await before.set('after-reload', 2);
    assert.equal(await before.getInt('before-reload'), 1);
    assert.equal(await before.getInt('after-reload'), 2);

    // A broken key: the reload fails, the node keeps serving with the certificate it has.
    writeFileSync(own.key, 'not a key');
    const seen2 = node.logs.length;
    node.signal('SIGHUP');
    await node.waitForLog((l) => l['msg'] === 'TLS certificates not reloaded: the old ones stay in use' && node.logs.indexOf(l) >= seen2);
    const s3 = await rawTls(node.addr, pki.client);
    assert.equal(s3.getPeerCertificate().serialNumber, '1102');
    s3.destroy();
    assert.equal(await before.getInt('after-reload'), 2);
  });
});

describe('serve: TLS usage errors exit 2 with one line', () => {
  const serve = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => runCli(['serve', '--listen', '127.0.0.1:0', '--data-dir', makeTempDir('oc-data-'), ...args]);

  test('one of the three flags missing', async () => {
    const r = await serve(['--tls-cert', pki.node.cert, '--tls-key', pki.node.key]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--tls-cert, --tls-key and --tls-ca go together/);
  });

  test('a key file others may read', async () => {
    const key = join(makeTempDir('oc-tls-key-'), 'open.key');
    copyFileSync(pki.node.key, key);
    chmodSync(key, 0o644);
    const r = await serve(['--tls-cert', pki.node.cert, '--tls-key', key, '--tls-ca', pki.ca.cert]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /may be read by others \(mode 0644\)/);
  });

  test('--tls-client-auth require without TLS', async () => {
    const r = await serve(['--tls-client-auth', 'require']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /needs TLS/);
  });
});
