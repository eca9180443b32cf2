// Unit tests of compaction with bucket snapshots: a snapshot replaces its bucket's state at its seq
// (updates at or below the seam skipped, later ones applied after it, even when they come between
// its begin and end), an incomplete snapshot is not applied, and every range of a bucket's history
// that no snapshot closed is reported (missing seqs, rewinds), in the API and in `compact --json`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompactState, loadFiles } from '../../src/logger/compact.js';
import { encodeHeader, encodeRecordBuffer, FileFlag, FileKind, LOG_FORMAT_VERSION, type FileRecord, type RecordStamp } from '../../src/protocol/filefmt.js';
import { UpdateOp, type Item } from '../../src/protocol/messages/node.js';
import { fnv1aLatin1 } from '../../src/shared/fnv.js';
import { readSaveFile } from '../../src/server/savefile.js';
import { cleanup, makeTempDir, runCli } from '../helpers/nodes.js';

after(cleanup);

const MASK = 0xff;
const NOW = 1_800_000_000_000;

/** A plain key that lands in bucket b (mask 0xff). */
function keyIn(b: number, prefix: string): string {
  for (let i = 0; ; i++) {
    const k = `${prefix}${i}`;
    if ((fnv1aLatin1(k) & MASK) === b) return k;
  }
}

const st = (hash: number, epoch: number, seq: number): RecordStamp => ({ mask: MASK, hash, epoch, seq });
const item = (key: string, v: string, map = ''): Item => ({ map, key, expiresAtMs: 0, value: { t: 3, v: Buffer.from(v) } });
const set = (s: RecordStamp, key: string, v: string): FileRecord => ({ ...s, update: { op: UpdateOp.set, map: '', key, expiresAtMs: 0, value: { t: 3, v: Buffer.from(v) } } });
const del = (s: RecordStamp, key: string): FileRecord => ({ ...s, update: { op: UpdateOp.delete, map: '', key, expiresAtMs: 0, value: null } });
function snapshot(s: RecordStamp, items: Item[], end = true): FileRecord[] {
  const out: FileRecord[] = [{ ...s, snapshot: { part: 'begin', items: items.length } }];
  for (const it of items) out.push({ ...s, snapshot: { part: 'item', item: it } });
  if (end) out.push({ ...s, snapshot: { part: 'end', items: items.length } });
  return out;
}

function liveOf(state: CompactState): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { item: it } of state.live(NOW)) out[`${it.map}|${it.key}`] = it.value.v.toString();
  return out;
}

function applyAll(records: FileRecord[]): CompactState {
  const s = new CompactState();
  for (const r of records) s.apply(r);
  s.finish();
  return s;
}

const B = 0x2c;
const C = 0x51;
const a = keyIn(B, 'a');
const b = keyIn(B, 'b');
const c = keyIn(B, 'c');
const other = keyIn(C, 'o');

test('a snapshot replaces its bucket at its seq: keys deleted in a gap vanish, other buckets stay, the seam neither misses nor doubles', () => {
  const s = applyAll([
    set(st(B, 1, 1), a, 'a1'),
    set(st(B, 1, 2), b, 'b1'),
    set(st(C, 1, 1), other, 'o1'),
    // seqs 3..5 lost (b deleted, c set, a changed), then the stream goes on at 6
    set(st(B, 1, 6), c, 'c6'),
    ...snapshot(st(B, 1, 6), [item(a, 'a5'), item(c, 'c6')]),
    set(st(B, 1, 5), a, 'late-from-old-owner'), // at or below the seam: already in the snapshot
    set(st(B, 1, 7), a, 'a7'),
  ]);
  assert.deepEqual(liveOf(s), { [`|${a}`]: 'a7', [`|${c}`]: 'c6', [`|${other}`]: 'o1' });
  assert.equal(s.counters.snapshots, 1);
  assert.equal(s.counters.coveredBySnapshot, 1);
  assert.deepEqual(s.histories.gaps(), [], 'the snapshot closed the gap 3-5');
});

test('updates of the bucket newer than the seam that come between begin and end are applied after the snapshot', () => {
  const [begin, ...rest] = snapshot(st(B, 2, 10), [item(a, 'a10'), item(b, 'b10')]);
  const s = applyAll([begin!, set(st(B, 3, 11), a, 'a11'), del(st(B, 3, 12), b), ...rest]);
  assert.deepEqual(liveOf(s), { [`|${a}`]: 'a11' });
  assert.deepEqual(s.histories.gaps(), []);
});

