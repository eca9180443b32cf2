// A network partition, in network namespaces of our own: node A is cut off from B and C (and from
// a client beside them) while a client on each side writes. With --quorum majority (the default)
// the cut-off node declares no one dead and serves nothing, the majority takes A's buckets over,
// and after the cut heals no acknowledged write is lost. With --quorum off both sides go on, and
// the same check finds the cut-off side's acknowledged writes lost: what the quorum is there for.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { cleanup, startNode, waitFor, logTail, type NodeProcess } from '../helpers/nodes.js';
import { TestNet } from '../helpers/netns.js';
import { Agents } from '../helpers/agents.js';

const PORT = 13600;
// --insecure: the namespaces are this test's own network, reached by nothing else.
const NODE_ARGS = ['--dead-after-ms', '1500', '--heartbeat-ms', '100', '--insecure'];
/** Long enough for the majority to declare A dead (1.5 s) and take over, and for A to try to. */
const PARTITION_MS = 6000;
/** A's lease (half the dead-after time) has run out well before this after the cut. */
const LEASE_GONE_MS = 1500;
const WRITER_MAX_MS = 120_000;

const net = TestNet.create(['a', 'b', 'c', 'cl']);
const unavailable = typeof net === 'string' ? net : false;
const agents = typeof net === 'string' ? null : new Agents(net);

after(async () => {
  agents?.killAll();
  await cleanup();
  if (typeof net !== 'string') net.destroy();
});


interface Writer {
  acks: string[];
  stop(): Promise<{ tried: number; rejections: Record<string, number> }>;
  /** Ends it at once if it still runs (a failed test must not leave it writing into the next). */
  kill(): void;
}

function startWriter(host: string, seeds: string[], tag: string): Writer {
  const p = agents!.start(host, ['write', seeds.join(','), tag, String(WRITER_MAX_MS)]);
  const acks: string[] = [];
  let summary: { tried: number; rejections: Record<string, number> } | undefined;
  createInterface({ input: p.stdout! }).on('line', (line) => {
    if (line.startsWith('A ')) acks.push(line.slice(2));
    else if (line.startsWith('{')) summary = JSON.parse(line) as typeof summary;
  });
  const exited = new Promise<number | null>((resolve) => p.on('exit', resolve));
  return {
    acks,
    kill() {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    },
    async stop() {
      p.kill('SIGTERM');
      const code = await exited;
      assert.equal(code, 0, `writer ${tag} exits cleanly`);
      assert.ok(summary !== undefined, `writer ${tag} printed its summary`);
      return summary;
    },
  };
}

async function waitForGoal(addrs: string[], timeoutMs: number): Promise<void> {
  await waitFor(`goal state of ${addrs.join(', ')}`, async () => ((await agents!.json<{ goal: boolean }>('cl', ['goal', addrs.join(',')])).goal ? true : undefined), timeoutMs, 500);
}

const declaredDead = (n: NodeProcess): string[] => n.logs.filter((l) => l['msg'] === 'member declared dead').map((l) => String(l['peer']));

/** The node's log lines before it first rejoined as a new member (its first incarnation's). */
function firstIncarnation(n: NodeProcess): NodeProcess {
  const end = n.logs.findIndex((l) => String(l['msg']).startsWith('rejoining the cluster'));
  return { ...n, logs: end < 0 ? n.logs : n.logs.slice(0, end) };
}

/** A node's own serving and quorum flags, from its stats. */
interface Health {
  serving: boolean | null;
  quorum: boolean | null;
}

interface Outcome {
  /** The cut-off node's flags, asked from its own side while cut off. */
  health: Health;
  a: NodeProcess;
  b: NodeProcess;
  c: NodeProcess;
  cut: NodeProcess;
  acked: number;
  minorityAckedWhileCut: number;
  lostCount: number;
  lost: string[];
}

/**
 * Three nodes (a, b, c: a has the lowest address), a writer on each side; `cut` is cut off for
 * PARTITION_MS, then healed; every acknowledged write is read back.
 */
async function partitionCase(quorum: 'majority' | 'off', cut: 'a' | 'c'): Promise<Outcome> {
  const n = net as TestNet;
  const addr = (h: string): string => `${n.ip(h)}:${PORT}`;
  const args = [...NODE_ARGS, '--quorum', quorum];
  const a = await startNode({ netns: n.ns('a'), listen: addr('a'), args });
  const b = await startNode({ netns: n.ns('b'), listen: addr('b'), nodes: [addr('a')], args });
  await b.waitForLog((l) => l['msg'] === 'ready');
  const c = await startNode({ netns: n.ns('c'), listen: addr('c'), nodes: [addr('a')], args });
  await c.waitForLog((l) => l['msg'] === 'ready');
  const addrs = ['a', 'b', 'c'].map(addr);
  await waitForGoal(addrs, 30_000);

  const majority = startWriter('cl', addrs, 'maj');
  const minority = startWriter(cut, [addr(cut)], 'min');
  try {
    return await cutAndHeal({ n, quorum, cut, addr, addrs, majority, minority, nodes: { a, b, c } });
  } finally {
    majority.kill();
    minority.kill();
  }
}

/** A running three-node cluster with a writer on each side, ready to be cut. */
interface Setup {
  n: TestNet;
  quorum: 'majority' | 'off';
  cut: 'a' | 'c';
  addr: (h: string) => string;
  addrs: string[];
  majority: Writer;
  minority: Writer;
  nodes: { a: NodeProcess; b: NodeProcess; c: NodeProcess };
}

