// The save file against real nodes: the last node saves at SIGINT and a restart brings every item
// back (values, types, maps, expiries), the file staying in place, marked in use; a kill -9 during a
// save leaves the previous file whole; a damaged save file stops `serve` (exit 3, file untouched)
// unless --ignore-bad-savefile. Crashes after a load: savefile-crash.test.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, ClusterError } from '../../src/index.js';
import { readSaveFile, type SaveFileContent } from '../../src/server/savefile.js';
import type { Item } from '../../src/protocol/messages/node.js';
import { cleanup, killNode, makeTempDir, runCli, startNode, type NodeProcess, exitCodeOf, logTail } from '../helpers/nodes.js';

after(cleanup);

const SAVE_NAME = 'opencluster.save';
const EXIT_WAIT_MS = 60_000;

/** SIGINT to a lone node; asserts exit 0 and that the save file exists. */
async function stopAndSave(node: NodeProcess): Promise<string> {
  node.signal('SIGINT');
  assert.equal(await exitCodeOf(node, EXIT_WAIT_MS), 0, `exit after SIGINT; last logs: ${logTail(node)}`);
  const path = join(node.dataDir, SAVE_NAME);
  assert.ok(existsSync(path), `the save file ${path} exists after the last node stopped`);
  return path;
}

/** One comparable line per item: map, key, expiry, type and value bytes. */
function itemLine(it: Item): string {
  const v = it.value.t === 1 || it.value.t === 2 ? String(it.value.v) : it.value.v.toString('hex');
  return `${JSON.stringify(it.map)} ${JSON.stringify(it.key)} ${it.expiresAtMs} ${it.value.t} ${v}`;
}

function itemLines(content: SaveFileContent): string[] {
  return content.items.map(itemLine).sort();
}

const BINARY = Buffer.from([0, 1, 2, 0xfe, 0xff, 0, 0x80]);

/** Items of every type, two maps, a plain key named like a map entry, a long and a short expiry. Returns when the 1 s item was sent. */
async function writeEveryType(c: Cluster): Promise<number> {
  await c.set('s-plain', 'hello');
  await c.set('s-unicode', 'žluťoučký kůň 🐎');
  await c.set('s-empty', '');
  await c.set('i-pos', 2_147_483_647);
  await c.set('i-neg', -2_147_483_648);
  await c.set('i-zero', 0);
  await c.set('l-big', 1n << 40n);
  await c.set('l-min', -(1n << 63n));
  await c.set('b-bytes', BINARY);
  await c.set('b-empty', Buffer.alloc(0));
  // a plain key with the same name as a map entry stays apart from it
  await c.set('ada', 'plain ada');
  await c.map('users').set('ada', 'Lovelace');
  await c.map('users').set('alan', 'Turing');
  await c.map('users').set('bin', Buffer.from('map-binary'));
  await c.map('counters').set('hits', 41);
  await c.map('counters').set('big', 1n << 50n);
  await c.set('long-ttl', 'stays', { expiresSec: 3600 });
  const shortSetAtMs = Date.now();
  await c.set('short-ttl', 'goes', { expiresSec: 1 });
  return shortSetAtMs;
}

async function checkEveryType(r: Cluster): Promise<void> {
  assert.equal(await r.getString('s-plain'), 'hello');
  assert.equal(await r.getString('s-unicode'), 'žluťoučký kůň 🐎');
  assert.equal(await r.getString('s-empty'), '');
  assert.equal(await r.getInt('i-pos'), 2_147_483_647);
  assert.equal(await r.getInt('i-neg'), -2_147_483_648);
  assert.equal(await r.getInt('i-zero'), 0);
  assert.equal(await r.getLong('l-big'), 1n << 40n);
  assert.equal(await r.getLong('l-min'), -(1n << 63n));
  assert.deepEqual(await r.getBinary('b-bytes'), BINARY);
  assert.deepEqual(await r.getBinary('b-empty'), Buffer.alloc(0));
  // get() of any type returns the type that was written
  assert.equal(typeof (await r.get('i-pos')), 'number');
  assert.equal(typeof (await r.get('l-big')), 'bigint');
  assert.ok(Buffer.isBuffer(await r.get('b-bytes')), 'binary comes back as a Buffer');
  assert.equal(typeof (await r.get('s-plain')), 'string');
  // an int must not come back as a long, nor a string as binary
  await assert.rejects(r.getLong('i-pos'), (e: unknown) => e instanceof ClusterError && e.code === 'WRONG_TYPE');
  await assert.rejects(r.getBinary('s-plain'), (e: unknown) => e instanceof ClusterError && e.code === 'WRONG_TYPE');
  assert.equal(await r.get('ada'), 'plain ada');
  const users = new Map<string, unknown>([['ada', 'Lovelace'], ['alan', 'Turing'], ['bin', Buffer.from('map-binary')]]);
  assert.deepEqual(await r.map('users').getAll(), users);
  assert.deepEqual(await r.map('counters').getAll(), new Map<string, unknown>([['hits', 41], ['big', 1n << 50n]]));
  assert.equal(await r.getString('long-ttl'), 'stays');
  const ttlMs = await r.ttl('long-ttl');
  assert.ok(ttlMs >= 1000 && ttlMs <= 3_600_000, `the long item's remaining ttl ${ttlMs} ms is within (1 s, 3600 s)`);
  assert.equal(await r.get('short-ttl'), null, 'the item that expired meanwhile is gone');
  assert.equal(await r.ttl('short-ttl'), -2);
  assert.equal(await r.ttl('s-plain'), -1, 'an item without expiry still has none');
}

