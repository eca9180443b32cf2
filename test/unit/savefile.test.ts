// Unit tests of the save file: round trip of every value type, map and expiry; atomic replacement
// (a leftover temp file or a process killed mid-write never damages the previous file); and
// clear errors, naming the file, for damaged files, which are left untouched.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { readSaveFile, SaveFileError, writeSaveFile } from '../../src/server/savefile.js';
import { encodeHeader, encodeRecordBuffer, FileKind, itemRecord } from '../../src/protocol/filefmt.js';
import type { Item } from '../../src/protocol/messages/node.js';
import { cleanup, makeTempDir } from '../helpers/nodes.js';

after(cleanup);

const here = dirname(fileURLToPath(import.meta.url));
const SAVEFILE_JS = join(here, '..', '..', 'src', 'server', 'savefile.js');

function items(n: number, tag = 'v'): Item[] {
  const out: Item[] = [];
  for (let i = 0; i < n; i++) {
    const map = i % 3 === 0 ? `map${i % 7}` : '';
    const kind = i % 4;
    const value =
      kind === 0 ? { t: 1 as const, v: i - 500 } : kind === 1 ? { t: 2 as const, v: BigInt(i) * 10_000_000_000n } : kind === 2 ? { t: 3 as const, v: Buffer.from(`${tag}-${i}-é`) } : { t: 4 as const, v: Buffer.from([i & 255, 0, 255]) };
    out.push({ map, key: `key-${i}\u00ff`, expiresAtMs: i % 5 === 0 ? 1_900_000_000_000 + i : 0, value, vEpoch: i % 9, vSeq: i === 0 ? 0 : i * 1_000_003 });
  }
  return out;
}

function errorOf(fn: () => Promise<unknown>): Promise<SaveFileError> {
  return fn().then(
    () => assert.fail('expected a SaveFileError'),
    (e: unknown) => {
      assert.ok(e instanceof SaveFileError, `got ${String(e)}`);
      return e;
    },
  );
}

test('every item comes back: types, maps, absolute expiry, creation time', async () => {
  const path = join(makeTempDir('oc-save-'), 'oc.save');
  const list = items(200);
  const w = await writeSaveFile(path, list, 1_700_000_000_000);
  assert.equal(w.items, 200);
  assert.equal(w.bytes, statSync(path).size);
  const back = await readSaveFile(path);
  assert.equal(back.createdAtMs, 1_700_000_000_000);
  assert.deepEqual(back.items, list);
});

test('an empty store writes a valid empty save file', async () => {
  const path = join(makeTempDir('oc-save-'), 'empty.save');
  await writeSaveFile(path, []);
  assert.deepEqual((await readSaveFile(path)).items, []);
});

test('a store larger than one write chunk streams through and reads back whole', async () => {
  const path = join(makeTempDir('oc-save-'), 'big.save');
  const big = Buffer.alloc(3000, 7);
  const gen = function* (): Generator<Item> {
    for (let i = 0; i < 1500; i++) yield { map: '', key: `k${i}`, expiresAtMs: 0, value: { t: 4, v: big } };
  };
  const w = await writeSaveFile(path, gen());
  assert.ok(w.bytes > 4 * 1024 * 1024, `wrote ${w.bytes} bytes`);
  const back = await readSaveFile(path);
  assert.equal(back.items.length, 1500);
  assert.equal(back.items[1499]!.key, 'k1499');
  assert.ok(back.items.every((it) => it.value.t === 4 && big.equals(it.value.v)));
});

test('a leftover partial temp file does not damage the previous file, and the next save replaces it atomically', async () => {
  const dir = makeTempDir('oc-save-');
  const path = join(dir, 'oc.save');
  await writeSaveFile(path, items(50, 'old'));
  const before = readFileSync(path);
  // What a process killed mid-write leaves: a partial temp file beside the real one.
  const stale = `${path}.tmp-999999`;
  writeFileSync(stale, before.subarray(0, before.length >> 1));
  assert.deepEqual((await readSaveFile(path)).items, items(50, 'old'));
  await writeSaveFile(path, items(60, 'new'));
  assert.deepEqual((await readSaveFile(path)).items, items(60, 'new'));
  assert.equal(existsSync(`${path}.tmp-${process.pid}`), false, 'our own temp file is gone after the rename');
  assert.ok(existsSync(stale), 'a temp file of another process is not ours to delete');
});

