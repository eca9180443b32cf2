// The attacks of issue 9, each from a plain TCP connection that never proved anything, against
// nodes started with their defaults: none of them may change membership, the bucket table or data.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingKeys, writeKeys } from '../helpers/keys.js';
import { cleanup, killNode, makeTempDir, runCli, startNode, type NodeProcess } from '../helpers/nodes.js';
import { startCluster, viewOf, waitForGoalState } from '../helpers/cluster.js';
import { failCode, int, long, R, RawClient, str } from '../helpers/raw.js';
import { rawNodeHandshake } from '../helpers/node-auth-raw.js';

const NOT_ALLOWED = 17;
const AUTH_FAILED = 16;
const TEST_TIMEOUT_MS = 60_000;

after(cleanup);

/** The node's incarnation, from stats (32) as anyone can ask it. */
async function incarnationOf(c: RawClient): Promise<bigint> {
  const f = await c.request(32);
  assert.equal(f.command, 12, 'stats answers json (12)');
  const doc = JSON.parse(f.payload.subarray(4).toString('utf8')) as { incarnation: string };
  return BigInt(doc.incarnation);
}

function probePayload(target: string, targetIncarnation: bigint): Buffer {
  // A made-up prober that claims a side of 100 nodes: on the old code, the node rejoined (dropping everything).
  return Buffer.concat([str('127.0.0.1:1'), long(1n), str(target), long(targetIncarnation), int(100)]);
}

test('a probe from an unproven connection wipes nothing: one node, then each of three', { timeout: TEST_TIMEOUT_MS }, async () => {
  const single = await startNode();
  await writeKeys([single.addr], 'p1', 1000);
  const c = await RawClient.connect(single.addr);
  const f = await c.request(54, probePayload(single.addr, await incarnationOf(c)));
  assert.equal(f.command, R.failinfo, `probe answered ${f.command}`);
  assert.equal(failCode(f), NOT_ALLOWED);
  c.destroy();
  assert.equal(await missingKeys([single.addr], 'p1', 1000), 0, 'every key of the single node is still there');
  assert.equal(single.logs.filter((l) => String(l['msg']).startsWith('rejoining')).length, 0, 'the node did not rejoin');
  await killNode(single);

  const nodes = await startCluster(3);
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  await writeKeys(addrs, 'p3', 3000);
  for (const n of nodes) {
    const r = await RawClient.connect(n.addr);
    const reply = await r.request(54, probePayload(n.addr, await incarnationOf(r)));
    assert.equal(failCode(reply), NOT_ALLOWED, `probe to ${n.addr} refused`);
    r.destroy();
  }
  assert.equal(await missingKeys(addrs, 'p3', 3000), 0, 'all 3,000 keys are still there');
  await waitForGoalState(addrs);
  for (const n of nodes) assert.equal(n.logs.filter((l) => String(l['msg']).startsWith('rejoining')).length, 0, `${n.addr} did not rejoin`);
  await Promise.all(nodes.map((n) => killNode(n)));
});

test('a fake logging node, a fake data member and a forged table are refused; nothing leaks or moves', { timeout: TEST_TIMEOUT_MS }, async () => {
  const node = await startNode();
  await writeKeys([node.addr], 'f', 2000);
  const tableBefore = (await (await RawClient.connect(node.addr)).request(40)).payload;

  // The fake logging node: server_hello with the logging role, then subscribe_updates.
  const spy = await RawClient.connect(node.addr);
  const hello = await spy.request(50, Buffer.concat([str('logger@evil:1'), long(7n), int(1)]));
  assert.equal(failCode(hello), NOT_ALLOWED, 'server_hello as a logger refused');
  assert.equal(failCode(await spy.request(540)), NOT_ALLOWED, 'subscribe_updates refused');
  await writeKeys([node.addr], 'leak', 200);
  assert.equal((await spy.request(30)).command, R.ack, 'the spy connection still answers ping: every update had its chance to arrive');
  assert.equal(spy.commandsSeen.filter((x) => x.command === 541).length, 0, 'no log_batch reached the spy');
  spy.destroy();

  // The fake data member: server_hello with the data role, then it would ack whatever comes.
  const member = await RawClient.connect(node.addr);
  assert.equal(failCode(await member.request(50, Buffer.concat([str('127.0.0.1:2'), long(9n), int(0)]))), NOT_ALLOWED, 'server_hello as a data node refused');
  // The forged table: every bucket at a huge epoch, owned by a made-up member.
  const entries = Buffer.concat(Array.from({ length: 256 }, (_, b) => Buffer.concat([int(b), int(1_000_000), str('127.0.0.1:2'), str('')])));
  assert.equal(failCode(await member.request(60, Buffer.concat([int(0xff), int(256), entries]))), NOT_ALLOWED, 'table_sync refused');
  assert.equal(failCode(await member.request(510, Buffer.concat([int(0xff), int(1), int(99), int(0)]))), NOT_ALLOWED, 'copy_begin refused');
  assert.equal(await member.waitClosed(5000), true, 'the third refused node command closes the connection');
  assert.equal(member.commandsSeen.filter((x) => x.command === 510).length, 0, 'no copy_begin was sent to the fake member');

  const check = await RawClient.connect(node.addr);
  assert.deepEqual((await check.request(40)).payload, tableBefore, 'the bucket table is unchanged');
  check.destroy();
  const [view] = await viewOf([node.addr]);
  assert.deepEqual(view!.members, [], 'no member was added');
  assert.equal(view!.primaries, 256, 'the node still owns every bucket');
  assert.equal(await missingKeys([node.addr], 'f', 2000), 0, 'every key is still readable');
  await killNode(node);
});