test('a snapshot that never ends is not applied; the updates it held are, and the gap it would have closed is reported', () => {
  const s = applyAll([
    set(st(B, 1, 1), a, 'a1'),
    set(st(B, 1, 4), b, 'b4'),
    ...snapshot(st(B, 1, 4), [item(c, 'c-only-in-snapshot')], false),
    set(st(B, 1, 5), a, 'a5'),
  ]);
  assert.deepEqual(liveOf(s), { [`|${a}`]: 'a5', [`|${b}`]: 'b4' });
  assert.equal(s.counters.incompleteSnapshots, 1);
  assert.equal(s.counters.snapshots, 0);
  assert.deepEqual(s.histories.gaps(), [{ bucket: 'ff/2c', mask: MASK, hash: B, kind: 'missing', fromSeq: 2, toSeq: 3 }]);
});

test('gaps: a seq jump, a late arrival filling part of it, a rewind, and history missing before the first record are reported', () => {
  const s = applyAll([
    set(st(B, 1, 1), a, '1'),
    set(st(B, 1, 6), a, '6'), // 2..5 missing
    set(st(B, 1, 3), b, '3'), // late: fills 3
    set(st(C, 1, 4), other, 'o4'), // C's history starts at 4: 1..3 missing
    set(st(C, 2, 3), other, 'o3'), // new epoch below the last: rewind 3..4
  ]);
  assert.deepEqual(s.histories.gaps(), [
    { bucket: 'ff/2c', mask: MASK, hash: B, kind: 'missing', fromSeq: 2, toSeq: 2 },
    { bucket: 'ff/2c', mask: MASK, hash: B, kind: 'missing', fromSeq: 4, toSeq: 5 },
    { bucket: 'ff/51', mask: MASK, hash: C, kind: 'missing', fromSeq: 1, toSeq: 3 },
    { bucket: 'ff/51', mask: MASK, hash: C, kind: 'rewind', fromSeq: 3, toSeq: 4 },
  ]);
  // A later snapshot of C closes C's ranges up to its seq; B's stay.
  const t = applyAll([set(st(C, 1, 4), other, 'o4'), set(st(C, 2, 3), other, 'o3'), ...snapshot(st(C, 2, 3), [item(other, 'o3')])]);
  assert.deepEqual(t.histories.gaps(), []);
});

test('compact --json and its text report the gaps left; the log is format version 2; a save file with a snapshot record is refused', async () => {
  const dir = makeTempDir('oc-compact-snap-');
  const log = join(dir, 'oc-000001.log');
  const header = encodeHeader({ version: LOG_FORMAT_VERSION, kind: FileKind.log, flags: FileFlag.runStart, createdAtMs: NOW, fileSeq: 1, recordCount: -1 });
  const records = [...snapshot(st(B, 1, 3), [item(a, 'a3')]), set(st(B, 1, 4), a, 'a4'), set(st(B, 1, 9), b, 'b9')];
  writeFileSync(log, Buffer.concat([header, ...records.map(encodeRecordBuffer)]));
  const { report, state } = await loadFiles([log]);
  assert.deepEqual(liveOf(state), { [`|${a}`]: 'a4', [`|${b}`]: 'b9' });
  assert.deepEqual(report.gaps, [{ bucket: 'ff/2c', mask: MASK, hash: B, kind: 'missing', fromSeq: 5, toSeq: 8 }]);

  const json = await runCli(['compact', log, '--out', join(dir, 'out.oc'), '--json']);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { gaps: unknown[]; snapshots: { applied: number } };
  assert.deepEqual(parsed.gaps, report.gaps);
  assert.equal(parsed.snapshots.applied, 1);
  const text = await runCli(['compact', log, '--out', join(dir, 'out2.oc')]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /1 snapshots applied, 1 gaps not closed/);
  assert.match(text.stdout, /gap: bucket ff\/2c seqs 5-8 missing from the files/);

  const save = join(dir, 'bad.save');
  const saveHeader = encodeHeader({ version: 1, kind: FileKind.save, flags: 0, createdAtMs: NOW, fileSeq: 0, recordCount: 1 });
  writeFileSync(save, Buffer.concat([saveHeader, encodeRecordBuffer({ ...st(B, 1, 3), snapshot: { part: 'item', item: item(a, 'x') } })]));
  await assert.rejects(() => readSaveFile(save), /not a set \(snapshot item\)/);
});
