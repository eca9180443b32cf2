// The client never sends a frame the node would refuse: an item over the frame limit is rejected
// locally (BAD_REQUEST), and the connection keeps serving the other requests.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError } from '../../src/index.js';
import { cleanup, startNode } from '../helpers/nodes.js';

after(cleanup);

test('an item over the frame limit is refused locally and poisons nothing', async () => {
  const node = await startNode();
  const c = new Cluster({ seeds: [node.addr] });
  await c.connect();
  try {
    const small = Array.from({ length: 50 }, (_, i) => c.set(`small-${i}`, i));
    const big = c.set('too-big', Buffer.alloc(17 * 1024 * 1024));
    await assert.rejects(big, (e: unknown) => e instanceof ClusterError && e.code === 'BAD_REQUEST');
    await Promise.all(small);
    for (let i = 0; i < 50; i++) assert.equal(await c.get(`small-${i}`), i);
    const reconnects = node.logs.filter((l) => String(l['msg']).includes('closed on error')).length;
    assert.equal(reconnects, 0, 'the node never had to drop the connection');
  } finally {
    await c.close();
  }
});

test('a node with a smaller frame limit than the client\'s: an item over it is refused, nothing else fails', async () => {
  const node = await startNode({ args: ['--max-frame-bytes', String(1024 * 1024)] });
  const c = new Cluster({ seeds: [node.addr] });
  await c.connect();
  try {
    const caps = await c.capabilities();
    assert.ok(caps.includes(`max_frame_bytes=${1024 * 1024}`), `the node announces its limit: ${caps.join(', ')}`);
    const small = Array.from({ length: 50 }, (_, i) => c.set(`small-${i}`, i));
    await assert.rejects(c.set('two-mib', Buffer.alloc(2 * 1024 * 1024)), (e: unknown) => e instanceof ClusterError && e.code === 'BAD_REQUEST');
    await Promise.all(small);
    for (let i = 0; i < 50; i++) assert.equal(await c.get(`small-${i}`), i);
    assert.equal(node.logs.filter((l) => String(l['msg']).includes('closed on error')).length, 0, 'no connection was dropped');
  } finally {
    await c.close();
  }
});
