// Functional tests of the fixed frames of shared/PROTOCOL.md against a real node, with frames built
// by hand: hello and its pushes, ping, legacy sets and gets (byte-exact replies), expiry, unknown, goodbye.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, startNode, type NodeProcess } from '../helpers/nodes.js';
import { C, failCode, fnv, frame, getPayload, int, R, RawClient, setIntPayload, setStringPayload, str, type RawFrame, RawPool } from '../helpers/raw.js';

const TEST_TIMEOUT_MS = 20000;
const WAIT_MS = 5000;

let node: NodeProcess;
const pool = new RawPool();

before(async () => {
  node = await startNode();
});
after(async () => {
  pool.destroyAll();
  await cleanup();
});

function open(): Promise<RawClient> {
  return pool.open(node.addr);
}

/** A get that must miss: fail (2), or failinfo (3) with a well-formed payload. */
function assertMiss(f: RawFrame, what: string): void {
  assert.ok(f.command === R.fail || f.command === R.failinfo, `${what}: expected fail or failinfo, got ${f.command}`);
  if (f.command === R.fail) assert.equal(f.payload.length, 0, `${what}: fail has no payload`);
  else {
    const len = f.payload.readInt32BE(4);
    assert.equal(f.payload.length, 8 + len, `${what}: failinfo is int code, string description`);
  }
}

test('hello: ack with reply-to 10 and the same id, then one hashmask push per bucket, acked by the client', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const helloId = 0x7fff0001;
  c.sendFrame(C.hello, 0, helloId);
  const first = await c.next(() => true, WAIT_MS, 'the ack to hello');
  assert.deepEqual(
    { command: first.command, replyTo: first.replyTo, requestId: first.requestId, len: first.payload.length },
    { command: R.ack, replyTo: C.hello, requestId: helloId, len: 0 },
    'the first frame after hello is its ack',
  );
  const buckets = new Set<number>();
  const pushIds = new Set<number>();
  for (let i = 0; i < 256; i++) {
    const p = await c.next((f) => f.replyTo === 0 && f.command === C.hashmask, WAIT_MS, `hashmask push ${i + 1} of 256`);
    assert.equal(p.payload.length, 12, 'hashmask: int mask, int bucket hash, int level');
    assert.equal(p.payload.readUInt32BE(0), 0xff, 'mask');
    const hash = p.payload.readUInt32BE(4);
    assert.ok(hash <= 0xff, `bucket hash ${hash} under mask 0xFF`);
    assert.ok(!buckets.has(hash), `bucket ${hash} pushed twice`);
    buckets.add(hash);
    assert.equal(p.payload.readInt32BE(8), 0, `level of bucket ${hash} on the only node`);
    pushIds.add(p.requestId);
    c.sendFrame(R.ack, C.hashmask, p.requestId);
  }
  assert.equal(buckets.size, 256);
  assert.equal(pushIds.size, 256, 'each push has its own request id');
  // The only node has no other node to announce, and an old client gets no other kind of command.
  const pong = await c.request(C.ping);
  assert.equal(pong.command, R.ack);
  for (const f of c.commandsSeen) assert.ok(f.command === C.hashmask, `unexpected push ${f.command} to a hello client`);
  assert.equal(c.commandsSeen.length, 256);
});

test('ping: ack with reply-to 30, the same request id, no payload', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  for (const id of [1, 0xfffffffe, 0x80000000]) {
    c.sendFrame(C.ping, 0, id);
    const f = await c.next((x) => x.requestId === id, WAIT_MS, `ack to ping ${id}`);
    assert.deepEqual({ command: f.command, replyTo: f.replyTo, payload: f.payload }, { command: R.ack, replyTo: C.ping, payload: Buffer.alloc(0) });
  }
});

