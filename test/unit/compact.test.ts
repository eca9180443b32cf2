// Unit tests of compaction: the last state of every key (set, delete, expired, expire, map
// delete; a model-based property test), expired items dropped, the compacted file written in the
// shared format, torn tails reported and skipped, and damage reported with file and offset.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { compactFiles, CompactState, loadFiles } from '../../src/logger/compact.js';
import { LogReadError } from '../../src/logger/log-reader.js';
import { readFileHeader, scanFile } from '../../src/protocol/filefmt-io.js';
import { encodeHeader, encodeRecordBuffer, FILE_HEADER_BYTES, FileFlag, FileKind, type FileRecord } from '../../src/protocol/filefmt.js';
import { UpdateOp, type Item, type Update } from '../../src/protocol/messages/node.js';
import type { Value } from '../../src/protocol/values.js';
import { readSaveFile, writeSaveFile } from '../../src/server/savefile.js';
import { cleanup, makeTempDir } from '../helpers/nodes.js';

after(cleanup);

const NOW = 1_800_000_000_000;
let seq = 0;

function r(update: Update): FileRecord {
  seq++;
  return { mask: 0xff, hash: seq & 0xff, epoch: 1, seq, update };
}
const str = (s: string): Value => ({ t: 3, v: Buffer.from(s) });
const set = (map: string, key: string, v: Value, expiresAtMs = 0): FileRecord => r({ op: UpdateOp.set, map, key, expiresAtMs, value: v });
const del = (map: string, key: string): FileRecord => r({ op: UpdateOp.delete, map, key, expiresAtMs: 0, value: null });
const expired = (map: string, key: string): FileRecord => r({ op: UpdateOp.expired, map, key, expiresAtMs: 0, value: null });
const expire = (map: string, key: string, at: number): FileRecord => r({ op: UpdateOp.expire, map, key, expiresAtMs: at, value: null });
const mapDel = (map: string): FileRecord => r({ op: UpdateOp.mapDelete, map, key: '', expiresAtMs: 0, value: null });

/** Writes a log file by hand: header, then the records. */
function writeLog(path: string, fileSeq: number, records: FileRecord[], runStart = fileSeq === 1): void {
  const header = encodeHeader({ version: 1, kind: FileKind.log, flags: runStart ? FileFlag.runStart : 0, createdAtMs: NOW, fileSeq, recordCount: -1 });
  writeFileSync(path, Buffer.concat([header, ...records.map(encodeRecordBuffer)]));
}

function liveOf(state: CompactState, nowMs = NOW): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { item } of state.live(nowMs)) out[`${item.map}|${item.key}`] = describe(item);
  return out;
}

function describe(it: Item): string {
  const v = it.value.t === 3 || it.value.t === 4 ? it.value.v.toString() : String(it.value.v);
  return it.expiresAtMs === 0 ? v : `${v}@${it.expiresAtMs}`;
}

test('later records win; delete and expired remove; expire changes the expiry; map delete removes only that map', () => {
  const s = new CompactState();
  for (const rec of [
    set('', 'a', str('1')),
    set('', 'a', str('2')),
    set('', 'b', str('b')),
    del('', 'b'),
    set('', 'c', str('c')),
    expired('', 'c'),
    set('', 'd', str('d'), NOW + 5000),
    expire('', 'd', 0),
    set('', 'e', str('e')),
    expire('', 'e', NOW + 9000),
    expire('', 'ghost', NOW + 1),
    del('', 'ghost'),
    set('users', 'ada', str('Lovelace')),
    set('users', 'alan', str('Turing')),
    set('users', 'a', str('in the map, not the plain key')),
    set('other', 'x', { t: 1, v: 7 }),
    mapDel('users'),
    set('users', 'grace', str('Hopper')),
    mapDel(''),
  ]) {
    s.apply(rec);
  }
  assert.deepEqual(liveOf(s), {
    '|a': '2',
    '|d': 'd',
    '|e': `e@${NOW + 9000}`,
    'users|grace': 'Hopper',
    'other|x': '7',
  });
  assert.equal(s.counters.noEffect, 3, 'expire and delete of a missing key, and a map delete of the plain keys');
});

