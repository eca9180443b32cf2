// A cluster as the README's "Running on a network" sets it up: three nodes on three hosts of a
// network of our own (namespaces, no loopback between them), TLS, a cluster secret and users, one
// node listening on every interface with --advertise, and clients on a fourth host.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, makeTempDir, runCli, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';
import { TestNet } from '../helpers/netns.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { makeUsersFile } from '../helpers/users.js';

const PORT = 13600;
const TEST_TIMEOUT_MS = 120_000;
const net = TestNet.create(['a', 'b', 'c', 'cl']);
const unavailable = typeof net === 'string' ? net : false;

after(async () => {
  await cleanup();
  if (typeof net !== 'string') net.destroy();
});

/** The CLI on a host of the test network, with a password in the environment; bounded. */
function cliOn(host: string, args: string[], password?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args, 20_000, undefined, password === undefined ? {} : { OPENCLUSTER_PASSWORD: password }, (net as TestNet).ns(host));
}

test('three nodes on three hosts with TLS, a secret and users; clients on a fourth host', { skip: unavailable, timeout: TEST_TIMEOUT_MS }, async () => {
  const n = net as TestNet;
  const pki: TestPki = makePki();
  const dir = makeTempDir('oc-secure-');
  const secret = join(dir, 'cluster.secret');
  writeFileSync(secret, 'a cluster secret shared by the three hosts\n', { mode: 0o600 });
  const users = await makeUsersFile(dir, [
    { name: 'ops', role: 'admin', password: 'ops password' },
    { name: 'app', role: 'write', password: 'app password' },
    { name: 'report', role: 'read', password: 'report password' },
  ]);
  const addr = (h: string): string => `${n.ip(h)}:${PORT}`;
  const nodeArgs = (h: string, i: number): string[] => {
    const pair = pki.issue(`node-${h}`, 0x5000 + i, [n.ip(h)]);
    return ['--tls-cert', pair.cert, '--tls-key', pair.key, '--tls-ca', pki.ca.cert, '--cluster-secret-file', secret, '--users-file', users];
  };
  // Host a listens on every interface and advertises its address; b and c bind theirs.
  const a = await startNode({ netns: n.ns('a'), listen: `0.0.0.0:${PORT}`, args: [...nodeArgs('a', 1), '--advertise', addr('a')] });
  assert.equal(a.addr, addr('a'), 'a is known by the address it advertises');
  const b = await startNode({ netns: n.ns('b'), listen: addr('b'), nodes: [addr('a')], args: nodeArgs('b', 2) });
  const c = await startNode({ netns: n.ns('c'), listen: addr('c'), nodes: [addr('a')], args: nodeArgs('c', 3) });
  const nodes: NodeProcess[] = [a, b, c];
  await Promise.all([b, c].map((x) => x.waitForLog((l) => l['msg'] === 'ready')));

  const tls = ['--tls-ca', pki.ca.cert];
  const status = await waitFor('a balanced cluster of the three hosts', async () => {
    const r = await cliOn('cl', ['status', '--json', '--cluster', addr('b'), ...tls, '--user', 'ops'], 'ops password');
    if (r.code !== 0) return undefined;
    const doc = JSON.parse(r.stdout) as { verdict: string; nodes: { addr: string }[] };
    return doc.verdict === 'balanced' ? doc : undefined;
  }, 60_000, 500);
  assert.deepEqual(status.nodes.map((x) => x.addr).sort(), [addr('a'), addr('b'), addr('c')], 'status names the advertised addresses');

  const set = await cliOn('cl', ['set', 'greeting', 'hello over tls', '--cluster', addr('c'), ...tls, '--user', 'app'], 'app password');
  assert.equal(set.code, 0, set.stderr);
  const get = await cliOn('cl', ['get', 'greeting', '--cluster', addr('a'), ...tls, '--user', 'report'], 'report password');
  assert.equal(get.stdout, 'hello over tls\n');

  const readerWrites = await cliOn('cl', ['set', 'greeting', 'no', '--cluster', addr('a'), ...tls, '--user', 'report'], 'report password');
  assert.equal(readerWrites.code, 2);
  assert.match(readerWrites.stderr, /NOT_ALLOWED/);
  const wrongPassword = await cliOn('cl', ['get', 'greeting', '--cluster', addr('a'), ...tls, '--user', 'app'], 'not the password');
  assert.equal(wrongPassword.code, 2);
  assert.match(wrongPassword.stderr, /AUTH_FAILED/);
  const plain = await cliOn('cl', ['get', 'greeting', '--cluster', addr('a'), '--user', 'app'], 'app password');
  assert.equal(plain.code, 2);
  assert.match(plain.stderr, /TLS/);
  const unknownCa = await cliOn('cl', ['get', 'greeting', '--cluster', addr('a'), '--tls-ca', pki.otherCa.cert, '--user', 'app'], 'app password');
  assert.equal(unknownCa.code, 2, 'a CA that did not sign the nodes is refused');
  for (const x of nodes) assert.equal(x.proc.exitCode, null, `${x.addr} still runs`);
});
