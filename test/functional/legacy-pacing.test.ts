// Pushes to clients of the original protocol (hello, 10) are paced, one unacknowledged at a time:
// an imitation of the 2012 C client (1,024-byte reads, no frame split across reads) connects at
// the default mask, at 4,096 buckets and while the mask widens; a client that stops acking is closed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';
import { OriginalClient } from '../helpers/original-client.js';
import { inGoalState } from '../helpers/cluster.js';
import { C, fnv, getPayload, int, R, RawClient, setIntPayload } from '../helpers/raw.js';
import { Cmd } from '../../src/protocol/commands.js';

const TEST_TIMEOUT_MS = 60_000;
const clients: { destroy(): void }[] = [];

after(async () => {
  for (const c of clients) c.destroy();
  await cleanup();
});

async function original(addr: string): Promise<OriginalClient> {
  const c = await OriginalClient.connect(addr);
  clients.push(c);
  return c;
}

/** Legacy set_int then get_int of keys this node holds as primary (per the client's own table). */
async function roundTrips(c: OriginalClient, tag: string, count: number): Promise<number> {
  let done = 0;
  for (let i = 0; done < count && i < count * 50; i++) {
    const name = `${tag}-${i}`;
    if (c.levelOf(fnv(name)) !== 0) continue; // the original client sends it to the node holding it
    const value = i * 7919 - 100_000;
    const set = await c.request(C.setInt, setIntPayload(0, name, value));
    assert.deepEqual([set.command, set.replyTo], [R.ack, C.setInt], `set_int ${name} acked`);
    const got = await c.request(C.getInt, getPayload(0, fnv(name)));
    assert.equal(got.command, R.dataInt, `get_int ${name} answers data_int`);
    assert.ok(got.payload.equals(Buffer.concat([int(0), int(fnv(name)), int(value)])), `get_int ${name}: map hash, key hash, value`);
    done++;
  }
  return done;
}

async function connectAndCheck(node: NodeProcess, buckets: number): Promise<void> {
  const c = await original(node.addr);
  const ack = await c.hello();
  assert.deepEqual([ack.command, ack.replyTo], [R.ack, C.hello], 'hello acked');
  await c.until(`${buckets} hashmask pushes`, () => c.hashmasksSeen >= buckets);
  assert.deepEqual(c.faults, [], 'the original client never saw a frame split across reads');
  assert.equal(c.pushesOverlapping, 0, 'no push arrived while the one before was unacknowledged');
  assert.equal(c.mask, buckets - 1, 'the mask of the node');
  assert.equal(c.hashmasksSeen, buckets, 'one hashmask per bucket');
  assert.ok(c.levels.every((l) => l === 0), 'the only node is primary of every bucket');
  assert.equal(await roundTrips(c, `rt${buckets}`, 40), 40, 'legacy round trips');
  assert.deepEqual(c.faults, [], 'no fault during the round trips either');
}

test('an original client connects to a node of 256 buckets (the default mask): every hashmask, whole reads, round trips', { timeout: TEST_TIMEOUT_MS }, async () => {
  const node = await startNode();
  await connectAndCheck(node, 256);
});

test('an original client connects to a node of 4,096 buckets (--mask 0xfff)', { timeout: TEST_TIMEOUT_MS }, async () => {
  const node = await startNode({ args: ['--mask', '0xfff'] });
  await connectAndCheck(node, 4096);
});

test('an original client stays connected while a node joins and the mask widens: its table follows the node\'s', { timeout: TEST_TIMEOUT_MS }, async () => {
  const n1 = await startNode({ args: ['--mask', '0x3'] });
  const c = await original(n1.addr);
  await c.hello();
  await c.until('4 hashmask pushes', () => c.hashmasksSeen >= 4);
  const n2 = await startNode({ nodes: [n1.addr] });
  // The node's own table, once the cluster settled (mask widened to 8 buckets, balanced, each with a
  // backup, nothing moving: a bucket in a hand-over answers retryLater, which the round trips below
  // do not expect).
  const table = await waitFor(
    'the widened table settled, and the client was told all of it',
    async () => {
      const t = await tableOf(n1.addr);
      if (t.mask < 0x7 || t.entries.some((e) => e.backup === '' || e.primary === '')) return undefined;
      if (!(await inGoalState([n1.addr, n2.addr], t.mask + 1))) return undefined;
      const want = t.entries.map((e) => (e.primary === n1.addr ? 0 : e.backup === n1.addr ? 1 : -1));
      return c.mask === t.mask && want.every((l, b) => c.levels[b] === l) ? t : undefined;
    },
    30_000,
    200,
  );
  assert.ok(c.servers.has(n2.addr), 'server_info named the joining node');
  assert.deepEqual(c.faults, [], 'the original client never saw a frame split across reads');
  assert.equal(c.pushesOverlapping, 0, 'no push arrived while the one before was unacknowledged');
  assert.ok(table.entries.some((e) => e.primary === n1.addr), 'the first node is still primary of some buckets');
  assert.ok((await roundTrips(c, 'widened', 10)) === 10, 'legacy round trips after the widening');
});

test('a hello client that stops acking is closed after --push-ack-timeout-ms, with a log line naming it', { timeout: TEST_TIMEOUT_MS }, async () => {
  const node = await startNode({ args: ['--push-ack-timeout-ms', '300'] });
  const c = await RawClient.connect(node.addr);
  clients.push(c);
  const local = `${c.socket.localAddress}:${c.socket.localPort}`;
  c.sendFrame(C.hello, 0, 1);
  await c.next((f) => f.replyTo === C.hello, 5000, 'the ack to hello');
  const first = await c.next((f) => f.replyTo === 0, 5000, 'the first push');
  assert.equal(first.command, C.hashmask);
  // It never acks: the node writes no second push, and gives the connection up.
  assert.equal(await c.waitClosed(10_000), true, 'the node closed the connection');
  assert.equal(c.commandsSeen.length, 1, 'only one push was ever written unacknowledged');
  const line = await node.waitForLog((l) => l['why'] === 'ackTimeout');
  assert.equal(line['client'], local, 'the log line names the client');
  assert.equal(line['waiting'], 256, 'every push still owed is counted');
  // The node serves on.
  const rich = await RawClient.connect(node.addr);
  clients.push(rich);
  assert.equal((await rich.request(C.ping)).command, R.ack, 'the node serves on');
});

/** get_table (40) from a node: its mask and each bucket's primary and backup. */
async function tableOf(addr: string): Promise<{ mask: number; entries: { primary: string; backup: string }[] }> {
  const c = await RawClient.connect(addr);
  try {
    const f = await c.request(Cmd.getTable);
    assert.equal(f.command, 13, 'get_table answers table (13)');
    let off = 0;
    const readInt = (): number => {
      const v = f.payload.readInt32BE(off);
      off += 4;
      return v;
    };
    const readStr = (): string => {
      const n = readInt();
      const s = f.payload.subarray(off, off + n).toString('latin1');
      off += n;
      return s;
    };
    const mask = readInt();
    const count = readInt();
    const entries: { primary: string; backup: string }[] = [];
    for (let i = 0; i < count; i++) {
      const hash = readInt();
      readInt(); // epoch
      entries[hash] = { primary: readStr(), backup: readStr() };
    }
    return { mask, entries };
  } finally {
    c.destroy();
  }
}
