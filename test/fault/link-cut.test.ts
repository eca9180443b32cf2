// A cut of the single link between two nodes, in network namespaces of our own (issue 10): both
// still hear the third node (and the client), for LINK_CUT_MS, while eight full-wait writers on a
// client host write keys across every bucket; then the link heals. For each pair, on a fresh
// cluster: the cluster is balanced again, no node process died, and no acknowledged write is lost.
import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { cleanup, startNode, waitFor, logTail, type NodeProcess } from '../helpers/nodes.js';
import { TestNet } from '../helpers/netns.js';
import { Agents } from '../helpers/agents.js';

const PORT = 13600;
// --insecure: the namespaces are this test's own network, reached by nothing else.
const NODE_ARGS = ['--dead-after-ms', '1500', '--heartbeat-ms', '100', '--insecure'];
/** The cut of issue 10: far past the dead-after time, so each side of it has judged the other. */
const LINK_CUT_MS = 10_000;
const WRITER_LOOPS = 8;
/** How long a connection across the cut is given to open (it must not). */
const REACH_MS = 3000;
/** Acknowledged writes before the cut: the writers reach every primary. */
const ACKS_BEFORE_CUT = 500;
const GOAL_BEFORE_MS = 30_000;
const GOAL_AFTER_MS = 45_000;
const WRITER_MAX_MS = 120_000;
const WRITER_STOP_MS = 20_000;

const HOSTS = ['a', 'b', 'c'] as const;
type Host = (typeof HOSTS)[number];

const net = TestNet.create([...HOSTS, 'cl']);
const unavailable = typeof net === 'string' ? net : false;
const agents = typeof net === 'string' ? null : new Agents(net);

after(async () => {
  agents?.killAll();
  await cleanup();
  if (typeof net !== 'string') net.destroy();
});


interface WriterSummary {
  tried: number;
  rejections: Record<string, number>;
}

interface Writer {
  /** Every acknowledged write so far, in order. */
  acked(): number;
  /** The last acknowledged version of each key. */
  lastAcked: Map<string, number>;
  /** When this process heard of each key's last acknowledgement (Date.now()). */
  ackedAtMs: Map<string, number>;
  stop(): Promise<WriterSummary>;
  /** Ends it at once if it still runs (a failed test must not leave it writing into the next). */
  kill(): void;
}

function startWriter(host: string, seeds: string[], tag: string): Writer {
  const p = agents!.start(host, ['write2', seeds.join(','), tag, String(WRITER_MAX_MS), String(WRITER_LOOPS)]);
  const lastAcked = new Map<string, number>();
  const ackedAtMs = new Map<string, number>();
  let acked = 0;
  let summary: WriterSummary | undefined;
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  createInterface({ input: p.stdout! }).on('line', (line) => {
    if (line.startsWith('A ')) {
      const [key, version] = line.slice(2).split(' ');
      acked++;
      lastAcked.set(key!, Math.max(lastAcked.get(key!) ?? 0, Number(version)));
      ackedAtMs.set(key!, Date.now());
    } else if (line.startsWith('{')) summary = JSON.parse(line) as WriterSummary;
  });
  const exited = new Promise<number | null>((resolve) => p.on('exit', resolve));
  return {
    acked: () => acked,
    lastAcked,
    ackedAtMs,
    kill() {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    },
    async stop() {
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), WRITER_STOP_MS); // its close is bounded too
      const code = await exited;
      clearTimeout(timer);
      assert.equal(code, 0, `writer ${tag} exits cleanly: ${err}`);
      assert.ok(summary !== undefined, `writer ${tag} printed its summary`);
      return summary;
    },
  };
}

async function inGoal(addrs: string[]): Promise<boolean> {
  return (await agents!.json<{ goal: boolean }>('cl', ['goal', addrs.join(',')])).goal;
}

const declaredDead = (n: NodeProcess): string[] =>
  n.logs.filter((l) => l['msg'] === 'member declared dead').map((l) => `${String(l['peer'])} (${String(l['why'])})`);
const rejoined = (n: NodeProcess): boolean => n.logs.some((l) => String(l['msg']).startsWith('rejoining the cluster'));
const alive = (n: NodeProcess): boolean => n.proc.exitCode === null && n.proc.signalCode === null;