test('items expired at compaction time are dropped, the others keep their absolute expiry', () => {
  const s = new CompactState();
  s.apply(set('', 'past', str('p'), NOW - 1));
  s.apply(set('', 'exactly-now', str('n'), NOW));
  s.apply(set('', 'future', str('f'), NOW + 1));
  s.apply(set('', 'cut-short', str('c'), NOW + 60_000));
  s.apply(expire('', 'cut-short', NOW - 10));
  assert.deepEqual(liveOf(s), { '|future': `f@${NOW + 1}` });
  assert.equal(s.countExpired(NOW), 3);
});

// A model: the last state of each (map, key) as a plain Map, updated the obvious way.
const keyArb = fc.constantFrom('a', 'b', 'c');
const mapArb = fc.constantFrom('', 'm1', 'm2');
const opArb: fc.Arbitrary<Update> = fc.oneof(
  fc.tuple(mapArb, keyArb, fc.integer({ min: 0, max: 99 }), fc.constantFrom(0, NOW - 1, NOW + 1)).map(([map, key, v, exp]): Update => ({ op: UpdateOp.set, map, key, expiresAtMs: exp, value: { t: 1, v } })),
  fc.tuple(mapArb, keyArb).map(([map, key]): Update => ({ op: UpdateOp.delete, map, key, expiresAtMs: 0, value: null })),
  fc.tuple(mapArb, keyArb).map(([map, key]): Update => ({ op: UpdateOp.expired, map, key, expiresAtMs: 0, value: null })),
  fc.tuple(mapArb, keyArb, fc.constantFrom(0, NOW - 1, NOW + 1)).map(([map, key, at]): Update => ({ op: UpdateOp.expire, map, key, expiresAtMs: at, value: null })),
  fc.constantFrom('m1', 'm2').map((map): Update => ({ op: UpdateOp.mapDelete, map, key: '', expiresAtMs: 0, value: null })),
);

test('compaction agrees with a simple model for any sequence of updates (property)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const model = new Map<string, { v: number; exp: number }>();
      const s = new CompactState();
      for (const u of ops) {
        s.apply(r(u));
        const k = `${u.map}|${u.key}`;
        if (u.op === UpdateOp.set) model.set(k, { v: (u.value as { v: number }).v, exp: u.expiresAtMs });
        else if (u.op === UpdateOp.delete || u.op === UpdateOp.expired) model.delete(k);
        else if (u.op === UpdateOp.expire) {
          const e = model.get(k);
          if (e !== undefined) e.exp = u.expiresAtMs;
        } else for (const key of [...model.keys()]) if (key.startsWith(`${u.map}|`)) model.delete(key);
      }
      const expected: Record<string, string> = {};
      for (const [k, e] of model) if (e.exp === 0 || e.exp > NOW) expected[k] = e.exp === 0 ? String(e.v) : `${e.v}@${e.exp}`;
      assert.deepEqual(liveOf(s), expected);
    }),
  );
});

test('compactFiles writes a compacted file atomically; it reads back and serves as the base for later logs', async () => {
  const dir = makeTempDir('oc-compact-');
  const log1 = join(dir, 'oc-000001.log');
  const log2 = join(dir, 'oc-000002.log');
  writeLog(log1, 1, [set('', 'a', str('1')), set('m', 'k', { t: 2, v: 1n << 40n }), set('', 'gone', str('x')), set('', 'old', str('o'), NOW - 5)]);
  writeLog(log2, 2, [set('', 'a', str('2')), del('', 'gone'), set('', 'bin', { t: 4, v: Buffer.from([0, 1, 2]) }, NOW + 3600_000)]);
  const out = join(dir, 'state.oc');
  const rep = await compactFiles([log1, log2], out, { nowMs: NOW });
  assert.equal(rep.files, 2);
  assert.equal(rep.records, 7);
  assert.equal(rep.itemsWritten, 3);
  assert.equal(rep.expiredDropped, 1);
  assert.deepEqual(rep.torn, []);
  assert.equal(rep.bytes, statSync(out).size);
  assert.equal(existsSync(`${out}.tmp-${process.pid}`), false);
  const h = await readFileHeader(out);
  assert.equal(h.kind, FileKind.compacted);
  assert.equal(h.recordCount, 3);
  const ops: number[] = [];
  await scanFile(out, (rec) => ops.push(rec.update?.op ?? -1));
  assert.deepEqual(ops, [UpdateOp.set, UpdateOp.set, UpdateOp.set], 'a compacted file holds only sets');

  // A compacted file is a valid input: compacting it again, then later logs on top.
  const log3 = join(dir, 'oc-000003.log');
  writeLog(log3, 3, [mapDel('m'), set('', 'new', str('n'))]);
  const { state } = await loadFiles([out, log3]);
  assert.deepEqual(liveOf(state), { '|a': '2', '|bin': `\u0000\u0001\u0002@${NOW + 3600_000}`, '|new': 'n' });
});

