// Functional tests of bad input against a real node: each kind on its own connection, and after each
// a second, healthy connection must still be served; the node must survive all of it.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, startNode, type NodeProcess } from '../helpers/nodes.js';
import { C, checkHealthy, failCode, fnv, frame, getPayload, int, R, RawClient, seededBytes, setIntPayload, setStringPayload, str, type RawFrame, RawPool } from '../helpers/raw.js';

const MAX_FRAME_BYTES = 4096;
const TEST_TIMEOUT_MS = 20000;
const WAIT_MS = 5000;
const BAD_REQUEST = 3;
const NOT_ALLOWED = 17;

let node: NodeProcess;
const pool = new RawPool();

before(async () => {
  node = await startNode({ args: ['--max-frame-bytes', String(MAX_FRAME_BYTES)] });
});

afterEach(async (t) => {
  pool.destroyAll();
  assert.equal(node.proc.exitCode, null, `the node died during "${t.name}"`);
  assert.equal(await checkHealthy(node.addr, t.name), undefined, `a second connection after "${t.name}"`);
});

after(async () => {
  pool.destroyAll();
  await cleanup();
});

function open(): Promise<RawClient> {
  return pool.open(node.addr);
}

/** A failinfo with code badRequest answering `command` with id `id`, the payload well formed. */
function assertBadRequest(f: RawFrame, command: number, id: number): void {
  assert.equal(f.command, R.failinfo, `expected failinfo, got ${f.command}`);
  assert.equal(f.replyTo, command);
  assert.equal(f.requestId, id);
  assert.equal(failCode(f), BAD_REQUEST, 'code badRequest');
  assert.equal(f.payload.length, 8 + f.payload.readInt32BE(4), 'int code, string description');
}

/** The connection still answers ping and a set/get round trip. */
async function assertUsable(c: RawClient, name: string): Promise<void> {
  assert.equal((await c.request(C.ping)).command, R.ack, 'ping on the same connection');
  assert.equal((await c.request(C.setInt, setIntPayload(0, name, 77))).command, R.ack);
  const got = await c.request(C.getInt, getPayload(0, fnv(name)));
  assert.deepEqual(got.payload, Buffer.concat([int(0), int(fnv(name)), int(77)]));
}

test('a length over --max-frame-bytes closes the connection', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const h = Buffer.alloc(12);
  h.writeUInt16BE(C.setString, 0);
  h.writeUInt32BE(1, 4);
  h.writeUInt32BE(MAX_FRAME_BYTES + 1, 8);
  c.send(Buffer.concat([h, Buffer.alloc(100, 1)]));
  assert.equal(await c.waitClosed(WAIT_MS), true, 'the node closes a connection that announces an oversize frame');
  for (const f of c.queued) assert.notEqual(f.replyTo, 0, 'no command pushed');
});

test('a huge length (4 GiB - 1) closes the connection without the node allocating it', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const h = frame(C.setInt, 0, 2).subarray(0, 12);
  h.writeUInt32BE(0xffffffff, 8);
  c.send(h);
  assert.equal(await c.waitClosed(WAIT_MS), true);
});

test('a frame of exactly --max-frame-bytes is accepted', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const name = 'bad-input-at-limit';
  // set_string payload: 4 ints, string name, string value = MAX_FRAME_BYTES in all.
  const valueBytes = MAX_FRAME_BYTES - 16 - (4 + name.length) - 4;
  const payload = setStringPayload(0, name, Buffer.alloc(valueBytes, 0x61));
  assert.equal(payload.length, MAX_FRAME_BYTES);
  const set = await c.request(C.setString, payload);
  assert.equal(set.command, R.ack);
  const got = await c.request(C.getString, getPayload(0, fnv(name)));
  assert.equal(got.command, R.dataString);
  assert.equal(got.payload.length, 8 + 4 + valueBytes);
});

