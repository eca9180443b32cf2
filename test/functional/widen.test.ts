// Bucket splitting: a cluster started with few buckets widens its mask when nodes join, without
// losing data, and clients follow the wider mask.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../src/index.js';
import { cleanup, startNode, waitFor } from '../helpers/nodes.js';
import { viewOf } from '../helpers/cluster.js';

after(cleanup);

test('the mask widens when nodes join a cluster of four buckets, and no key is lost', async () => {
  const n1 = await startNode({ args: ['--mask', '0x3'] });
  const c = new Cluster({ seeds: [n1.addr] });
  await c.connect();
  try {
    for (let i = 0; i < 500; i++) await c.set(`w${i}`, i);
    await c.map('wm').set('a', 'b');
    const n2 = await startNode({ nodes: [n1.addr] });
    const n3 = await startNode({ nodes: [n1.addr] });
    const addrs = [n1.addr, n2.addr, n3.addr];
    await waitFor('mask widened and buckets spread with backups', async () => {
      const views = await viewOf(addrs);
      const total = views.reduce((s, v) => s + v.primaries, 0);
      const backups = views.reduce((s, v) => s + v.backups, 0);
      return total >= 12 && backups === total && views.every((v) => v.primaries > 0 && v.transfer === null) ? true : undefined;
    }, 30000, 250);
    for (let i = 0; i < 500; i++) assert.equal(await c.get(`w${i}`), i, `key w${i}`);
    assert.equal(await c.map('wm').get('a'), 'b');
    for (let i = 500; i < 800; i++) await c.set(`w${i}`, i);
    for (let i = 0; i < 800; i++) assert.equal(await c.get(`w${i}`), i);
  } finally {
    await c.close();
  }
});
