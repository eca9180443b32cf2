// The client through a node's restart on the same address (kill -9, and SIGINT): a loop of set+get
// with the client's default deadline keeps succeeding, and every get returns the value just set.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError } from '../../src/index.js';
import { backupsOutOfStep, cleanup, exitCodeOf, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';
import { startCluster, waitForGoalState } from '../helpers/cluster.js';

after(cleanup);

const LOOPS = 4;
/** Bound on the set+get pairs of one test, all loops together. */
const PAIRS_MAX = 40_000;
/** Pairs run after the restarted node is listening again. */
const PAIRS_AFTER_RESTART = 2000;
const EXIT_WAIT_MS = 60_000;

/** A few loops of set then get of the same key, counting rejections by code and wrong reads. */
class SetGetLoop {
  pairs = 0;
  readonly rejections = new Map<string, number>();
  readonly firstProblems: string[] = [];
  wrongReads = 0;
  private stopped = false;
  private readonly running: Promise<void>[];

  constructor(
    private readonly c: Cluster,
    private readonly tag: string,
  ) {
    this.running = Array.from({ length: LOOPS }, (_, loop) => this.loop(loop));
  }

  private note(problem: string): void {
    if (this.firstProblems.length < 8) this.firstProblems.push(problem);
  }

  private async loop(loop: number): Promise<void> {
    for (let i = 0; !this.stopped && this.pairs < PAIRS_MAX; i++) {
      this.pairs++;
      const key = `${this.tag}-${loop}-${i % 500}`;
      const value = `${this.tag}-${loop}-${i}`;
      try {
        await this.c.set(key, value);
        const got = await this.c.get(key);
        if (got !== value) {
          this.wrongReads++;
          this.note(`${key}: got ${String(got)}, want ${value}`);
        }
      } catch (e) {
        const code = e instanceof ClusterError ? e.code : 'OTHER';
        this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
        this.note(`${key}: ${code}: ${(e as Error).message}`);
      }
    }
  }

  /** Bounded wait until `n` more pairs ran. */
  async progress(n: number): Promise<void> {
    const target = Math.min(PAIRS_MAX, this.pairs + n);
    const deadline = Date.now() + 60_000;
    while (this.pairs < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  report(): string {
    return `${this.pairs} pairs, rejections ${JSON.stringify([...this.rejections])}, wrong reads ${this.wrongReads}; first: ${this.firstProblems.join(' | ')}`;
  }
}

async function restartCase(tag: string, stop: (n: NodeProcess) => Promise<void>, planned: boolean): Promise<void> {
  const nodes = await startCluster(3);
  const addrs = nodes.map((n) => n.addr);
  await waitForGoalState(addrs);
  const c = new Cluster({ seeds: addrs }); // the default deadline
  await c.connect();
  const loop = new SetGetLoop(c, tag);
  try {
    await loop.progress(1000);
    const victim = nodes[1]!;
    await stop(victim);
    const back = await startNode({ listen: victim.addr, nodes: [addrs[0]!] });
    assert.equal(back.addr, victim.addr, 'the node came back on its old address');
    await loop.progress(PAIRS_AFTER_RESTART);
    await loop.stop();
    console.log(`# ${tag}: ${loop.report()}`);
    assert.ok(loop.pairs >= 1000 + PAIRS_AFTER_RESTART || loop.rejections.size > 0, `the loop made progress: ${loop.report()}`);
    assert.deepEqual([...loop.rejections], [], `requests failed: ${loop.report()}`);
    assert.equal(loop.wrongReads, 0, `gets returned another value than the one just set: ${loop.report()}`);
    await waitForGoalState(addrs, 60_000);
    // A graceful stop and a rejoin are planned: no backup may miss an update (a kill may).
    if (planned) assert.deepEqual(backupsOutOfStep([...nodes, back]), [], 'no backup missed an update');
  } finally {
    await loop.stop();
    await c.close();
  }
}

test('the client survives kill -9 and restart of a node on the same address', { timeout: 180_000 }, async () => {
  await restartCase('kill9', async (n) => {
    n.signal('SIGKILL');
    await n.exited;
  }, false);
});

test('the client survives a graceful stop (SIGINT) and restart of a node on the same address', { timeout: 180_000 }, async () => {
  await restartCase('sigint', async (n) => {
    n.signal('SIGINT');
    assert.equal(await exitCodeOf(n, EXIT_WAIT_MS), 0, 'the node exits 0 after SIGINT');
  }, true);
});

test('a get in flight when its node is killed waits through reconnects that fail until the node answers again', { timeout: 120_000 }, async () => {
  const node = await startNode();
  let linkDowns = 0;
  const countDowns = (_: object, msg?: string): void => {
    if (msg === 'link down') linkDowns++;
  };
  const logger = { debug: countDowns, info: () => undefined, warn: () => undefined, error: () => undefined };
  const c = new Cluster({ seeds: [node.addr], requestTimeoutMs: 60_000, logger });
  await c.connect();
  let back: NodeProcess | null = null;
  try {
    await c.set('in-flight', 'v');
    node.signal('SIGSTOP'); // the get is written on the connection and stays unanswered
    const got = c.get('in-flight');
    node.signal('SIGKILL');
    await node.exited;
    // Its successor listens but answers nothing yet: the kernel accepts each reconnect, and the
    // handshake times out with the get queued behind it, never written.
    back = await startNode({ listen: node.addr });
    back.signal('SIGSTOP');
    const downsBefore = linkDowns;
    await waitFor('four reconnects that time out', () => (linkDowns >= downsBefore + 4 ? true : undefined), 60_000, 20);
    back.signal('SIGCONT');
    // A node killed alone kept nothing: the get finds no item, and does not fail.
    assert.equal(await got, null);
  } finally {
    back?.signal('SIGCONT');
    await c.close();
  }
});