test('a truncated frame followed by close: the node closes its side too', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const whole = frame(C.setInt, 0, 3, setIntPayload(0, 'bad-input-truncated', 1));
  c.send(whole.subarray(0, whole.length - 5));
  c.end();
  assert.equal(await c.waitClosed(WAIT_MS), true);
  assert.equal(c.queued.length, 0, 'no reply to a frame that never completed');
});

test('a truncated header followed by close', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  c.send(frame(C.ping, 0, 4).subarray(0, 7));
  c.end();
  assert.equal(await c.waitClosed(WAIT_MS), true);
  assert.equal(c.queued.length, 0);
});

test('set_int with a 3-byte payload: failinfo badRequest, the connection stays usable', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  c.sendFrame(C.setInt, 0, 10, Buffer.from([1, 2, 3]));
  assertBadRequest(await c.next((f) => f.requestId === 10, WAIT_MS, 'the reply to the short set_int'), C.setInt, 10);
  await assertUsable(c, 'bad-input-after-short');
});

test('payloads that do not match their command: each failinfo badRequest, the connection stays usable', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const good = setIntPayload(0, 'bad-input-shape', 5);
  const cases: Array<[string, number, Buffer]> = [
    ['set_int with a trailing byte', C.setInt, Buffer.concat([good, Buffer.from([0])])],
    ['set_int without its value', C.setInt, good.subarray(0, good.length - 4)],
    ['set_int with an empty payload', C.setInt, Buffer.alloc(0)],
    ['get_int with 7 bytes', C.getInt, Buffer.alloc(7)],
    ['get_int with 9 bytes', C.getInt, Buffer.alloc(9)],
    ['get_string with an empty payload', C.getString, Buffer.alloc(0)],
    ['set_string with an int value', C.setString, good],
  ];
  let id = 100;
  for (const [what, command, payload] of cases) {
    id++;
    c.sendFrame(command, 0, id, payload);
    const f = await c.next((x) => x.requestId === id, WAIT_MS, `the reply to ${what}`);
    assert.doesNotThrow(() => assertBadRequest(f, command, id), what);
  }
  // None of them stored anything.
  const miss = await c.request(C.getInt, getPayload(0, fnv('bad-input-shape')));
  assert.ok(miss.command === R.fail || miss.command === R.failinfo, 'no item was stored by a bad set');
  await assertUsable(c, 'bad-input-after-shapes');
});

test('a string length past the end, or negative: failinfo badRequest', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const head = Buffer.concat([int(0), int(fnv('k')), int(0), int(0)]);
  const cases: Array<[string, number, Buffer]> = [
    ['name length past the end', C.setInt, Buffer.concat([head, int(1000), Buffer.from('k'), int(1)])],
    ['name length 2^31-1', C.setInt, Buffer.concat([head, int(0x7fffffff), Buffer.from('k'), int(1)])],
    ['negative name length', C.setInt, Buffer.concat([head, int(-1), Buffer.from('k'), int(1)])],
    ['value length past the end', C.setString, Buffer.concat([head, str('k'), int(50), Buffer.from('short')])],
    ['negative value length', C.setString, Buffer.concat([head, str('k'), int(-5), Buffer.from('short')])],
  ];
  let id = 200;
  for (const [what, command, payload] of cases) {
    id++;
    c.sendFrame(command, 0, id, payload);
    const f = await c.next((x) => x.requestId === id, WAIT_MS, `the reply to ${what}`);
    assert.doesNotThrow(() => assertBadRequest(f, command, id), what);
  }
  await assertUsable(c, 'bad-input-after-strings');
});

test('replies whose id answers nothing are ignored; the connection stays usable', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  c.send(
    Buffer.concat([
      frame(R.ack, C.setInt, 424242),
      frame(R.ack, C.hashmask, 424243),
      frame(R.ack, C.serverInfo, 424244),
      frame(R.fail, C.getInt, 424245),
      frame(R.failinfo, C.setInt, 424246, Buffer.concat([int(1), str('x')])),
      frame(R.dataInt, C.getInt, 424247, Buffer.concat([int(0), int(1), int(2)])),
      frame(R.unknown, 7777, 424248, Buffer.from([0x1e, 0x61])),
      frame(R.ack, 0xffff, 424249, Buffer.from('junk')),
    ]),
  );
  const pong = await c.request(C.ping);
  assert.equal(pong.command, R.ack);
  assert.equal(c.queued.length, 0, 'nothing answered the stray replies');
  assert.equal(c.commandsSeen.length, 0);
  await assertUsable(c, 'bad-input-after-replies');
});

