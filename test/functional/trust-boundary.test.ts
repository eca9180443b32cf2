// The trust boundary as a property (fast-check) against two real joined nodes with --users-file:
// any sequence of frames from a connection that never logs in and never proves the cluster secret
// changes neither membership, nor the bucket table, nor data. Each run opens a fresh raw connection,
// sends a generated sequence (node commands with plausible and random payloads, data writes,
// logins that fail, random numbers), then an admin connection checks everything is as before.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cleanup, makeTempDir, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';
import { C, RawClient, fnv, frame, int, str, type RawFrame } from '../helpers/raw.js';
import { ACK, CLIENT_HELLO, clientHelloPayload, makeUsersFile, rawLogin, type TestUser } from '../helpers/users.js';

const ADMIN: TestUser = { name: 'admin', role: 'admin', password: 'the admin password' };
const RUNS = 40;
const TEST_TIMEOUT_MS = 120_000;
const KNOWN_KEYS = ['k-alpha', 'k-beta', 'k-gamma', 'k-delta', 'k-epsilon', 'k-zeta'];
const MAP_NAME = 'm-known';
const MASK = 0xff;
/** A huge epoch: any node that believed it would let it overrule every bucket. */
const HUGE_EPOCH = 0x7ffffff0;
const ATTACKER = '127.0.0.1:1';

// Command numbers as docs/protocol.md lists them.
const Cmd = {
  shuttingDown: 15, goodbye: 20, serverHello: 50, members: 51, heartbeat: 52, memberGone: 53, probe: 54, nodeAuth: 56, nodeProof: 57,
  tableSync: 60, widenMask: 62, copyBegin: 510, copyItems: 511, copyAbort: 512, copyFinalise: 513, syncUpdate: 520, backupRelease: 530,
  subscribeUpdates: 540, logBatch: 541, auth: 33, stats: 32, getTable: 40, set: 2200, get: 2201, del: 2202, expire: 2204, mapDelete: 2213,
} as const;
const NODE_NUMBERS = [15, 50, 51, 52, 53, 54, 55, 56, 57, 60, 62, 510, 511, 512, 513, 520, 530, 540, 541, 542, 543];

let nodes: NodeProcess[] = [];
let admins: RawClient[] = [];
let incarnations: bigint[] = [];

function long(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt.asIntN(64, v), 0);
  return b;
}

/** A typed value: a string (type 3). */
function strValue(v: string): Buffer {
  return Buffer.concat([int(3), str(v)]);
}

function bucketOf(key: string): number {
  return fnv(key) & MASK;
}

async function adminRequest(i: number, command: number, payload?: Buffer): Promise<RawFrame> {
  const f = await admins[i]!.request(command, payload);
  assert.notEqual(f.command, 3, `admin command ${command} on node ${i} failed: ${f.payload.subarray(8).toString()}`);
  return f;
}

interface Snapshot {
  tables: string[];
  members: string[];
  items: number;
  values: string[];
}

async function snapshot(): Promise<Snapshot> {
  const tables: string[] = [];
  const members: string[] = [];
  let items = 0;
  const values: string[] = [];
  for (let i = 0; i < nodes.length; i++) {
    tables.push((await adminRequest(i, Cmd.getTable)).payload.toString('hex'));
    const stats = JSON.parse((await adminRequest(i, Cmd.stats)).payload.subarray(4).toString('utf8')) as Record<string, unknown>;
    members.push(JSON.stringify(stats['members']));
    items += Number(stats['items']);
  }
  // Every key read from its primary (a raw get answers tryelsewhere elsewhere).
  for (const key of [...KNOWN_KEYS.map((k) => ['', k] as const), [MAP_NAME, 'entry'] as const]) {
    const payload = Buffer.concat([str(key[0]), str(key[1]), int(0)]);
    const answers = await Promise.all(nodes.map((_n, i) => adminRequest(i, Cmd.get, payload)));
    values.push(answers.filter((f) => f.command === 5).map((f) => f.payload.toString('hex')).join('|'));
  }
  return { tables, members, items, values };
}

