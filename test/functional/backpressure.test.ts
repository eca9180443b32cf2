// A client that does not read its replies: the node stops reading from it (bounded output buffer)
// and keeps serving everyone else; --max-connections refuses connections past the limit.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../src/index.js';
import { cleanup, startNode, waitFor } from '../helpers/nodes.js';
import { RawClient, frame, int, str } from '../helpers/raw.js';

after(cleanup);

function getFrame(id: number, key: string): Buffer {
  return frame(2201, 0, id, Buffer.concat([str(''), str(key), int(0)]));
}

test('a client that never reads its replies does not make the node buffer without bound', async () => {
  const node = await startNode();
  const c = new Cluster({ seeds: [node.addr] });
  await c.connect();
  try {
    await c.set('big', Buffer.alloc(1024 * 1024, 7));
    const lazy = await RawClient.connect(node.addr);
    lazy.socket.pause(); // never read
    const requests = 2000; // 2 GB of replies if the node buffered them all
    for (let i = 1; i <= requests; i++) lazy.send(getFrame(i, 'big'));
    await new Promise((r) => setTimeout(r, 1500));
    const stats = (await c.stats())[0] as unknown as { memoryBytes: { rss: number } };
    assert.ok(stats.memoryBytes.rss < 512 * 1024 * 1024, `node RSS ${stats.memoryBytes.rss} stays bounded`);
    assert.equal(await c.getBinary('big').then((b) => b?.length), 1024 * 1024, 'other clients are still served');
    lazy.destroy();
    assert.equal(node.proc.exitCode, null, 'node still running');
  } finally {
    await c.close();
  }
});

test('--max-connections refuses connections past the limit and serves the others', async () => {
  const node = await startNode({ args: ['--max-connections', '3'] });
  const held: RawClient[] = [];
  for (let i = 0; i < 3; i++) held.push(await RawClient.connect(node.addr));
  for (const h of held) assert.equal((await h.request(30)).command, 1, 'ping answered');
  // The fourth holds a slot of the reserve kept for nodes: its first client command is refused.
  const extra = await RawClient.connect(node.addr);
  const refused = await extra.request(30);
  assert.equal(refused.command, 3, 'the fourth connection\'s ping is answered failinfo');
  assert.equal(refused.payload.readInt32BE(0), 14, 'code overloaded');
  const closed = await extra.waitClosed(5000);
  assert.ok(closed, 'the fourth connection is closed by the node');
  await waitFor('refusal logged', () => node.logs.some((l) => String(l['msg']).includes('max-connections')) || undefined, 5000);
  for (const h of held) h.destroy();
});
