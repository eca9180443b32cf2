// Graceful shutdown against real nodes: SIGINT to nodes one after another and at the same time
// while a client writes with full wait (nothing acknowledged lost, no failed request), and the exit
// with clients connected (exit 0; rich clients get goodbye, legacy clients see the connection close).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError } from '../../src/index.js';
import { backupsOutOfStep, cleanup, startNode, waitFor, exitCodeOf, logTail } from '../helpers/nodes.js';
import { startCluster, waitForGoalState } from '../helpers/cluster.js';
import { C, R, RawClient, int } from '../helpers/raw.js';

after(cleanup);

const TEST_TIMEOUT_MS = 180_000;
/** Bound on one node's graceful exit after SIGINT. */
const EXIT_WAIT_MS = 60_000;
const WRITERS = 10;
const KEYS_MAX = 1_000_000;

/** Ten writers of unique keys; every acknowledged key/value and every rejection (by code) recorded. */
class Writers {
  readonly acked = new Map<string, string>();
  readonly rejections = new Map<string, number>();
  readonly firstRejections: string[] = [];
  private next = 0;
  private stopped = false;
  private readonly running: Promise<void>[];

  constructor(
    private readonly c: Cluster,
    private readonly tag: string,
  ) {
    this.running = Array.from({ length: WRITERS }, () => this.loop());
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.next < KEYS_MAX) {
      const i = this.next++;
      const key = `${this.tag}-${i}`;
      const value = `value-${i}-${'x'.repeat(i % 50)}`;
      try {
        await this.c.set(key, value);
        this.acked.set(key, value);
      } catch (e) {
        const code = e instanceof ClusterError ? e.code : `OTHER(${String(e)})`;
        this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
        if (this.firstRejections.length < 5) this.firstRejections.push(`${key}: ${code}: ${(e as Error).message}`);
      }
    }
  }

  /** Waits until at least `n` more writes were acknowledged (bounded). */
  async progress(n: number, what: string): Promise<void> {
    const target = this.acked.size + n;
    await waitFor(`${n} more acknowledged writes ${what}`, () => (this.acked.size >= target ? true : undefined), 30_000, 20);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  describeRejections(): string {
    return `${JSON.stringify([...this.rejections])} first: ${this.firstRejections.join(' | ')}`;
  }
}

/** Reads every acknowledged key through a fresh client seeded with the survivor only; returns the keys lost or wrong. */
async function lostWrites(survivor: string, acked: Map<string, string>): Promise<string[]> {
  const c = new Cluster({ seeds: [survivor], requestTimeoutMs: 10_000 });
  await c.connect();
  try {
    const entries = [...acked];
    const lost: string[] = [];
    let next = 0;
    const reader = async (): Promise<void> => {
      while (next < entries.length) {
        const [key, value] = entries[next++]!;
        const got = await c.get(key);
        if (got !== value) lost.push(`${key}=${String(got)}`);
      }
    };
    await Promise.all(Array.from({ length: 20 }, reader));
    return lost;
  } finally {
    await c.close();
  }
}

test('SIGINT to two of three nodes, one after the other: every acknowledged write is readable, no request failed', { timeout: TEST_TIMEOUT_MS }, async () => {
  const nodes = await startCluster(3);
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  const c = new Cluster({ seeds: addrs, requestTimeoutMs: 10_000 });
  await c.connect();
  const w = new Writers(c, 'seq');
  try {
    await w.progress(2000, 'before the first SIGINT');
    nodes[0]!.signal('SIGINT');
    assert.equal(await exitCodeOf(nodes[0]!, EXIT_WAIT_MS), 0, `first node's exit; last logs: ${logTail(nodes[0]!)}`);
    await w.progress(2000, 'between the two SIGINTs');
    nodes[1]!.signal('SIGINT');
    assert.equal(await exitCodeOf(nodes[1]!, EXIT_WAIT_MS), 0, `second node's exit; last logs: ${logTail(nodes[1]!)}`);
    await w.progress(2000, 'after the second node left');
    await w.stop();
    assert.deepEqual([...w.rejections], [], `the client saw failed requests: ${w.describeRejections()}`);
    assert.deepEqual(backupsOutOfStep(nodes), [], 'no backup missed an update during the planned stops');
    const lost = await lostWrites(addrs[2]!, w.acked);
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${w.acked.size} acknowledged writes lost or wrong`);
  } finally {
    await w.stop();
    await c.close();
  }
});

test('SIGINT to two of three nodes at the same time: nothing acknowledged is lost, both exit 0', { timeout: TEST_TIMEOUT_MS }, async () => {
  const nodes = await startCluster(3);
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  const c = new Cluster({ seeds: addrs, requestTimeoutMs: 10_000 });
  await c.connect();
  const w = new Writers(c, 'both');
  try {
    await w.progress(2000, 'before the SIGINTs');
    nodes[1]!.signal('SIGINT');
    nodes[2]!.signal('SIGINT');
    const [code1, code2] = await Promise.all([exitCodeOf(nodes[1]!, EXIT_WAIT_MS), exitCodeOf(nodes[2]!, EXIT_WAIT_MS)]);
    assert.equal(code1, 0, `node 2's exit; last logs: ${logTail(nodes[1]!)}`);
    assert.equal(code2, 0, `node 3's exit; last logs: ${logTail(nodes[2]!)}`);
    await w.progress(2000, 'after both left');
    await w.stop();
    const lost = await lostWrites(addrs[0]!, w.acked);
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${w.acked.size} acknowledged writes lost or wrong (rejections: ${w.describeRejections()})`);
    // Reported, not asserted here: the brief for this case asks for no loss only.
    if (w.rejections.size > 0) console.log(`# simultaneous SIGINT: rejections ${w.describeRejections()}`);
  } finally {
    await w.stop();
    await c.close();
  }
});