test('a save file is a valid input too', async () => {
  const dir = makeTempDir('oc-compact-');
  const save = join(dir, 'oc.save');
  await writeSaveFile(save, [
    { map: '', key: 's', expiresAtMs: 0, value: str('saved') },
    { map: 'm', key: 'k', expiresAtMs: NOW + 1000, value: { t: 1, v: 5 } },
  ]);
  const { state } = await loadFiles([save]);
  assert.deepEqual(liveOf(state), { '|s': 'saved', 'm|k': `5@${NOW + 1000}` });
  assert.equal((await readSaveFile(save)).items.length, 2);
});

test('compact: a torn record at the end of the newest file is reported and skipped, the rest is intact', async () => {
  const dir = makeTempDir('oc-compact-');
  const log1 = join(dir, 'oc-000001.log');
  const log2 = join(dir, 'oc-000002.log');
  writeLog(log1, 1, [set('', 'a', str('1')), set('', 'b', str('1'))]);
  const tail = set('', 'c', str('lost in the crash'));
  writeLog(log2, 2, [set('', 'a', str('2')), tail]);
  const size = statSync(log2).size;
  truncateSync(log2, size - 4);
  const torn: string[] = [];
  const rep = await compactFiles([log1, log2], join(dir, 'out.oc'), { nowMs: NOW, onTorn: (t) => torn.push(`${t.file}@${t.offset}`) });
  const tornAt = size - encodeRecordBuffer(tail).length;
  assert.deepEqual(torn, [`${log2}@${tornAt}`]);
  assert.equal(rep.torn.length, 1);
  assert.equal(rep.itemsWritten, 2);
  const { state } = await loadFiles([join(dir, 'out.oc')]);
  assert.deepEqual(liveOf(state), { '|a': '2', '|b': '1' });
});

test('compact: damage in an older file, or a torn tail inside a run, is an error naming the file and offset', async () => {
  const dir = makeTempDir('oc-compact-');
  const log1 = join(dir, 'oc-000001.log');
  const log2 = join(dir, 'oc-000002.log');
  writeLog(log1, 1, [set('', 'a', str('1')), set('', 'b', str('1')), set('', 'c', str('1'))]);
  writeLog(log2, 2, [set('', 'a', str('2'))]);
  const buf = readFileSync(log1);
  const second = FILE_HEADER_BYTES + encodeRecordBuffer(set('', 'a', str('1'))).length;
  buf[second + 12] ^= 0x01;
  writeFileSync(log1, buf);
  const out = join(dir, 'out.oc');
  await assert.rejects(
    () => compactFiles([log1, log2], out),
    (e: unknown) => e instanceof LogReadError && e.file === log1 && e.offset === second && e.message.startsWith(log1) && e.message.includes(`offset ${second}`),
  );
  assert.equal(existsSync(out), false, 'nothing is written when the input is damaged');

  writeLog(log1, 1, [set('', 'a', str('1')), set('', 'b', str('1'))]);
  truncateSync(log1, statSync(log1).size - 2);
  await assert.rejects(
    () => compactFiles([log1, log2], out),
    (e: unknown) => e instanceof LogReadError && e.file === log1 && e.code === 'torn',
  );
});

test('compact: log files out of order are refused; a missing file of the series is reported', async () => {
  const dir = makeTempDir('oc-compact-');
  const log1 = join(dir, 'oc-000001.log');
  const log3 = join(dir, 'oc-000003.log');
  writeLog(log1, 1, [set('', 'a', str('1'))]);
  writeLog(log3, 3, [set('', 'a', str('3'))]);
  await assert.rejects(
    () => loadFiles([log3, log1]),
    (e: unknown) => e instanceof LogReadError && e.code === 'order' && e.file === log1,
  );
  const { report, state } = await loadFiles([log1, log3]);
  assert.deepEqual(report.missingLogFiles, [2]);
  assert.deepEqual(liveOf(state), { '|a': '3' });
});