/** The two nodes agree on a balanced table with a backup for every bucket, and it holds still. */
async function settled(): Promise<boolean> {
  const a = await snapshot();
  if (a.tables[0] !== a.tables[1] || !a.members.every((m) => !m.includes('connecting'))) return false;
  const table = Buffer.from(a.tables[0]!, 'hex');
  let off = 8;
  const primaries = new Map<string, number>();
  for (let i = 0; i < table.readInt32BE(4); i++) {
    off += 8;
    const pLen = table.readInt32BE(off);
    const primary = table.subarray(off + 4, off + 4 + pLen).toString();
    off += 4 + pLen;
    const bLen = table.readInt32BE(off);
    off += 4 + bLen;
    if (bLen === 0) return false;
    primaries.set(primary, (primaries.get(primary) ?? 0) + 1);
  }
  if (primaries.size !== 2 || [...primaries.values()].some((n) => n !== 128)) return false;
  const b = await snapshot();
  return JSON.stringify(a) === JSON.stringify(b);
}

before(async () => {
  const usersFile = await makeUsersFile(makeTempDir('oc-trust-'), [ADMIN]);
  const args = ['--users-file', usersFile, '--heartbeat-ms', '200', '--dead-after-ms', '3000'];
  const first = await startNode({ args });
  const second = await startNode({ args, nodes: [first.addr] });
  nodes = [first, second];
  for (const n of nodes) {
    const c = await RawClient.connect(n.addr);
    assert.equal((await rawLogin(c, ADMIN.name, ADMIN.password)).command, ACK, 'admin logs in');
    admins.push(c);
  }
  for (const key of KNOWN_KEYS) {
    const payload = Buffer.concat([str(''), str(key), int(0), int(1), strValue(`value of ${key}`)]);
    await waitFor(`the set of ${key}`, async () => (await Promise.all(admins.map((c) => c.request(Cmd.set, payload)))).some((f) => f.command === ACK));
  }
  const entry = Buffer.concat([str(MAP_NAME), str('entry'), int(0), int(1), strValue('a map entry')]);
  await waitFor('the map entry', async () => (await Promise.all(admins.map((c) => c.request(Cmd.set, entry)))).some((f) => f.command === ACK));
  await waitFor('a balanced, settled two-node cluster', settled, 60_000, 300);
  for (let i = 0; i < nodes.length; i++) {
    const stats = JSON.parse((await adminRequest(i, Cmd.stats)).payload.subarray(4).toString('utf8')) as Record<string, unknown>;
    incarnations.push(BigInt(String(stats['incarnation'])));
  }
});

after(async () => {
  for (const c of admins) c.destroy();
  admins = [];
  await cleanup();
});

// ---- the generated frames ----

const anyBytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const addrArb = (): fc.Arbitrary<string> => fc.constantFrom(ATTACKER, ...nodes.map((n) => n.addr));
const incArb = (): fc.Arbitrary<bigint> => fc.oneof(fc.constantFrom(...incarnations), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }));
const bucketArb = (): fc.Arbitrary<number> => fc.oneof(fc.constantFrom(...KNOWN_KEYS.map(bucketOf), bucketOf(MAP_NAME)), fc.integer({ min: 0, max: MASK }));
const epochArb = fc.oneof(fc.constant(HUGE_EPOCH), fc.integer({ min: -5, max: 100 }), fc.integer());
const keyArb = fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.string({ maxLength: 8 }));