test('the last node saves at SIGINT; a restart brings back every item, type, map and expiry', { timeout: 120_000 }, async () => {
  const node = await startNode();
  const c = new Cluster({ seeds: [node.addr], requestTimeoutMs: 10_000 });
  await c.connect();
  let shortSetAtMs: number;
  try {
    shortSetAtMs = await writeEveryType(c);
  } finally {
    await c.close();
  }
  const path = await stopAndSave(node);
  const saved = await readSaveFile(path);
  const shortWasSaved = saved.items.some((it) => it.key === 'short-ttl');
  // wait out the short item's expiry (from before its set was sent, plus a margin)
  const waitMs = shortSetAtMs + 2500 - Date.now();
  if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));

  const again = await startNode({ dataDir: node.dataDir });
  const loadedLine = await again.waitForLog((l) => l['msg'] === 'save file loaded', 5000);
  console.log(`# save/restart: the 1 s item was ${shortWasSaved ? '' : 'not '}in the save file; load: ${JSON.stringify({ loaded: loadedLine['loaded'], expired: loadedLine['expired'] })}`);
  if (shortWasSaved) assert.ok(Number(loadedLine['expired']) >= 1, `the expired item was dropped at load: ${JSON.stringify(loadedLine)}`);
  const r = new Cluster({ seeds: [again.addr], requestTimeoutMs: 10_000 });
  await r.connect();
  try {
    await checkEveryType(r);
  } finally {
    await r.close();
  }
  // Loaded and still the only copy: the file stays in place, marked in use by this run (loaded-save.ts).
  const files = readdirSync(node.dataDir);
  assert.ok(files.includes(SAVE_NAME), `the loaded save file stays in place (files: ${files.join(', ')})`);
  const mark = JSON.parse(readFileSync(join(node.dataDir, `${SAVE_NAME}.in-use`), 'utf8')) as { incarnation: string };
  const listening = again.logs.find((l) => l['msg'] === 'listening')!;
  assert.equal(mark.incarnation, listening['incarnation'], 'the in-use mark names the run that loaded it');
  await killNode(again);
});

const BIG_COUNT = 300_000;
const IN_FLIGHT = 200;

function bigValue(i: number): string {
  return `${i}:`.concat('abcdefghijklmnopqrstuvwxyz'.repeat(4)).slice(0, 100);
}