/** A raw client that said client_hello (11) with the given features, pushes acked as they come. */
async function richRaw(addr: string, features: number): Promise<RawClient> {
  const raw = await RawClient.connect(addr);
  const ack = await raw.request(11, Buffer.concat([int(1), int(features)]));
  assert.equal(ack.command, R.ack, 'client_hello answered ack');
  void autoAck(raw);
  return raw;
}

/** Acks every push the node sends, until the connection closes (each wait bounded). */
async function autoAck(raw: RawClient): Promise<void> {
  for (let i = 0; i < 100_000 && !raw.isClosed; i++) {
    const f = await raw.next((q) => q.replyTo === 0, 120_000, 'a push').catch(() => null);
    if (f === null) return;
    raw.sendFrame(R.ack, f.command, f.requestId);
  }
}

test('SIGINT with clients connected: exit 0, rich clients get goodbye, legacy clients see the connection close', { timeout: TEST_TIMEOUT_MS }, async () => {
  const [n1, n2] = await startCluster(2);
  await waitForGoalState([n1!.addr, n2!.addr]);
  const node = n2!;
  // A Cluster client on both nodes, with traffic.
  const c = new Cluster({ seeds: [node.addr], requestTimeoutMs: 10_000 });
  const leaving: string[] = [];
  const removed: string[] = [];
  c.on('nodeLeaving', (a: string) => leaving.push(a));
  c.on('nodeRemoved', (a: string) => removed.push(a));
  await c.connect();
  await waitFor('the client knows both nodes', () => (c.nodes().length === 2 ? true : undefined), 10_000);
  for (let i = 0; i < 200; i++) await c.set(`conn-${i}`, i);
  // A legacy client (hello 10), acking every push.
  const legacy = await RawClient.connect(node.addr);
  const hello = await legacy.request(C.hello);
  assert.equal(hello.command, R.ack, 'hello answered ack');
  void autoAck(legacy);
  // A raw rich client that announced rich pushes and the goodbye push.
  const rich = await richRaw(node.addr, 1 | 2);
  try {
    node.signal('SIGINT');
    assert.equal(await exitCodeOf(node, EXIT_WAIT_MS), 0, `exit after SIGINT; last logs: ${logTail(node)}`);
    assert.ok(node.logs.some((l) => l['msg'] === 'shutdown complete'), 'the node logged its shutdown as complete');
    assert.equal(await legacy.waitClosed(5000), true, 'the legacy connection is closed');
    const legacyCommands = [...new Set(legacy.commandsSeen.map((f) => f.command))];
    assert.deepEqual(legacyCommands.filter((cmd) => cmd !== C.serverInfo && cmd !== C.hashmask), [], 'a legacy client gets only server_info and hashmask pushes');
    assert.equal(await rich.waitClosed(5000), true, 'the rich raw connection is closed');
    const richCommands = rich.commandsSeen.map((f) => f.command);
    assert.ok(richCommands.includes(C.goodbye), `the rich raw client got goodbye (20) before the close; pushes seen: ${richCommands.join(',')}`);
    assert.ok(richCommands.includes(115), `the rich raw client got server_leaving (115); pushes seen: ${richCommands.join(',')}`);
    assert.ok(leaving.includes(node.addr) || removed.includes(node.addr), `the Cluster client emitted nodeLeaving or nodeRemoved for ${node.addr} (leaving ${leaving}, removed ${removed})`);
    // The client goes on with the node that stays.
    for (let i = 0; i < 200; i++) assert.equal(await c.get(`conn-${i}`), i, `conn-${i} after the node left`);
  } finally {
    legacy.destroy();
    rich.destroy();
    await c.close();
  }
});

test('SIGINT to the only node with a client connected: exit 0 and the client is told', { timeout: TEST_TIMEOUT_MS }, async () => {
  const node = await startNode();
  const c = new Cluster({ seeds: [node.addr], requestTimeoutMs: 5000 });
  const told: string[] = [];
  c.on('nodeLeaving', (a: string) => told.push(`leaving ${a}`));
  c.on('nodeRemoved', (a: string) => told.push(`removed ${a}`));
  await c.connect();
  await c.set('alone', 'yes');
  const legacy = await RawClient.connect(node.addr);
  assert.equal((await legacy.request(C.hello)).command, R.ack);
  void autoAck(legacy);
  try {
    node.signal('SIGINT');
    assert.equal(await exitCodeOf(node, EXIT_WAIT_MS), 0, `exit after SIGINT; last logs: ${logTail(node)}`);
    assert.equal(await legacy.waitClosed(5000), true, 'the legacy connection is closed');
    assert.ok(told.length > 0, 'the Cluster client emitted nodeLeaving or nodeRemoved');
  } finally {
    legacy.destroy();
    await c.close();
  }
});