/** A payload for `command` that a node would take as well formed. */
function plausible(): fc.Arbitrary<[number, Buffer]> {
  const update = fc.tuple(fc.integer({ min: 1, max: 5 }), keyArb, fc.string({ maxLength: 10 })).map(([op, key, v]) =>
    Buffer.concat([int(op), str(''), str(key), long(0n), op === 1 ? strValue(v) : int(0)]));
  const item = fc.tuple(keyArb, fc.string({ maxLength: 10 })).map(([key, v]) => Buffer.concat([str(''), str(key), long(0n), strValue(v)]));
  return fc.oneof(
    fc.tuple(addrArb(), epochArb).map(([primary, epoch]): [number, Buffer] => {
      const entries = [];
      for (let h = 0; h <= MASK; h++) entries.push(Buffer.concat([int(h), int(epoch), str(primary), str('')]));
      return [Cmd.tableSync, Buffer.concat([int(MASK), int(MASK + 1), ...entries])];
    }),
    fc.tuple(addrArb(), incArb()).map(([a, inc]): [number, Buffer] => [Cmd.memberGone, Buffer.concat([str(a), long(inc)])]),
    fc.tuple(addrArb(), incArb(), addrArb(), incArb(), fc.integer({ min: 0, max: 9 })).map(([a, ai, b, bi, n]): [number, Buffer] =>
      [Cmd.probe, Buffer.concat([str(a), long(ai), str(b), long(bi), int(n)])]),
    fc.constantFrom(0x1ff, 0x3ff, 0xff, 0x7f).map((m): [number, Buffer] => [Cmd.widenMask, int(m)]),
    fc.tuple(bucketArb(), epochArb, fc.integer({ min: 0, max: 1 })).map(([h, e, role]): [number, Buffer] =>
      [Cmd.copyBegin, Buffer.concat([int(MASK), int(h), int(e), int(role)])]),
    fc.tuple(bucketArb(), fc.array(item, { maxLength: 3 })).map(([h, items]): [number, Buffer] =>
      [Cmd.copyItems, Buffer.concat([int(MASK), int(h), int(items.length), ...items])]),
    bucketArb().map((h): [number, Buffer] => [Cmd.copyAbort, Buffer.concat([int(MASK), int(h)])]),
    fc.tuple(bucketArb(), epochArb, addrArb(), addrArb()).map(([h, e, p, b]): [number, Buffer] =>
      [Cmd.copyFinalise, Buffer.concat([int(MASK), int(h), int(e), long(1n), str(p), str(b)])]),
    fc.tuple(bucketArb(), epochArb, fc.bigInt({ min: 0n, max: 1000n }), update).map(([h, e, seq, u]): [number, Buffer] =>
      [Cmd.syncUpdate, Buffer.concat([int(MASK), int(h), int(e), long(seq), u])]),
    fc.tuple(bucketArb(), epochArb, update).map(([h, e, u]): [number, Buffer] =>
      [Cmd.logBatch, Buffer.concat([int(1), int(MASK), int(h), int(e), long(1n), u])]),
    bucketArb().map((h): [number, Buffer] => [Cmd.backupRelease, Buffer.concat([int(MASK), int(h)])]),
    fc.constant<[number, Buffer]>([Cmd.subscribeUpdates, Buffer.alloc(0)]),
    addrArb().map((a): [number, Buffer] => [Cmd.shuttingDown, str(a)]),
    fc.tuple(addrArb(), incArb(), fc.integer({ min: 0, max: 1 })).map(([a, inc, role]): [number, Buffer] =>
      [Cmd.serverHello, Buffer.concat([str(a), long(inc), int(role)])]),
    fc.tuple(addrArb(), incArb(), fc.integer({ min: 0, max: 1 })).map(([a, inc, state]): [number, Buffer] =>
      [Cmd.members, Buffer.concat([int(1), str(a), long(inc), int(0), int(state)])]),
    fc.constant<[number, Buffer]>([Cmd.heartbeat, Buffer.concat([long(1n), int(0), int(0), int(0)])]),
    fc.tuple(addrArb(), incArb(), anyBytes(32)).map(([a, inc, nonce]): [number, Buffer] =>
      [Cmd.nodeAuth, Buffer.concat([str(a), long(inc), int(0), str(Buffer.concat([nonce, Buffer.alloc(32 - nonce.length)]))])]),
    anyBytes(32).map((mac): [number, Buffer] => [Cmd.nodeProof, str(Buffer.concat([mac, Buffer.alloc(32 - mac.length)]))]),
    fc.tuple(keyArb, fc.string({ maxLength: 10 })).map(([k, v]): [number, Buffer] => [Cmd.set, Buffer.concat([str(''), str(k), int(0), int(1), strValue(v)])]),
    keyArb.map((k): [number, Buffer] => [Cmd.del, Buffer.concat([str(''), str(k), int(0)])]),
    keyArb.map((k): [number, Buffer] => [Cmd.expire, Buffer.concat([str(''), str(k), int(1), int(0)])]),
    fc.constant<[number, Buffer]>([Cmd.mapDelete, Buffer.concat([str(MAP_NAME), int(0)])]),
    fc.tuple(keyArb, fc.integer()).map(([k, v]): [number, Buffer] =>
      [C.setInt, Buffer.concat([int(0), int(fnv(k)), int(0), int(0), str(k), int(v)])]),
  );
}