test('the node handshake: a wrong secret is refused and logged; the right one (docs/protocol.md) is accepted, for its own identity only', { timeout: TEST_TIMEOUT_MS }, async () => {
  const node = await startNode();
  const inc = await incarnationOf(await RawClient.connect(node.addr));
  const wrong = await RawClient.connect(node.addr);
  const bad = await rawNodeHandshake(wrong, Buffer.from('not the cluster secret at all'), { addr: '127.0.0.1:3', incarnation: 5n, role: 0 });
  assert.equal(bad.acceptorProofOk, false, 'the node proves a secret the impostor does not know');
  assert.equal(failCode(bad.proofReply), AUTH_FAILED, 'the wrong proof is refused');
  assert.equal(await wrong.waitClosed(5000), true, 'and the connection closed');
  const logged = await node.waitForLog((l) => l['msg'] === 'node authentication failed: the peer does not know the cluster secret');
  assert.match(String(logged['client']), /^127\.0\.0\.1:\d+$/, 'the log names the peer address');

  const secret = Buffer.from(readFileSync(join(process.env['OPENCLUSTER_HOME']!, 'cluster.secret'), 'utf8').trim());
  const right = await RawClient.connect(node.addr);
  const ok = await rawNodeHandshake(right, secret, { addr: '127.0.0.1:3', incarnation: 5n, role: 0 });
  assert.equal(ok.acceptorProofOk, true, 'the node\'s proof checks out under the shared secret');
  assert.equal(ok.proofReply.command, R.ack, 'the right proof is accepted');
  const inChallenge = ok.challenge.payload.readBigInt64BE(4 + ok.challenge.payload.readInt32BE(0));
  assert.equal(inChallenge, inc, 'the challenge names the node\'s incarnation');
  const other = await right.request(50, Buffer.concat([str('127.0.0.1:4'), long(5n), int(0)]));
  assert.equal(failCode(other), NOT_ALLOWED, 'server_hello for another identity than the proven one is refused');
  right.destroy();
  await killNode(node);
});

test('a node with another cluster secret cannot join; a secret file others can read is refused', { timeout: TEST_TIMEOUT_MS }, async () => {
  const a = await startNode();
  const dir = makeTempDir('oc-secret-');
  const other = join(dir, 'other.secret');
  writeFileSync(other, 'another secret, long enough\n', { mode: 0o600 });
  const b = await startNode({ nodes: [a.addr], args: ['--cluster-secret-file', other] });
  const why = await b.waitForLog((l) => l['msg'] === 'cannot link to a node: the node handshake failed');
  assert.match(String(why['err']), /does not know the cluster secret/);
  const seen = await a.waitForLog((l) => l['msg'] === 'node handshake abandoned: the peer did not prove the cluster secret (another secret?)');
  assert.equal(seen['claimed'], b.addr, 'the seed logs the address of the node that could not join');
  const [view] = await viewOf([a.addr]);
  assert.deepEqual(view!.members, [], 'the node with the wrong secret is not a member');
  await killNode(b);

  const open = join(dir, 'open.secret');
  writeFileSync(open, 'a secret that others can read\n', { mode: 0o644 });
  const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--cluster-secret-file', open]);
  assert.equal(r.code, 2, 'serve refuses a secret file others can read');
  assert.match(r.stderr, /may be read by others \(mode 0644\); run: chmod 600/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  await killNode(a);
});

test('protected by default: a wildcard listen needs --advertise, a non-loopback one --users-file or --insecure', { timeout: TEST_TIMEOUT_MS }, async () => {
  const wildcard = await runCli(['serve', '--listen', '0.0.0.0:0']);
  assert.equal(wildcard.code, 2);
  assert.match(wildcard.stderr, /add --advertise HOST:PORT/);
  const open = await runCli(['serve', '--listen', '0.0.0.0:0', '--advertise', '127.0.0.1:1']);
  assert.equal(open.code, 2);
  assert.match(open.stderr, /refusing to listen on 0\.0\.0\.0:0 without --users-file/);
  assert.equal(open.stderr.trim().split('\n').length, 1, 'one line');
  const insecure: NodeProcess = await startNode({ listen: '0.0.0.0:0', args: ['--advertise', '127.0.0.1:1', '--insecure'] });
  assert.equal(insecure.addr, '127.0.0.1:1', 'the node is known by the address it advertises');
  await killNode(insecure);
});
