// Functional tests of client logins (--users-file) against real nodes: passwd lines, each role's
// limits through the library and raw frames, failed logins (delayed, logged, closed on the third),
// the rules before a login, legacy clients, the CLI's --user, and serve refusing a bad users file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from '../../src/index.js';
import { cleanup, makeTempDir, runCli, startNode, type NodeProcess } from '../helpers/nodes.js';
import { C, R, RawPool, frame, getPayload, fnv, int, setIntPayload, str, type RawFrame } from '../helpers/raw.js';
import { rejectsWith } from '../helpers/assertions.js';
import { ACK, AUTH, AUTH_FAILED, CLIENT_HELLO, NOT_ALLOWED, assertFailinfo, authPayload, clientHelloPayload, makeUsersFile, rawLogin, type TestUser } from '../helpers/users.js';

const TEST_TIMEOUT_MS = 30_000;
const READER: TestUser = { name: 'reader', role: 'read', password: 'read-pw' };
const WRITER: TestUser = { name: 'writer', role: 'write', password: 'write pw with spaces' };
const ADMIN: TestUser = { name: 'admin', role: 'admin', password: 'ädmin-pw' };

// Command numbers as docs/protocol.md lists them.
const STATS = 32;
const CAPABILITIES = 31;
const GET_TABLE = 40;
const TABLE_SYNC = 60;
const SET = 2200;
const GET = 2201;
const VALUE = 5;

let dir: string;
let usersFile: string;
let node: NodeProcess;
let legacyNode: NodeProcess;
let plainNode: NodeProcess;
const pool = new RawPool();
const clients: Cluster[] = [];

before(async () => {
  dir = makeTempDir('oc-users-');
  usersFile = await makeUsersFile(dir, [READER, WRITER, ADMIN]);
  [node, legacyNode, plainNode] = await Promise.all([
    startNode({ args: ['--users-file', usersFile] }),
    startNode({ args: ['--users-file', usersFile, '--legacy-clients', 'allow'] }),
    startNode(),
  ]);
});

after(async () => {
  pool.destroyAll();
  await Promise.all(clients.map((c) => c.close()));
  await cleanup();
});

function client(u: TestUser | null, addr = node.addr, password?: string): Cluster {
  const c = new Cluster({ seeds: [addr], requestTimeoutMs: 10_000, ...(u === null ? {} : { user: u.name, password: password ?? u.password }) });
  clients.push(c);
  return c;
}

/** set payload: string map, string key, int expires, int flags, value (string). */
function setPayload(key: string, value: string | Buffer): Buffer {
  return Buffer.concat([str(''), str(key), int(0), int(0), int(3), str(value)]);
}

function getKeyPayload(key: string): Buffer {
  return Buffer.concat([str(''), str(key), int(0)]);
}

