// Functional tests of the client against a real two- and three-node cluster: learning nodes from
// one seed, routing to each bucket's primary, and keeping every request answered through a node
// killed (SIGKILL) and a node leaving gracefully (SIGINT).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, type BucketChange } from '../../src/index.js';
import { cleanup, killNode, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';

after(cleanup);

const KEYS = 600;

function distinctPrimaries(c: Cluster): Set<string> {
  return new Set(c.bucketTable().primaries.filter((p) => p !== ''));
}

async function writeAll(c: Cluster, prefix: string): Promise<void> {
  await Promise.all(Array.from({ length: KEYS }, (_, i) => c.set(`${prefix}${i}`, i)));
}

async function readAll(c: Cluster, prefix: string): Promise<(number | null | string)[]> {
  return Promise.all(Array.from({ length: KEYS }, (_, i) => c.getInt(`${prefix}${i}`).catch((e: { code: string }) => e.code)));
}

function wrong(values: (number | null | string)[]): string[] {
  const out: string[] = [];
  values.forEach((v, i) => {
    if (v !== i) out.push(`${i}=${String(v)}`);
  });
  return out;
}

async function balancedPair(): Promise<{ a: NodeProcess; b: NodeProcess; c: Cluster; events: string[] }> {
  const a = await startNode();
  const b = await startNode({ nodes: [a.addr] });
  const c = new Cluster({ seeds: [a.addr], requestTimeoutMs: 15_000 });
  const events: string[] = [];
  c.on('nodeAdded', (x) => events.push(`added ${x}`));
  c.on('nodeRemoved', (x) => events.push(`removed ${x}`));
  c.on('nodeLeaving', (x) => events.push(`leaving ${x}`));
  await c.connect();
  await waitFor('the client to learn both nodes', () => (c.nodes().length === 2 ? true : undefined), 15_000);
  await waitFor('buckets on both nodes', () => (distinctPrimaries(c).size === 2 ? true : undefined), 20_000);
  return { a, b, c, events };
}

test('one seed is enough: the client learns every node and routes each bucket to its primary', async () => {
  const { a, b, c, events } = await balancedPair();
  const changes: BucketChange[] = [];
  c.on('bucketMapChanged', (ch) => changes.push(ch));
  try {
    assert.deepEqual(new Set(c.nodes()), new Set([a.addr, b.addr]));
    assert.deepEqual(events.slice(0, 2), [`added ${a.addr}`, `added ${b.addr}`]);
    await writeAll(c, 'route-');
    assert.deepEqual(wrong(await readAll(c, 'route-')), []);
    const stats = await c.stats();
    assert.deepEqual(new Set(stats.map((s) => s.addr)), new Set([a.addr, b.addr]));
    const a2 = new Cluster({ seeds: [b.addr] });
    try {
      await a2.connect();
      assert.equal(await a2.getInt('route-17'), 17, 'a second client seeded with the other node sees the same data');
    } finally {
      await a2.close();
    }
    for (const ch of changes) assert.ok([a.addr, b.addr].includes(ch.primary), `change names ${ch.primary}`);
  } finally {
    await c.close();
    await killNode(b);
    await killNode(a);
  }
});

test('a node killed with SIGKILL: every read still succeeds and the node is reported removed', async () => {
  const { a, b, c, events } = await balancedPair();
  try {
    await writeAll(c, 'kill-');
    await killNode(b, 'SIGKILL');
    assert.deepEqual(wrong(await readAll(c, 'kill-')), []);
    await waitFor('the table to name only the survivor', () => {
      const p = distinctPrimaries(c);
      return p.size === 1 && p.has(a.addr) ? true : undefined;
    });
    await waitFor('nodeRemoved', () => (events.includes(`removed ${b.addr}`) ? true : undefined));
    assert.deepEqual(c.nodes(), [a.addr]);
    await c.set('kill-after', 'still writable');
    assert.equal(await c.getString('kill-after'), 'still writable');
  } finally {
    await c.close();
    await killNode(a);
  }
});

test('a node leaving with SIGINT: reads and writes during the hand-over all succeed', async () => {
  const { a, b, c, events } = await balancedPair();
  try {
    await writeAll(c, 'leave-');
    b.signal('SIGINT');
    // Keep traffic flowing while the node hands its buckets over.
    const during = await Promise.all([readAll(c, 'leave-'), writeAll(c, 'leave2-').then(() => readAll(c, 'leave2-'))]);
    assert.deepEqual(wrong(during[0]), []);
    assert.deepEqual(wrong(during[1]), []);
    assert.equal(await b.exited, 0);
    assert.deepEqual(wrong(await readAll(c, 'leave-')), []);
    assert.ok(events.includes(`leaving ${b.addr}`), `events: ${events.join(', ')}`);
    await waitFor('the table to name only the survivor', () => {
      const p = distinctPrimaries(c);
      return p.size === 1 && p.has(a.addr) ? true : undefined;
    });
  } finally {
    await c.close();
    await killNode(a);
  }
});