test('kill -9 during a save leaves the previous save file intact', async () => {
  const dir = makeTempDir('oc-save-');
  const path = join(dir, 'oc.save');
  await writeSaveFile(path, items(100, 'previous'));
  const before = readFileSync(path);
  // A child writes a new save file; half way through its items it says so and blocks, and is killed.
  const script = `
    const { writeSaveFile } = await import(${JSON.stringify(SAVEFILE_JS)});
    const { writeSync } = await import('node:fs');
    const gate = new Int32Array(new SharedArrayBuffer(4));
    function* slow() {
      for (let i = 0; i < 3000; i++) yield { map: '', key: 'n' + i, expiresAtMs: 0, value: { t: 4, v: Buffer.alloc(1024, 1) } };
      writeSync(1, 'midway\\n');
      Atomics.wait(gate, 0, 0, 30000);
      for (let i = 0; i < 10; i++) yield { map: '', key: 'late' + i, expiresAtMs: 0, value: { t: 1, v: i } };
    }
    await writeSaveFile(${JSON.stringify(path)}, slow());
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<string | number | null>((resolve) => child.on('exit', (code, sig) => resolve(sig ?? code)));
  const midway = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 15000);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l === 'midway') {
        clearTimeout(timer);
        resolve(true);
      }
    });
    void exited.then(() => resolve(false));
  });
  const tmp = readdirSync(dir).filter((n) => n.startsWith('oc.save.tmp-'));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.ok(midway, 'the child reached the middle of its save');
  assert.equal(tmp.length, 1, 'the temp file was being written');
  assert.ok(statSync(join(dir, tmp[0]!)).size > 1024 * 1024, 'some of the new data had reached the temp file');
  assert.deepEqual(readFileSync(path), before, 'the previous save file is byte for byte the same');
  assert.deepEqual((await readSaveFile(path)).items, items(100, 'previous'));
});

test('a damaged save file: the error names the file, the problem and the offset; the file is untouched', async () => {
  const path = join(makeTempDir('oc-save-'), 'oc.save');
  await writeSaveFile(path, items(30));
  const good = readFileSync(path);
  const bad = Buffer.from(good);
  const at = good.length >> 1;
  bad[at] ^= 0x10;
  writeFileSync(path, bad);
  const mtime = statSync(path).mtimeMs;
  const e = await errorOf(() => readSaveFile(path));
  assert.equal(e.code, 'checksum');
  assert.equal(e.file, path);
  assert.ok(e.message.includes(path), e.message);
  assert.match(e.message, /checksum mismatch .* at offset \d+/);
  assert.ok(e.offset !== undefined && e.offset <= at && e.offset > at - 200, `offset ${e.offset} near ${at}`);
  assert.deepEqual(readFileSync(path), bad, 'file content untouched');
  assert.equal(statSync(path).mtimeMs, mtime, 'file not rewritten');
});

test('a truncated save file is refused: torn inside a record, or short by whole records', async () => {
  const path = join(makeTempDir('oc-save-'), 'oc.save');
  await writeSaveFile(path, items(30));
  const size = statSync(path).size;
  truncateSync(path, size - 3);
  const torn = await errorOf(() => readSaveFile(path));
  assert.equal(torn.code, 'torn');
  assert.match(torn.message, /torn record at offset \d+/);

  await writeSaveFile(path, items(30));
  // Cut exactly one whole record off the end: only the record count in the header can tell.
  const last = items(30)[29]!;
  const lastRecord = { ...itemRecord(last), saved: { vEpoch: last.vEpoch ?? 0, vSeq: last.vSeq ?? 0, epochFloor: 0 } };
  truncateSync(path, statSync(path).size - encodeRecordBuffer(lastRecord).length);
  const short = await errorOf(() => readSaveFile(path));
  assert.equal(short.code, 'countMismatch');
  assert.match(short.message, /holds 29 records but its header says 30/);
});

test('not a save file: bad magic, another version, another kind, missing', async () => {
  const dir = makeTempDir('oc-save-');
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'just some text that is long enough to hold a header, really it is\n');
  assert.equal((await errorOf(() => readSaveFile(text))).code, 'badMagic');

  const v4 = join(dir, 'v4.save');
  const h = encodeHeader({ version: 1, kind: FileKind.save, flags: 0, createdAtMs: 1, fileSeq: 0, recordCount: 0 });
  h.writeUInt16BE(4, 8); // 2 is the log files' version (snapshot records), 3 the save files' with versions; 4 is newer than this build
  writeFileSync(v4, h);
  const ev = await errorOf(() => readSaveFile(v4));
  assert.equal(ev.code, 'badVersion');
  assert.match(ev.message, /version 4/);

  const log = join(dir, 'oc-000001.log');
  writeFileSync(log, encodeHeader({ version: 1, kind: FileKind.log, flags: 1, createdAtMs: 1, fileSeq: 1, recordCount: -1 }));
  const ek = await errorOf(() => readSaveFile(log));
  assert.equal(ek.code, 'wrongKind');
  assert.match(ek.message, /is a log file, not a save file/);

  const missing = await errorOf(() => readSaveFile(join(dir, 'nope.save')));
  assert.equal(missing.code, 'io');
  assert.match(missing.message, /ENOENT/);
});