async function cutAndHeal({ n, quorum, cut, addr, addrs, majority, minority, nodes: { a, b, c } }: Setup): Promise<Outcome> {
  await waitFor('both writers acknowledged', () => (majority.acks.length >= 200 && minority.acks.length >= 200 ? true : undefined), 30_000);
  let minorityAckedWhileCut: number;
  let health: Health = { serving: null, quorum: null };
  n.cut(cut);
  try {
    await new Promise((r) => setTimeout(r, LEASE_GONE_MS));
    const minorityAtLeaseEnd = minority.acks.length;
    // Asked from its own side: what the cut-off node says of itself, once it judged the silence
    // (past the dead-after time; polled, bounded, as a loaded machine may judge later).
    const expectServing = quorum === 'off';
    const pollUntil = Date.now() + PARTITION_MS - LEASE_GONE_MS;
    do {
      await new Promise((r) => setTimeout(r, 250));
      health = await agents!.json<Health>(cut, ['health', addr(cut)]);
    } while (health.serving !== expectServing && Date.now() < pollUntil);
    await new Promise((r) => setTimeout(r, Math.max(0, pollUntil - Date.now())));
    minorityAckedWhileCut = minority.acks.length - minorityAtLeaseEnd;
  } finally {
    n.heal(cut);
  }
  const ackedAtHeal = minority.acks.length;
  await waitForGoal(addrs, 60_000);
  await waitFor('the cut-off side\'s writer acknowledged again after the heal', () => (minority.acks.length > ackedAtHeal ? true : undefined), 20_000);
  const [maj, min] = await Promise.all([majority.stop(), minority.stop()]);
  console.log(`# quorum ${quorum}: majority writer ${majority.acks.length} acked of ${maj.tried} ${JSON.stringify(maj.rejections)}; minority writer ${minority.acks.length} acked of ${min.tried} ${JSON.stringify(min.rejections)}, ${minorityAckedWhileCut} while cut off`);
  const keys = [...majority.acks, ...minority.acks];
  const read = await agents!.json<{ checked: number; lostCount: number; lost: string[] }>('cl', ['read', addrs.join(',')], `${keys.join('\n')}\n`);
  assert.equal(read.checked, keys.length, 'every acknowledged key was read back');
  console.log(`# quorum ${quorum}: ${read.lostCount} of ${keys.length} acknowledged writes lost`);
  return { a, b, c, cut: { a, c }[cut], acked: keys.length, minorityAckedWhileCut, lostCount: read.lostCount, lost: read.lost, health };
}

/** The outcome of a cut with a quorum: the cut-off node stopped, the majority went on, nothing lost. */
function assertMajorityWon(o: Outcome): void {
  const rest = [o.a, o.b, o.c].filter((n) => n !== o.cut);
  assert.equal(o.lostCount, 0, `${o.lostCount} of ${o.acked} acknowledged writes lost or wrong: ${o.lost.join(', ')}`);
  assert.equal(o.minorityAckedWhileCut, 0, 'the cut-off node acknowledged no write once its lease ran out');
  assert.deepEqual(o.health, { serving: false, quorum: false }, 'while cut off, its stats say it has no quorum and serves nothing');
  assert.ok(o.cut.logs.some((l) => String(l['msg']).startsWith('no quorum')), `the cut-off node noticed it has no quorum; last logs: ${logTail(o.cut)}`);
  assert.deepEqual(declaredDead(firstIncarnation(o.cut)), [], 'the cut-off node declared no one dead while cut off');
  const later = o.cut.logs.filter((l) => l['msg'] === 'member declared dead').map((l) => `${String(l['peer'])} (${String(l['why'])})`);
  if (later.length > 0) console.log(`# after rejoining, the once cut-off node declared dead: ${later.join(', ')}`);
  assert.ok(rest.flatMap(declaredDead).includes(o.cut.addr), 'the majority declared the cut-off node dead');
  assert.ok(o.cut.logs.some((l) => String(l['msg']).includes('rejoin')), 'the cut-off node rejoined as a new member after the heal');
  for (const n of rest) assert.ok(!n.logs.some((l) => String(l['msg']).includes('rejoining')), `${n.addr} of the majority kept its data (did not rejoin)`);
}

test('a partition with --quorum majority, the lowest address cut off: it stops, the majority takes over, no acknowledged write is lost', { skip: unavailable, timeout: 180_000 }, async () => {
  try {
    assertMajorityWon(await partitionCase('majority', 'a'));
  } finally {
    await cleanup();
  }
});

test('a partition with --quorum majority, the highest address cut off: the majority\'s probe after the heal makes the cut-off node rejoin, not the majority', { skip: unavailable, timeout: 180_000 }, async () => {
  try {
    assertMajorityWon(await partitionCase('majority', 'c'));
  } finally {
    await cleanup();
  }
});

test('a partition with --quorum off: both sides go on, and the cut-off side\'s acknowledged writes are lost when it heals', { skip: unavailable, timeout: 180_000 }, async () => {
  try {
    const o = await partitionCase('off', 'a');
    assert.ok(declaredDead(o.a).length > 0, 'the cut-off node declared the others dead and went on');
    assert.ok(o.minorityAckedWhileCut > 0, 'the cut-off node acknowledged writes while cut off');
    assert.deepEqual(o.health, { serving: true, quorum: true }, 'without a quorum rule, the cut-off node serves');
    assert.ok(o.lostCount > 0, `writes acknowledged by the cut-off side are lost on heal (${o.lostCount} of ${o.acked})`);
  } finally {
    await cleanup();
  }
});