function oneLineError(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${stderr}`);
  return lines[0]!;
}

test('passwd prints a users-file line; bad input exits 2 with one line', { timeout: TEST_TIMEOUT_MS }, async () => {
  const ok = await runCli(['passwd', 'carol', 'write'], 20000, 'secret\n');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^carol write scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\n$/);
  for (const [args, input, want] of [
    [['passwd', 'carol', 'root'], 'x\n', /role/],
    [['passwd', 'car ol', 'read'], 'x\n', /white space/],
    [['passwd', 'carol', 'read'], '\n', /empty/],
  ] as const) {
    const r = await runCli([...args], 20000, input);
    assert.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    assert.match(oneLineError(r.stderr), want);
  }
});

test('each role through the library: read cannot write, write cannot stats, admin can all', { timeout: TEST_TIMEOUT_MS }, async () => {
  const admin = client(ADMIN);
  const writer = client(WRITER);
  const reader = client(READER);
  await Promise.all([admin.connect(), writer.connect(), reader.connect()]);

  await writer.set('roles-k', 'from writer');
  await writer.map('roles-m').set('a', 1);
  assert.equal(await reader.getString('roles-k'), 'from writer');
  assert.equal(await reader.map('roles-m').count(), 1);
  assert.equal(await reader.exists('roles-k'), true);
  await rejectsWith(reader.set('roles-k', 'from reader'), 'NOT_ALLOWED');
  await rejectsWith(reader.delete('roles-k'), 'NOT_ALLOWED');
  await rejectsWith(reader.map('roles-m').clear(), 'NOT_ALLOWED');
  await rejectsWith(reader.stats(), 'NOT_ALLOWED');
  await rejectsWith(writer.stats(), 'NOT_ALLOWED');
  assert.equal(await writer.getString('roles-k'), 'from writer', 'the refused writes changed nothing');

  await admin.set('roles-k', 'from admin');
  assert.equal(await admin.delete('roles-k'), true);
  const stats = await admin.stats();
  assert.equal(stats.length, 1);
  assert.ok(Number((stats[0]!['ops'] as Record<string, unknown>)['notAllowed']) >= 5, 'the node counts refusals');

  const anonymous = client(null);
  await anonymous.connect();
  await rejectsWith(anonymous.get('roles-k'), 'NOT_ALLOWED');
});

test('each role through raw frames: notAllowed (17) outside the role', { timeout: TEST_TIMEOUT_MS }, async () => {
  const r = await pool.open(node.addr);
  assert.equal((await rawLogin(r, READER.name, READER.password)).command, ACK, 'reader logs in');
  assertFailinfo(await r.request(SET, setPayload('raw-k', 'x')), NOT_ALLOWED, 'reader set');
  assertFailinfo(await r.request(C.setInt, setIntPayload(0, 'raw-int', 5)), NOT_ALLOWED, 'reader set_int');
  assertFailinfo(await r.request(STATS), NOT_ALLOWED, 'reader stats');
  assert.equal((await r.request(GET, getKeyPayload('raw-k'))).command, VALUE, 'reader get');
  assert.equal((await r.request(GET_TABLE)).command, 13, 'reader get_table');

  const w = await pool.open(node.addr);
  assert.equal((await rawLogin(w, WRITER.name, WRITER.password)).command, ACK, 'writer logs in');
  assert.equal((await w.request(SET, setPayload('raw-k', 'x'))).command, ACK, 'writer set');
  assertFailinfo(await w.request(STATS), NOT_ALLOWED, 'writer stats');
  assertFailinfo(await w.request(AUTH, authPayload(ADMIN.name, ADMIN.password)), 3, 'a second login on one connection is a badRequest');
  assertFailinfo(await w.request(STATS), NOT_ALLOWED, 'still the writer');

  const a = await pool.open(node.addr);
  assert.equal((await rawLogin(a, ADMIN.name, ADMIN.password)).command, ACK, 'admin logs in');
  assert.equal((await a.request(STATS)).command, 12, 'admin stats (json)');
  assert.equal((await a.request(9999)).command, R.unknown, 'admin: an unknown command is unknown, not refused');
  assertFailinfo(await a.request(TABLE_SYNC, Buffer.alloc(8)), NOT_ALLOWED, 'a node command needs the cluster secret, not a user');
});

test('a wrong password: AUTH_FAILED, answered after the commands behind it waited, logged with the peer; the third closes', { timeout: TEST_TIMEOUT_MS }, async () => {
  await rejectsWith(client(READER, node.addr, 'wrong').connect(), 'AUTH_FAILED');
  await rejectsWith(client({ ...READER, name: 'nobody' }).connect(), 'AUTH_FAILED');

  const c = await pool.open(node.addr);
  assert.equal((await c.request(CLIENT_HELLO, clientHelloPayload())).command, ACK);
  const peer = `127.0.0.1:${c.socket.localPort}`;
  // Pipelined: the pings wait behind each login; nothing after the third failure is answered.
  const bad = (id: number): Buffer => frame(AUTH, 0, id, authPayload(READER.name, 'guess'));
  c.send(Buffer.concat([bad(101), frame(C.ping, 0, 102), bad(103), bad(104), frame(C.ping, 0, 105)]));
  const got: RawFrame[] = [];
  for (let i = 0; i < 4; i++) got.push(await c.next(() => true, 10_000, `reply ${i + 1}`));
  assert.deepEqual(got.map((f) => [f.replyTo, f.requestId]), [[AUTH, 101], [C.ping, 102], [AUTH, 103], [AUTH, 104]], 'replies in order');
  for (const f of [got[0]!, got[2]!, got[3]!]) assertFailinfo(f, AUTH_FAILED, 'wrong password');
  assert.equal(got[1]!.command, ACK);
  assert.equal(await c.waitClosed(5000), true, 'the third failure closes the connection');
  assert.equal(c.queued.length, 0, 'the ping behind the third failure was never answered');
  const logged = await node.waitForLog((l) => l['msg'] === 'login failed: wrong user name or password' && l['client'] === peer && l['failures'] === 3);
  assert.equal(logged['user'], READER.name);
  assert.equal(logged['level'], 40, 'logged at warn');
});

test('before a login: only hello, client_hello, auth, ping and goodbye; frames over 4 KiB close the connection', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await pool.open(node.addr);
  assert.equal((await c.request(CLIENT_HELLO, clientHelloPayload())).command, ACK);
  assert.equal((await c.request(C.ping)).command, ACK);
  for (const [cmd, payload] of [[SET, setPayload('pre-login', 'x')], [GET, getKeyPayload('pre-login')], [STATS, undefined], [GET_TABLE, undefined], [CAPABILITIES, undefined], [C.setInt, setIntPayload(0, 'pre-login', 1)], [9999, undefined]] as const) {
    const f = await c.request(cmd, payload);
    assertFailinfo(f, NOT_ALLOWED, `command ${cmd} before a login`);
    assert.match(f.payload.subarray(8).toString('utf8'), /log in first \(auth\)/);
  }
  assert.equal(c.commandsSeen.length, 0, 'no pushes before a login');
  assert.equal((await c.request(C.goodbye)).command, ACK);
  assert.equal(await c.waitClosed(5000), true);

  const big = await pool.open(node.addr);
  big.send(frame(C.ping, 0, 1, Buffer.alloc(4097)));
  assert.equal(await big.waitClosed(5000), true, 'a frame over 4 KiB before a login closes the connection');

  const w = await pool.open(node.addr);
  assert.equal((await rawLogin(w, WRITER.name, WRITER.password)).command, ACK);
  assert.equal((await w.request(SET, setPayload('big-after-login', Buffer.alloc(10_000, 7)))).command, ACK, 'after a login the node limit holds');

  const admin = client(ADMIN);
  await admin.connect();
  assert.equal(await admin.get('pre-login'), null, 'the refused set changed nothing');
});

test('legacy hello: refused and closed on a node with users; allowed (legacy commands only) with --legacy-clients allow', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await pool.open(node.addr);
  const peer = `127.0.0.1:${c.socket.localPort}`;
  assertFailinfo(await c.request(C.hello), NOT_ALLOWED, 'hello');
  assert.equal(await c.waitClosed(5000), true, 'then closed');
  await node.waitForLog((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('connection closed: a legacy client') && l['client'] === peer);

  const l = await pool.open(legacyNode.addr);
  assert.equal((await l.request(C.hello)).command, ACK);
  assert.equal((await l.request(C.setInt, setIntPayload(0, 'legacy-k', 42))).command, ACK);
  const got = await l.request(C.getInt, getPayload(0, fnv('legacy-k')));
  assert.deepEqual(got.payload, Buffer.concat([int(0), int(fnv('legacy-k')), int(42)]));
  assertFailinfo(await l.request(SET, setPayload('legacy-rich', 'x')), NOT_ALLOWED, 'a rich command from a legacy client');
  assertFailinfo(await l.request(STATS), NOT_ALLOWED, 'stats from a legacy client');
});

test('a node without users answers auth notAllowed; a client with a user is told', { timeout: TEST_TIMEOUT_MS }, async () => {
  const e = await rejectsWith(client(READER, plainNode.addr).connect(), 'NOT_ALLOWED');
  assert.match(e.message, /no users/);
  const c = await pool.open(plainNode.addr);
  assert.equal((await c.request(C.setInt, setIntPayload(0, 'plain', 1))).command, ACK, 'no login needed there');
});

test('CLI: --user with OPENCLUSTER_PASSWORD or --password-file (0644 refused); status needs admin', { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = { OPENCLUSTER_PASSWORD: WRITER.password };
  const set = await runCli(['set', '--cluster', node.addr, '--user', WRITER.name, 'cli-k', 'cli-v'], 20000, undefined, env);
  assert.equal(set.code, 0, set.stderr);
  const pwFile = join(dir, 'reader.pw');
  writeFileSync(pwFile, `${READER.password}\n`, { mode: 0o600 });
  const get = await runCli(['get', '--cluster', node.addr, '--user', READER.name, '--password-file', pwFile, 'cli-k'], 20000, undefined, { OPENCLUSTER_PASSWORD: '' });
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, 'cli-v\n');
  const status = await runCli(['status', '--cluster', node.addr, '--user', READER.name, '--password-file', pwFile]);
  assert.equal(status.code, 2);
  assert.match(oneLineError(status.stderr), /status needs a user with role admin/);
  const wrong = await runCli(['get', '--cluster', node.addr, '--user', READER.name, 'cli-k'], 20000, undefined, { OPENCLUSTER_PASSWORD: 'nope' });
  assert.equal(wrong.code, 2);
  assert.match(oneLineError(wrong.stderr), /AUTH_FAILED/);
  chmodSync(pwFile, 0o644);
  const open = await runCli(['get', '--cluster', node.addr, '--user', READER.name, '--password-file', pwFile, 'cli-k']);
  assert.equal(open.code, 2);
  assert.match(oneLineError(open.stderr), /may be read by others/);
});

test('serve exits 2 with one line on a users file others can read, or a bad line', { timeout: TEST_TIMEOUT_MS }, async () => {
  const serve = (file: string): ReturnType<typeof runCli> =>
    runCli(['serve', '--listen', '127.0.0.1:0', '--data-dir', makeTempDir('oc-data-'), '--users-file', file]);
  const readable = await makeUsersFile(makeTempDir('oc-users-open-'), [READER], 0o644);
  const r1 = await serve(readable);
  assert.equal(r1.code, 2);
  assert.match(oneLineError(r1.stderr), /may be read by others/);
  const badDir = makeTempDir('oc-users-bad-');
  for (const [text, want] of [
    ['# users\nalice admin scrypt$16384$8$1$nope\n', /line 2/],
    ['alice boss scrypt$16384$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==\n', /line 1: role/],
  ] as const) {
    const file = join(badDir, 'users');
    writeFileSync(file, text, { mode: 0o600 });
    const r = await serve(file);
    assert.equal(r.code, 2);
    assert.match(oneLineError(r.stderr), want);
  }
  const dup = await makeUsersFile(makeTempDir('oc-users-dup-'), [READER, { ...READER, password: 'other' }]);
  const r2 = await serve(dup);
  assert.equal(r2.code, 2);
  assert.match(oneLineError(r2.stderr), /line 4: user "reader" is listed twice/);
});