test('64 KiB of random bytes: closed or answered; the node lives on', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const junk = seededBytes(0xc0ffee, 64 * 1024);
  for (let off = 0; off < junk.length && !c.isClosed; off += 4096) c.send(junk.subarray(off, off + 4096));
  const closed = await c.waitClosed(WAIT_MS);
  assert.ok(closed || c.queued.length > 0, 'the node either closed the connection or answered something');
  for (const f of c.queued) assert.notEqual(f.command, 0, 'replies are real frames');
});

test('random payloads behind valid client command headers: one reply each, then still usable', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  const commands = [C.ping, C.setInt, C.setString, C.getInt, C.getString, 31, 32, 40, 2200, 2201, 2202, 2203, 2204, 2205, 2210, 2211, 2212, 2213];
  const rnd = seededBytes(20240601, 300 * 64);
  const sent = new Map<number, number>();
  const batch: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const command = commands[rnd[i * 64]! % commands.length]!;
    const len = rnd[i * 64 + 1]! % 60;
    const id = 1000 + i;
    sent.set(id, command);
    batch.push(frame(command, 0, id, rnd.subarray(i * 64 + 2, i * 64 + 2 + len)));
  }
  c.send(Buffer.concat(batch));
  const seen = new Set<number>();
  for (let i = 0; i < sent.size; i++) {
    const f = await c.next((x) => x.replyTo !== 0, WAIT_MS, `reply ${i + 1} of ${sent.size}`);
    assert.equal(f.replyTo, sent.get(f.requestId), `reply ${f.command} to id ${f.requestId} names its command`);
    assert.ok(!seen.has(f.requestId), `two replies to ${f.requestId}`);
    seen.add(f.requestId);
    assert.notEqual(f.command, R.unknown, `command ${f.replyTo} is known to the node`);
  }
  await assertUsable(c, 'bad-input-after-random-payloads');
  assert.equal(c.queued.length, 0, 'no extra replies');
});

test('node commands on a client connection are refused (notAllowed) and change nothing; the third refusal closes it', { timeout: TEST_TIMEOUT_MS }, async () => {
  const admin = await open();
  const tableMask = async (): Promise<number> => {
    const t = await admin.request(40);
    assert.equal(t.command, 13, 'get_table answers table (13)');
    return t.payload.readUInt32BE(0);
  };
  const maskBefore = await tableMask();
  const refused: Array<[string, number, Buffer]> = [
    ['widen_mask', 62, int(0xfff)],
    ['heartbeat', 52, Buffer.concat([int(0), int(1), int(0), int(0), int(0)])],
    ['copy_begin', 510, Buffer.concat([int(maskBefore), int(1), int(99), int(0)])],
    ['copy_abort', 512, Buffer.concat([int(maskBefore), int(1)])],
    ['backup_release', 530, Buffer.concat([int(maskBefore), int(1)])],
    ['member_gone', 53, Buffer.concat([str('127.0.0.1:1'), int(0), int(1)])],
  ];
  // Two refusals per connection leave it open and usable as a client.
  for (let i = 0; i < refused.length; i += 2) {
    const c = await open();
    for (const [what, command, payload] of refused.slice(i, i + 2)) {
      const f = await c.request(command, payload);
      assert.equal(f.command, R.failinfo, `${what} from a client must be refused, got ${f.command}`);
      assert.equal(failCode(f), NOT_ALLOWED, `${what}: code notAllowed`);
    }
    await assertUsable(c, `bad-input-after-node-commands-${i}`);
  }
  assert.equal(await tableMask(), maskBefore, 'widen_mask from a client did not widen the table');
  // The third refusal on one connection ends it.
  const c = await open();
  for (const [, command, payload] of refused.slice(0, 3)) assert.equal(failCode(await c.request(command, payload)), NOT_ALLOWED);
  assert.equal(await c.waitClosed(WAIT_MS), true, 'the node closes a connection after three refused node commands');
});