function frameArb(): fc.Arbitrary<Buffer> {
  const random: fc.Arbitrary<[number, Buffer]> = fc.tuple(
    fc.oneof(fc.constantFrom(...NODE_NUMBERS, Cmd.set, Cmd.del, Cmd.mapDelete, Cmd.expire, C.setInt, C.setString, Cmd.getTable, Cmd.stats), fc.integer({ min: 0, max: 0xffff })),
    anyBytes(64),
  );
  const login: fc.Arbitrary<[number, Buffer]> = fc.tuple(fc.constantFrom(ADMIN.name, 'root', ''), fc.string({ maxLength: 12 })).map(([u, p]) => [Cmd.auth, Buffer.concat([str(u), str(p)])]);
  const hello: fc.Arbitrary<[number, Buffer]> = fc.constantFrom<[number, Buffer]>([CLIENT_HELLO, clientHelloPayload()], [C.hello, Buffer.alloc(0)], [Cmd.goodbye, Buffer.alloc(0)]);
  return fc
    .tuple(fc.oneof({ arbitrary: plausible(), weight: 12 }, { arbitrary: random, weight: 6 }, { arbitrary: login, weight: 1 }, { arbitrary: hello, weight: 1 }), fc.integer({ min: 1, max: 0xffffffff }), fc.integer({ min: 0, max: 20 }))
    // Now and then a reply-to instead of 0 (frames that answer nothing are dropped).
    .map(([[command, payload], id, r]) => frame(command, r === 0 ? 1 : 0, id, payload));
}

/** Sends the frames, then a ping; waits for its answer or for the node to close the connection. */
async function sendAndDrain(target: number, frames: Buffer[]): Promise<void> {
  const c = await RawClient.connect(nodes[target]!.addr);
  try {
    const pingId = 0xfffffff0;
    c.send(Buffer.concat([...frames, frame(C.ping, 0, pingId)]));
    const done = c.next((f) => f.replyTo === C.ping && f.requestId === pingId, 15_000, 'the closing ping').then(
      () => 'answered',
      () => 'closed',
    );
    await Promise.race([done, c.closed]);
  } finally {
    c.destroy();
    await c.closed;
  }
}

test('frames from a connection that never logs in nor proves the secret change no membership, table or data', { timeout: TEST_TIMEOUT_MS }, async () => {
  const baseline = await snapshot();
  assert.equal(baseline.values.filter((v) => v !== '').length, KNOWN_KEYS.length + 1, 'every known key readable');
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 1 }), fc.array(frameArb(), { minLength: 1, maxLength: 30 }), async (target, frames) => {
      await sendAndDrain(target, frames);
      for (const n of nodes) assert.equal(n.proc.exitCode, null, `node ${n.addr} still runs`);
      const now = await snapshot();
      assert.deepEqual(now.tables, baseline.tables, 'get_table byte-identical');
      assert.deepEqual(now.members, baseline.members, 'members unchanged');
      assert.deepEqual(now.values, baseline.values, 'known keys unchanged');
      assert.equal(now.items, baseline.items, 'item count unchanged');
    }),
    { numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
  );
});
