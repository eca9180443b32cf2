// Versions across the save file: the last node saves its items with their versions, a restart from
// the file brings the same versions back, and every write after it takes a version above every
// version handed out before (the loading node starts its epochs above the saved ones), also for a
// key deleted before the save and written again after it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../src/index.js';
import { cleanup, exitCodeOf, logTail, startNode } from '../helpers/nodes.js';

after(cleanup);

async function withClient<T>(addr: string, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const c = new Cluster({ seeds: [addr] });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

test('a restart from the save file keeps versions, and later writes take higher ones', async () => {
  const first = await startNode();
  const before = await withClient(first.addr, async (c) => {
    const versions = new Map<string, bigint>();
    for (let i = 0; i < 50; i++) {
      await c.set(`k${i}`, `v${i}`);
      await c.set(`k${i}`, `w${i}`);
    }
    await c.incr('counter', 7);
    await c.map('m').set('entry', 'x');
    for (let i = 0; i < 50; i++) versions.set(`k${i}`, (await c.getWithVersion(`k${i}`))!.version);
    versions.set('counter', (await c.getWithVersion('counter'))!.version);
    await c.set('gone', 'soon');
    versions.set('gone', (await c.getWithVersion('gone'))!.version);
    assert.equal(await c.delete('gone'), true);
    return versions;
  });
  first.signal('SIGINT');
  assert.equal(await exitCodeOf(first, 60_000), 0, logTail(first));
  const second = await startNode({ dataDir: first.dataDir });
  await second.waitForLog((l) => l['msg'] === 'save file loaded');
  await withClient(second.addr, async (c) => {
    for (const [key, version] of before) {
      if (key === 'gone') continue;
      assert.equal((await c.getWithVersion(key))!.version, version, `${key} kept its version through the save file`);
    }
    const highest = [...before.values()].reduce((a, b) => (a > b ? a : b));
    await c.set('gone', 'back');
    const again = (await c.getWithVersion('gone'))!.version;
    assert.ok(again > highest, `a key written after the restart takes a version (${again}) above every earlier one (${highest})`);
    assert.equal(await c.incr('counter'), 8);
    assert.ok((await c.getWithVersion('counter'))!.version > highest);
    assert.equal((await c.map('m').getWithVersion('entry'))!.value, 'x');
  });
});