/** Writes big-0 .. big-(n-1) with bounded concurrency; a rejected write is retried (bounded), then fails the test. */
async function writeBig(c: Cluster, n: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      for (let attempt = 1; ; attempt++) {
        try {
          await c.set(`big-${i}`, bigValue(i));
          break;
        } catch (e) {
          if (attempt >= 3) throw e;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

/** Whether the content is exactly big-0 .. big-(n-1) with their values, no expiry, plain keys. */
function isFullNewSet(content: SaveFileContent, n: number): boolean {
  if (content.items.length !== n) return false;
  const seen = new Set<string>();
  for (const it of content.items) {
    if (it.map !== '' || it.expiresAtMs !== 0 || it.value.t !== 3) return false;
    const m = /^big-(\d+)$/.exec(it.key);
    if (m === null || Number(m[1]) >= n || it.value.v.toString('utf8') !== bigValue(Number(m[1]))) return false;
    seen.add(it.key);
  }
  return seen.size === n;
}

test('kill -9 during a save leaves the previous save file intact', { timeout: 300_000 }, async () => {
  // S1: node A alone with a few items, stopped: DA/opencluster.save.
  const a = await startNode();
  const ca = new Cluster({ seeds: [a.addr], requestTimeoutMs: 10_000 });
  await ca.connect();
  try {
    for (let i = 0; i < 20; i++) await ca.set(`s1-${i}`, `first-${i}`);
    await ca.map('s1map').set('k', 7);
  } finally {
    await ca.close();
  }
  const path = await stopAndSave(a);
  const s1Bytes = readFileSync(path);
  const s1Lines = itemLines(await readSaveFile(path));
  assert.equal(s1Lines.length, 21, 'S1 holds the 21 items written');

  // B alone; C joins B with A's data dir (a joining node does not load the save file).
  const b = await startNode();
  const cNode = await startNode({ nodes: [b.addr], dataDir: a.dataDir });
  assert.ok(!cNode.logs.some((l) => l['msg'] === 'save file loaded'), 'the joining node did not load the save file');
  assert.deepEqual(readFileSync(path), s1Bytes, 'the joining node left the save file alone');
  const c = new Cluster({ seeds: [b.addr], requestTimeoutMs: 20_000 });
  await c.connect();
  try {
    await writeBig(c, BIG_COUNT);
  } finally {
    await c.close();
  }
  // B hands over to C.
  b.signal('SIGINT');
  assert.equal(await exitCodeOf(b, 120_000), 0, `B's exit after SIGINT; last logs: ${logTail(b)}`);
  // C is now the last node: kill it the moment it says it is saving.
  const saving = cNode.waitForLog((l) => l['msg'] === 'last node of the cluster: saving instead of handing over', 60_000);
  cNode.signal('SIGINT');
  const line = await saving;
  cNode.signal('SIGKILL');
  const code = await exitCodeOf(cNode, 10_000);
  const wrote = cNode.logs.some((l) => l['msg'] === 'save file written');
  const content = await readSaveFile(path); // throws on any damage
  const same = Buffer.compare(readFileSync(path), s1Bytes) === 0;
  let outcome: string;
  if (same) {
    assert.deepEqual(itemLines(content), s1Lines);
    outcome = 'previous save file (S1) intact, byte for byte';
  } else {
    assert.ok(isFullNewSet(content, BIG_COUNT), `the save file is neither S1 (${s1Lines.length} items) nor the full new set (${content.items.length} items)`);
    outcome = `the new save completed before the kill (${content.items.length} items)`;
  }
  const leftovers = readdirSync(a.dataDir).filter((f) => f !== SAVE_NAME);
  console.log(`# kill -9 during save: ${outcome}; C exit ${code}; C logged 'save file written': ${wrote}; saving line items=${String(line['items'])}; other files in DA: ${leftovers.join(', ') || 'none'}`);
});

/** A valid save file of a lone node holding `n` items: its path and bytes. */
async function validSaveFile(n: number): Promise<Buffer> {
  const node = await startNode();
  const c = new Cluster({ seeds: [node.addr], requestTimeoutMs: 10_000 });
  await c.connect();
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        await c.set(`item-${i}`, `value-${i}-${'v'.repeat(40)}`);
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
  } finally {
    await c.close();
  }
  const path = await stopAndSave(node);
  const bytes = readFileSync(path);
  assert.equal((await readSaveFile(path)).items.length, n);
  return bytes;
}

/** `serve` on a data dir holding `bytes` as its save file must refuse to start: exit 3, stderr naming the file. */
async function assertRefused(bytes: Buffer, problem: RegExp, what: string): Promise<void> {
  const dir = makeTempDir('oc-bad-save-');
  const path = join(dir, SAVE_NAME);
  writeFileSync(path, bytes);
  const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--log-level', 'info'], 20_000);
  assert.equal(r.code, 3, `${what}: serve exits with code 3 (stderr: ${r.stderr})`);
  assert.ok(r.stderr.includes(path), `${what}: stderr names the file ${path}: ${r.stderr}`);
  assert.match(r.stderr, problem, `${what}: stderr says what is wrong`);
  assert.ok(!r.stdout.includes('"listening"'), `${what}: the node never listened`);
  assert.deepEqual(readFileSync(path), bytes, `${what}: the file's bytes are unchanged`);
  assert.deepEqual(readdirSync(dir), [SAVE_NAME], `${what}: nothing renamed or added`);
  console.log(`# ${what}: ${r.stderr.trim()}`);

  const node = await startNode({ dataDir: dir, args: ['--ignore-bad-savefile'] });
  try {
    assert.ok(
      node.logs.some((l) => l['msg'] === 'save file unreadable; starting without it (file left untouched)'),
      `${what}: with --ignore-bad-savefile the node logs the problem and starts`,
    );
    const c = new Cluster({ seeds: [node.addr], requestTimeoutMs: 10_000 });
    await c.connect();
    try {
      await c.set('after-bad', 'ok');
      assert.equal(await c.get('after-bad'), 'ok', `${what}: the node started without the file serves`);
      assert.equal(await c.get('item-1'), null, `${what}: nothing of the bad file was loaded`);
    } finally {
      await c.close();
    }
    assert.deepEqual(readFileSync(path), bytes, `${what}: the file is still unchanged with --ignore-bad-savefile`);
    assert.deepEqual(readdirSync(dir), [SAVE_NAME], `${what}: nothing renamed with --ignore-bad-savefile`);
  } finally {
    await killNode(node);
  }
}

test('a damaged save file: exit 3, the file named, the file untouched; --ignore-bad-savefile starts anyway', { timeout: 180_000 }, async () => {
  const good = await validSaveFile(2000);
  assert.ok(good.length > 10_000, `a save file of some size (${good.length} bytes)`);

  const flipped = Buffer.from(good);
  const mid = Math.floor(flipped.length / 2);
  for (let i = 0; i < 4; i++) flipped[mid + i] = flipped[mid + i]! ^ 0xff;
  await assertRefused(flipped, /checksum|crc|torn|length/i, 'bytes flipped in the middle');

  const truncated = good.subarray(0, Math.floor(good.length * 0.6) + 3);
  await assertRefused(Buffer.from(truncated), /torn|truncated|ends|count/i, 'truncated in a record');

  const headerOnly = good.subarray(0, 20);
  await assertRefused(Buffer.from(headerOnly), /torn|header|short|truncated/i, 'truncated inside the header');

  const junk = Buffer.from('this is not a save file at all, just text\n'.repeat(10));
  await assertRefused(junk, /magic/i, 'not a save file');
});

async function earlierSaveFile(): Promise<{ dataDir: string; path: string; earlier: string[] }> {
  const first = await startNode();
  const c = new Cluster({ seeds: [first.addr] });
  await c.connect();
  for (let i = 0; i < 100; i++) await c.set(`earlier-${i}`, i);
  await c.close();
  const path = await stopAndSave(first);
  const earlier = itemLines(await readSaveFile(path));
  assert.equal(earlier.length, 100);
  return { dataDir: first.dataDir, path, earlier };
}

test('a node that never joined its cluster saves nothing and leaves the save file as it is', { timeout: 120_000 }, async () => {
  const { dataDir, path, earlier } = await earlierSaveFile();
  // The same data dir, told to join a cluster whose seed is down: it loads nothing, holds nothing.
  const joiner = await startNode({ dataDir, nodes: ['127.0.0.1:1'] });
  joiner.signal('SIGINT');
  assert.equal(await exitCodeOf(joiner, EXIT_WAIT_MS), 0, `exit after SIGINT; last logs: ${logTail(joiner)}`);
  assert.deepEqual(itemLines(await readSaveFile(path)), earlier, 'the save file still holds every earlier item');
  assert.deepEqual(readdirSync(dataDir).filter((n) => n.includes('.previous-')), [], 'nothing was written beside it');
});

test('the last node of a cluster it joined keeps an earlier save file it did not load', { timeout: 120_000 }, async () => {
  const { dataDir, path, earlier } = await earlierSaveFile();
  const b = await startNode();
  const joiner = await startNode({ dataDir, nodes: [b.addr] });
  await joiner.waitForLog((l) => l['msg'] === 'ready');
  const c = new Cluster({ seeds: [b.addr] });
  await c.connect();
  for (let i = 0; i < 10; i++) await c.set(`later-${i}`, i);
  await c.close();
  b.signal('SIGINT');
  assert.equal(await exitCodeOf(b, EXIT_WAIT_MS), 0, `first node's exit; last logs: ${logTail(b)}`);
  joiner.signal('SIGINT');
  assert.equal(await exitCodeOf(joiner, EXIT_WAIT_MS), 0, `last node's exit; last logs: ${logTail(joiner)}`);
  const saved = itemLines(await readSaveFile(path));
  assert.equal(saved.length, 10, 'the new save file holds the cluster\'s items');
  const kept = readdirSync(dataDir).filter((n) => n.startsWith(`${SAVE_NAME}.previous-`));
  assert.equal(kept.length, 1, `the earlier save file is kept beside the new one: ${readdirSync(dataDir).join(', ')}`);
  assert.deepEqual(itemLines(await readSaveFile(join(dataDir, kept[0]!))), earlier, 'the kept file holds every earlier item');
});