test('set_int / get_int with map hash 0: ack, then data_int byte-exact', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  for (const [name, value] of [
    ['legacy-int-a', 42],
    ['legacy-int-min', -(2 ** 31)],
    ['legacy-int-max', 2 ** 31 - 1],
    ['', -1],
  ] as const) {
    const set = await c.request(C.setInt, setIntPayload(0, name, value));
    assert.equal(set.command, R.ack, `set_int ${name}`);
    assert.equal(set.payload.length, 0);
    const got = await c.request(C.getInt, getPayload(0, fnv(name)));
    assert.equal(got.command, R.dataInt, `get_int ${name}`);
    assert.deepEqual(got.payload, Buffer.concat([int(0), int(fnv(name)), int(value)]), `data_int payload of ${name}`);
  }
  // An overwrite replaces the value.
  assert.equal((await c.request(C.setInt, setIntPayload(0, 'legacy-int-a', 43))).command, R.ack);
  const again = await c.request(C.getInt, getPayload(0, fnv('legacy-int-a')));
  assert.deepEqual(again.payload, Buffer.concat([int(0), int(fnv('legacy-int-a')), int(43)]));
});

test('set_string / get_string with map hash 0: data_string byte-exact, bytes kept as bytes', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const values: Array<[string, Buffer]> = [
    ['legacy-str-a', Buffer.from('hello world')],
    ['legacy-str-bytes', Buffer.from([0x00, 0xff, 0x80, 0x7f, 0xc3, 0x28, 0x0a])],
    ['legacy-str-utf8-ключ', Buffer.from('значение ✓', 'utf8')],
    ['legacy-str-empty', Buffer.alloc(0)],
    ['legacy-str-big', Buffer.alloc(100_000, 0x5a)],
  ];
  for (const [name, value] of values) {
    const set = await c.request(C.setString, setStringPayload(0, name, value));
    assert.equal(set.command, R.ack, `set_string ${name}`);
    const got = await c.request(C.getString, getPayload(0, fnv(name)));
    assert.equal(got.command, R.dataString, `get_string ${name}`);
    assert.ok(got.payload.equals(Buffer.concat([int(0), int(fnv(name)), str(value)])), `data_string payload of ${name}`);
  }
});

test('with a map hash: set and get by (map hash, key hash); the map entry is not the plain key', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const mapHash = fnv('legacy-map');
  const set = await c.request(C.setInt, setIntPayload(mapHash, 'entry', 7));
  assert.equal(set.command, R.ack);
  const got = await c.request(C.getInt, getPayload(mapHash, fnv('entry')));
  assert.equal(got.command, R.dataInt);
  assert.deepEqual(got.payload, Buffer.concat([int(mapHash), int(fnv('entry')), int(7)]));
  assertMiss(await c.request(C.getInt, getPayload(0, fnv('entry'))), 'the map entry looked up as a plain key');
  assertMiss(await c.request(C.getInt, getPayload(fnv('another-map'), fnv('entry'))), 'the entry looked up in another map');

  // The same name as a plain key and in the map: two items.
  assert.equal((await c.request(C.setInt, setIntPayload(0, 'entry', 1))).command, R.ack);
  assert.deepEqual((await c.request(C.getInt, getPayload(0, fnv('entry')))).payload, Buffer.concat([int(0), int(fnv('entry')), int(1)]));
  assert.deepEqual((await c.request(C.getInt, getPayload(mapHash, fnv('entry')))).payload, Buffer.concat([int(mapHash), int(fnv('entry')), int(7)]));

  // Strings in a map with a hash above 2^31 (sent as a negative int).
  const highMap = 0xdeadbeef;
  const value = Buffer.from([1, 2, 3, 0, 255]);
  assert.equal((await c.request(C.setString, setStringPayload(highMap, 'bin', value))).command, R.ack);
  const s = await c.request(C.getString, getPayload(highMap, fnv('bin')));
  assert.equal(s.command, R.dataString);
  assert.ok(s.payload.equals(Buffer.concat([int(highMap), int(fnv('bin')), str(value)])));
});

test('a get of a missing key answers fail or failinfo', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  assertMiss(await c.request(C.getInt, getPayload(0, fnv('legacy-never-set-int'))), 'get_int of a missing key');
  assertMiss(await c.request(C.getString, getPayload(0, fnv('legacy-never-set-str'))), 'get_string of a missing key');
  assertMiss(await c.request(C.getInt, getPayload(fnv('legacy-no-such-map'), fnv('k'))), 'get_int in a missing map');
});