test('numbers near the node commands that name no command get unknown (9)', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  for (const command of [55, 63, 99, 501, 599]) {
    const f = await c.request(command);
    assert.equal(f.command, R.unknown, `command ${command} is not defined: unknown (9), got ${f.command}`);
    assert.equal(f.payload.readUInt16BE(0), command);
  }
  await assertUsable(c, 'bad-input-after-undefined-numbers');
});

test('a malformed server_hello (50): failinfo badRequest, then the connection is closed or still a working client connection', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  // string address with a negative length: it can never name a node to dial.
  const f = await c.request(50, int(-5));
  assertBadRequest(f, 50, f.requestId);
  let pong: RawFrame;
  try {
    pong = await c.request(C.ping);
  } catch (e) {
    if (c.isClosed) return; // the node chose to close the connection: fine
    throw e;
  }
  assert.equal(pong.command, R.ack, `ping after a bad server_hello answered ${pong.command} ${pong.command === R.failinfo ? pong.payload.subarray(8).toString() : ''}`);
  const u = await c.request(7777);
  assert.equal(u.command, R.unknown, 'PROTOCOL.md rule 3 still holds on this connection');
  await assertUsable(c, 'bad-input-after-bad-server-hello');
});

test('random frames of any command number (client commands and unknown numbers): one reply each', { timeout: TEST_TIMEOUT_MS }, async () => {
  const c = await open();
  // Node-to-node numbers are left out on purpose: a random payload must never name a node to dial.
  const nodeNumbers = new Set([15, 50, 51, 52, 53, 54, 56, 57, 60, 62, 510, 511, 512, 513, 520, 530, 540, 541, 542, 543]);
  const never = new Set([10, 11, 20]); // hello pushes, client_hello pushes, goodbye closes
  const rnd = seededBytes(7, 400 * 80);
  const sent = new Map<number, number>();
  const batch: Buffer[] = [];
  for (let i = 0; i < 400; i++) {
    const b = rnd.subarray(i * 80, i * 80 + 80);
    const command = b.readUInt16BE(2);
    if (nodeNumbers.has(command) || never.has(command)) continue;
    sent.set(5000 + i, command);
    batch.push(frame(command, 0, 5000 + i, b.subarray(6, 6 + (b[4]! % 70))));
  }
  c.send(Buffer.concat(batch));
  const seen = new Set<number>();
  for (let i = 0; i < sent.size; i++) {
    const f = await c.next((x) => x.replyTo !== 0, WAIT_MS, `reply ${i + 1} of ${sent.size}`);
    assert.equal(f.replyTo, sent.get(f.requestId), `reply to id ${f.requestId} names its command`);
    assert.ok(!seen.has(f.requestId), `two replies to ${f.requestId}`);
    seen.add(f.requestId);
  }
  await assertUsable(c, 'bad-input-after-random-frames');
  assert.equal(c.queued.length, 0, 'no extra replies');
});

test('many connections opened and dropped at once do not harm the node', { timeout: TEST_TIMEOUT_MS }, async () => {
  const conns = await Promise.all(Array.from({ length: 50 }, () => open()));
  conns.forEach((c, i) => c.send(frame(C.setInt, 0, i + 1, setIntPayload(0, `bad-input-drop-${i}`, i)).subarray(0, 20)));
  for (const c of conns) c.destroy();
  await Promise.all(conns.map((c) => c.closed));
});

test('the node process is still running at the end', () => {
  assert.equal(node.proc.exitCode, null);
  assert.equal(node.proc.signalCode, null);
});
