// A save file is never lost to a crash (src/server/loaded-save.ts has the rule): a node that loaded
// it and is killed -9 loads it again at its next stand-alone start; once another node holds a copy
// of every bucket (it took the backups), the file is moved aside and a later stand-alone start does
// not load that stale data; a newer save replaces it, the loaded one kept beside it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from '../../src/index.js';
import { readSaveFile } from '../../src/server/savefile.js';
import { cleanup, exitCodeOf, killNode, logTail, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';

after(cleanup);

const SAVE_NAME = 'opencluster.save';
const MARK_NAME = `${SAVE_NAME}.in-use`;
const ITEMS = 200;
const EXIT_WAIT_MS = 60_000;
const LOADED = (l: Record<string, unknown>): boolean => l['msg'] === 'save file loaded';
const RETIRED = (l: Record<string, unknown>): boolean => l['msg'] === 'loaded save file retired: it is obsolete';
const AGAIN = 'the save file was loaded before by a run that did not end cleanly: loading it again (writes made after that load are not in it)';

async function write(addr: string, prefix: string, n: number): Promise<void> {
  const c = new Cluster({ seeds: [addr], requestTimeoutMs: 10_000 });
  await c.connect();
  try {
    for (let i = 0; i < n; i++) await c.set(`${prefix}-${i}`, `v-${i}`);
  } finally {
    await c.close();
  }
}

/** How many of prefix-0 .. prefix-(n-1) read back with their value. */
async function present(addr: string, prefix: string, n: number): Promise<number> {
  const c = new Cluster({ seeds: [addr], requestTimeoutMs: 10_000 });
  await c.connect();
  try {
    let found = 0;
    for (let i = 0; i < n; i++) if ((await c.get(`${prefix}-${i}`)) === `v-${i}`) found++;
    return found;
  } finally {
    await c.close();
  }
}

/** A lone node writes ITEMS items and stops: its data dir holds the save file. */
async function savedDataDir(prefix: string): Promise<string> {
  const node = await startNode();
  await write(node.addr, prefix, ITEMS);
  node.signal('SIGINT');
  assert.equal(await exitCodeOf(node, EXIT_WAIT_MS), 0, `exit after SIGINT; last logs: ${logTail(node)}`);
  assert.equal((await readSaveFile(join(node.dataDir, SAVE_NAME))).items.length, ITEMS);
  return node.dataDir;
}

async function startAloneLoading(dataDir: string, items = ITEMS): Promise<NodeProcess> {
  const node = await startNode({ dataDir });
  const line = await node.waitForLog(LOADED, 5000);
  assert.equal(line['loaded'], items);
  await node.waitForLog((l) => l['msg'] === 'ready');
  return node;
}

test('loaded, nothing written, kill -9: the next stand-alone start loads the file again', { timeout: 120_000 }, async () => {
  const dataDir = await savedDataDir('crash');
  const first = await startAloneLoading(dataDir);
  assert.ok(existsSync(join(dataDir, SAVE_NAME)), 'the loaded file stays in place');
  assert.ok(existsSync(join(dataDir, MARK_NAME)), 'and is marked in use');
  await killNode(first);

  const second = await startAloneLoading(dataDir);
  const warned = second.logs.find((l) => l['msg'] === AGAIN);
  assert.ok(warned !== undefined, `the restart says the file was loaded before by a run that did not end: ${logTail(second)}`);
  assert.equal(warned['by'], first.logs.find((l) => l['msg'] === 'listening')!['incarnation'], 'naming the run that crashed');
  assert.equal(await present(second.addr, 'crash', ITEMS), ITEMS, 'every item is there after the crash');
  await killNode(second);
});

test('loaded, a second node took a backup of every bucket, both kill -9: the stale file is not loaded again', { timeout: 180_000 }, async () => {
  const dataDir = await savedDataDir('moved');
  const a = await startAloneLoading(dataDir);
  const b = await startNode({ nodes: [a.addr] });
  // The rule's trigger: another node holds a copy of every bucket. Then the file is moved aside.
  const retired = await a.waitForLog(RETIRED, 60_000);
  const c = new Cluster({ seeds: [a.addr], requestTimeoutMs: 10_000 });
  await c.connect();
  try {
    await waitFor('the client table shows b holding every bucket, as primary or backup', () => {
      const t = c.bucketTable();
      return t.primaries.every((p, i) => p === b.addr || t.backups[i] === b.addr) ? true : undefined;
    }, 10_000, 100);
  } finally {
    await c.close();
  }
  const files = readdirSync(dataDir);
  assert.ok(!files.includes(SAVE_NAME) && !files.includes(MARK_NAME), `the file and its mark are gone from their place: ${files.join(', ')}`);
  const aside = files.filter((f) => f.startsWith(`${SAVE_NAME}.loaded-`));
  assert.deepEqual(aside.map((f) => join(dataDir, f)), [String(retired['movedTo'])], 'moved aside under the name it logged');
  assert.equal((await readSaveFile(join(dataDir, aside[0]!))).items.length, ITEMS, 'still whole there, for a hand inject');
  assert.equal(await present(b.addr, 'moved', ITEMS), ITEMS, 'the cluster has every item');
  await killNode(a);
  await killNode(b);

  const again = await startNode({ dataDir });
  await again.waitForLog((l) => l['msg'] === 'ready');
  assert.ok(!again.logs.some(LOADED), 'the stand-alone start loads nothing: that data had moved on to another node');
  assert.equal(await present(again.addr, 'moved', ITEMS), 0, 'no stale item is served');
  await killNode(again);
});

test('loaded, more written, graceful stop alone: the newer save replaces the file, the loaded one kept beside it', { timeout: 120_000 }, async () => {
  const dataDir = await savedDataDir('older');
  const a = await startAloneLoading(dataDir);
  await write(a.addr, 'newer', 10);
  a.signal('SIGINT');
  assert.equal(await exitCodeOf(a, EXIT_WAIT_MS), 0, `exit after SIGINT; last logs: ${logTail(a)}`);
  const files = readdirSync(dataDir);
  assert.ok(!files.includes(MARK_NAME), `the in-use mark is gone: ${files.join(', ')}`);
  assert.equal((await readSaveFile(join(dataDir, SAVE_NAME))).items.length, ITEMS + 10, 'the new save holds the loaded items and the newer ones');
  const kept = files.filter((f) => f.startsWith(`${SAVE_NAME}.loaded-`));
  assert.equal(kept.length, 1, `the loaded file is kept beside it: ${files.join(', ')}`);
  assert.equal((await readSaveFile(join(dataDir, kept[0]!))).items.length, ITEMS);
  const again = await startAloneLoading(dataDir, ITEMS + 10);
  assert.equal(await present(again.addr, 'older', ITEMS), ITEMS);
  assert.equal(await present(again.addr, 'newer', 10), 10);
  await killNode(again);
});