test('a get of the other type answers fail or failinfo, and a set of the other type replaces the item', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  assert.equal((await c.request(C.setString, setStringPayload(0, 'legacy-typed', Buffer.from('text')))).command, R.ack);
  const wrong = await c.request(C.getInt, getPayload(0, fnv('legacy-typed')));
  assertMiss(wrong, 'get_int of a string item');
  if (wrong.command === R.failinfo) assert.notEqual(failCode(wrong), 3, 'a well-formed get is not a badRequest');
  assert.equal((await c.request(C.setInt, setIntPayload(0, 'legacy-typed', 5))).command, R.ack);
  assertMiss(await c.request(C.getString, getPayload(0, fnv('legacy-typed'))), 'get_string of an int item');
  assert.deepEqual((await c.request(C.getInt, getPayload(0, fnv('legacy-typed')))).payload, Buffer.concat([int(0), int(fnv('legacy-typed')), int(5)]));
});

test('set_int with full wait 1 on a single node is acked', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const set = await c.request(C.setInt, setIntPayload(0, 'legacy-fullwait', 9, 0, 1));
  assert.equal(set.command, R.ack);
  assert.deepEqual((await c.request(C.getInt, getPayload(0, fnv('legacy-fullwait')))).payload, Buffer.concat([int(0), int(fnv('legacy-fullwait')), int(9)]));
});

test('every pipelined command gets exactly one reply, with its own id', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const N = 200;
  /** request id -> [command, the reply payload it must get]. */
  const sent = new Map<number, [number, Buffer]>();
  const batch: Buffer[] = [];
  for (let i = 0; i < N; i++) {
    const name = `legacy-pipe-${i}`;
    const setId = c.id();
    const getId = c.id();
    sent.set(setId, [C.setInt, Buffer.alloc(0)]);
    sent.set(getId, [C.getInt, Buffer.concat([int(0), int(fnv(name)), int(i * 3)])]);
    batch.push(frame(C.setInt, 0, setId, setIntPayload(0, name, i * 3)), frame(C.getInt, 0, getId, getPayload(0, fnv(name))));
  }
  c.send(Buffer.concat(batch));
  const seen = new Set<number>();
  for (let i = 0; i < 2 * N; i++) {
    const f = await c.next((x) => x.replyTo !== 0, WAIT_MS, `reply ${i + 1} of ${2 * N}`);
    const want = sent.get(f.requestId);
    assert.ok(want !== undefined, `reply to an id never sent: ${f.requestId}`);
    assert.ok(!seen.has(f.requestId), `two replies to id ${f.requestId}`);
    seen.add(f.requestId);
    assert.equal(f.replyTo, want[0], 'reply-to names the command');
    assert.equal(f.command, want[0] === C.setInt ? R.ack : R.dataInt);
    assert.deepEqual(f.payload, want[1]);
  }
  assert.equal((await c.request(C.ping)).command, R.ack);
  assert.equal(c.queued.length, 0, 'no extra replies');
});

test('expiry: set_int with expires 1 is there at once and eventually gone; expires 0 stays', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  assert.equal((await c.request(C.setInt, setIntPayload(0, 'legacy-keep', 1, 0))).command, R.ack);
  assert.equal((await c.request(C.setInt, setIntPayload(0, 'legacy-expiring', 2, 1))).command, R.ack);
  const now = await c.request(C.getInt, getPayload(0, fnv('legacy-expiring')));
  assert.equal(now.command, R.dataInt, 'present right after the set');
  assert.deepEqual(now.payload, Buffer.concat([int(0), int(fnv('legacy-expiring')), int(2)]));
  const deadline = Date.now() + 10_000;
  let last: RawFrame = now;
  while (Date.now() < deadline) {
    last = await c.request(C.getInt, getPayload(0, fnv('legacy-expiring')));
    if (last.command !== R.dataInt) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assertMiss(last, 'get_int of the expired item (waited up to 10 s)');
  const kept = await c.request(C.getInt, getPayload(0, fnv('legacy-keep')));
  assert.equal(kept.command, R.dataInt, 'an item without expiry stays');
});

test('an unknown command answers unknown (9) with the command as a short; the connection stays open', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  c.sendFrame(7777, 0, 555, Buffer.from([1, 2, 3]));
  const f = await c.next((x) => x.requestId === 555, WAIT_MS, 'the reply to 7777');
  assert.equal(f.command, R.unknown);
  assert.equal(f.replyTo, 7777);
  assert.deepEqual(f.payload, Buffer.from([0x1e, 0x61]), 'short 7777');
  c.sendFrame(0xffff, 0, 556);
  const g = await c.next((x) => x.requestId === 556, WAIT_MS, 'the reply to 65535');
  assert.deepEqual({ command: g.command, replyTo: g.replyTo, payload: g.payload }, { command: R.unknown, replyTo: 0xffff, payload: Buffer.from([0xff, 0xff]) });
  assert.equal((await c.request(C.ping)).command, R.ack);
  assert.equal(c.isClosed, false);
});