/** Three fresh nodes, balanced; the link x-y is cut for LINK_CUT_MS while a client writes; then healed. */
async function linkCutCase(t: TestContext, x: Host, y: Host): Promise<void> {
  const n = net as TestNet;
  const addr = (h: string): string => `${n.ip(h)}:${PORT}`;
  const a = await startNode({ netns: n.ns('a'), listen: addr('a'), args: NODE_ARGS });
  const b = await startNode({ netns: n.ns('b'), listen: addr('b'), nodes: [addr('a')], args: NODE_ARGS });
  await b.waitForLog((l) => l['msg'] === 'ready');
  const c = await startNode({ netns: n.ns('c'), listen: addr('c'), nodes: [addr('a')], args: NODE_ARGS });
  await c.waitForLog((l) => l['msg'] === 'ready');
  const nodes: Record<Host, NodeProcess> = { a, b, c };
  const addrs = HOSTS.map(addr);
  await waitFor('goal state before the cut', async () => ((await inGoal(addrs)) ? true : undefined), GOAL_BEFORE_MS, 500);

  const writer = startWriter('cl', addrs, `cut-${x}${y}`);
  let balancedAgain = false;
  let cutAtMs = 0;
  let healedAtMs = 0;
  let summary: WriterSummary;
  try {
    await waitFor('the writers acknowledged', () => (writer.acked() >= ACKS_BEFORE_CUT ? true : undefined), 30_000);
    const ackedBeforeCut = writer.acked();
    cutAtMs = Date.now();
    n.cutLink(x, y);
    try {
      // The cut is real and only the one link's: silence between x and y, while x reaches the third.
      const z = HOSTS.find((h) => h !== x && h !== y)!;
      const [xy, yx, xz] = await Promise.all([
        agents!.json<{ outcome: string }>(x, ['reach', addr(y), String(REACH_MS)]),
        agents!.json<{ outcome: string }>(y, ['reach', addr(x), String(REACH_MS)]),
        agents!.json<{ outcome: string }>(x, ['reach', addr(z), String(REACH_MS)]),
      ]);
      assert.deepEqual([xy.outcome, yx.outcome, xz.outcome], ['timeout', 'timeout', 'connected'], `while cut: ${x}->${y}, ${y}->${x} time out, ${x}->${z} connects`);
      // The cut lasts its time whatever happens meanwhile; a node dying shows after the heal.
      await new Promise((r) => setTimeout(r, Math.max(0, cutAtMs + LINK_CUT_MS - Date.now())));
    } finally {
      n.healLink(x, y);
      healedAtMs = Date.now();
    }
    const ackedAtHeal = writer.acked();
    t.diagnostic(`link ${x}-${y}: ${ackedAtHeal - ackedBeforeCut} writes acknowledged during the ${LINK_CUT_MS} ms cut`);
    // Balanced again (every bucket a primary and a backup), writers still running. Waited for
    // within a bound; a cluster that stays split is reported after the read-back, not instead of it.
    balancedAgain = await waitFor('goal state after the heal', async () => ((await inGoal(addrs)) ? true : undefined), GOAL_AFTER_MS, 500).then(
      () => true,
      () => false,
    );
    summary = await writer.stop();
  } finally {
    writer.kill();
  }

  const expected = [...writer.lastAcked].map(([key, version]) => `${key} ${version}`);
  const read = await agents!.json<{ checked: number; lostCount: number; lost: string[]; lostKeys: string[]; unreadableCount: number; unreadable: string[] }>(
    'cl',
    ['read2', addrs.join(',')],
    `${expected.join('\n')}\n`,
  );
  const failed = Object.values(summary.rejections).reduce((s, k) => s + k, 0);
  t.diagnostic(
    `link ${x}-${y}: acknowledged ${writer.acked()} writes (${writer.lastAcked.size} keys), failed ${failed} ${JSON.stringify(summary.rejections)}, ` +
      `lost ${read.lostCount} keys, unreadable ${read.unreadableCount}`,
  );
  for (const h of HOSTS) {
    const dead = declaredDead(nodes[h]);
    t.diagnostic(`node ${h} (${nodes[h].addr}) declared dead: ${dead.length === 0 ? 'none' : dead.join(', ')}${rejoined(nodes[h]) ? '; it rejoined as a new member' : ''}`);
  }
  if (read.lostCount > 0) {
    t.diagnostic(`lost (first ten): ${read.lost.join(', ')}`);
    // When they were acknowledged, as this process heard it (the writer's pipe adds a little).
    const at = read.lostKeys.map((k) => writer.ackedAtMs.get(k) ?? Number.NaN).sort((p, q) => p - q);
    const rel = (ms: number): string => `cut+${ms - cutAtMs} ms (heal${ms >= healedAtMs ? '+' : ''}${ms - healedAtMs} ms)`;
    t.diagnostic(`lost keys acknowledged between ${rel(at[0]!)} and ${rel(at[at.length - 1]!)}; the cut lasted ${healedAtMs - cutAtMs} ms`);
  }

  for (const h of HOSTS) assert.ok(alive(nodes[h]), `node ${h} is still running; last logs: ${logTail(nodes[h])}`);
  assert.equal(read.checked, writer.lastAcked.size, 'every acknowledged key was read back');
  assert.equal(read.lostCount, 0, `${read.lostCount} of ${writer.lastAcked.size} acknowledged keys lost or older than acknowledged: ${read.lost.join(', ')}`);
  assert.equal(read.unreadableCount, 0, `acknowledged keys that could not be read: ${read.unreadable.join(', ')}`);
  assert.ok(balancedAgain, `the cluster is balanced again within ${GOAL_AFTER_MS} ms of the heal`);
}

for (const [x, y] of [['a', 'b'], ['a', 'c'], ['b', 'c']] as const) {
  test(`the link ${x}-${y} cut for ${LINK_CUT_MS / 1000} s while both hear the third node, then healed: balanced again, no node died, no acknowledged write lost`, { skip: unavailable, timeout: 150_000 }, async (t) => {
    try {
      await linkCutCase(t, x, y);
    } finally {
      await cleanup();
    }
  });
}