test('goodbye: ack, then the node closes the connection', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const f = await c.request(C.goodbye);
  assert.deepEqual({ command: f.command, replyTo: f.replyTo, len: f.payload.length }, { command: R.ack, replyTo: C.goodbye, len: 0 });
  assert.equal(await c.waitClosed(WAIT_MS), true, 'the node closes the connection after the ack');
  assert.equal(c.ended, true, 'the node ended the stream (FIN), not just dropped it');
  assert.equal(node.proc.exitCode, null, 'the node is still running');
});

test('two nodes: server_info on hello, and tryelsewhere (4) with the primary for a bucket the node is not primary of', { timeout: 30000 }, async () => {
  const other = await startNode({ nodes: [node.addr] });
  const c = await open();
  // Once the second node takes its share, some keys answer tryelsewhere at the first node.
  const deadline = Date.now() + 20_000;
  let redirected: { name: string; to: string } | undefined;
  let acked: string | undefined;
  for (let i = 0; Date.now() < deadline && (redirected === undefined || acked === undefined); i++) {
    const name = `legacy-two-${i}`;
    const f = await c.request(C.setInt, setIntPayload(0, name, i));
    if (f.command === R.ack) acked ??= name;
    else if (f.command === R.tryelsewhere) {
      assert.equal(f.payload.length, 4 + f.payload.readInt32BE(0), 'tryelsewhere: string "host:port"');
      redirected ??= { name, to: f.payload.subarray(4).toString('latin1') };
    } else {
      assert.equal(f.command, R.failinfo, `set_int answered ${f.command}`);
      assert.equal(failCode(f), 5, 'only retryLater while a bucket changes hands');
    }
    if (i % 64 === 63) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(redirected !== undefined, 'some key was redirected once two nodes share the buckets');
  assert.ok(acked !== undefined, 'some key stays at the first node');
  assert.equal(redirected.to, other.addr, 'tryelsewhere names the other node');
  const wantInt = Number(redirected.name.slice('legacy-two-'.length));

  // The get is redirected too; at the named node the set and the get succeed.
  const g = await c.request(C.getInt, getPayload(0, fnv(redirected.name)));
  assert.ok(g.command === R.tryelsewhere || (g.command === R.failinfo && failCode(g) === 5), `get at the wrong node answered ${g.command}`);
  const d = await pool.open(other.addr);
  let set: RawFrame | undefined;
  for (let k = 0; k < 50; k++) {
    set = await d.request(C.setInt, setIntPayload(0, redirected.name, wantInt));
    if (set.command !== R.failinfo || failCode(set) !== 5) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(set!.command, R.ack, 'the node named by tryelsewhere takes the set');
  const got = await d.request(C.getInt, getPayload(0, fnv(redirected.name)));
  assert.deepEqual(got.payload, Buffer.concat([int(0), int(fnv(redirected.name)), int(wantInt)]));

  // hello lists the other node with server_info (100), and only 100 and 120 are ever pushed.
  const h = await open();
  h.sendFrame(C.hello, 0, 77);
  const ack = await h.next(() => true, WAIT_MS, 'the ack to hello');
  assert.deepEqual([ack.command, ack.replyTo, ack.requestId], [R.ack, C.hello, 77]);
  const info = await h.next((f) => f.replyTo === 0 && f.command === C.serverInfo, WAIT_MS, 'server_info push');
  assert.deepEqual(info.payload, str(Buffer.from(other.addr, 'latin1')));
  h.sendFrame(R.ack, C.serverInfo, info.requestId);
  const mask = await h.next((f) => f.replyTo === 0 && f.command === C.hashmask, WAIT_MS, 'a hashmask push');
  assert.equal(mask.payload.readUInt32BE(0), 0xff);
  assert.equal((await h.request(C.ping)).command, R.ack);
  for (const f of [...h.commandsSeen, ...c.commandsSeen]) assert.ok(f.command === C.serverInfo || f.command === C.hashmask, `push ${f.command}`);
});
