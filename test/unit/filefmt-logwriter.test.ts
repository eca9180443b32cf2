// Unit tests of the log writer and reader: size-based rotation, continuation after a restart
// (new file, old files untouched), a torn tail left by a crash, and drops when the buffer is full.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, truncateSync, writeFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pino } from 'pino';
import { LogWriter, type FsyncPolicy } from '../../src/logger/log-writer.js';
import { listLogFiles, LogReadError, readFiles, type TornReport } from '../../src/logger/log-reader.js';
import { readFileHeader } from '../../src/protocol/filefmt-io.js';
import { encodeRecordBuffer, FILE_HEADER_BYTES, FileFlag, type FileRecord } from '../../src/protocol/filefmt.js';
import { UpdateOp } from '../../src/protocol/messages/node.js';
import { cleanup, makeTempDir } from '../helpers/nodes.js';

after(cleanup);

const silent = pino({ level: 'silent' });

function rec(i: number, size = 40): FileRecord {
  return { mask: 0xff, hash: i & 0xff, epoch: 1, seq: i, update: { op: UpdateOp.set, map: '', key: `key-${i}`, expiresAtMs: 0, value: { t: 3, v: Buffer.alloc(size, i & 0x7f) } } };
}

async function openWriter(dir: string, o: { maxFileBytes?: number; fsync?: FsyncPolicy; bufferBytesMax?: number } = {}): Promise<LogWriter> {
  return LogWriter.open({ dir, maxFileBytes: o.maxFileBytes ?? 4096, fsync: o.fsync ?? 'interval', bufferBytesMax: o.bufferBytesMax, log: silent });
}

async function readAll(files: string[]): Promise<{ seqs: number[]; torn: TornReport[] }> {
  const seqs: number[] = [];
  const s = await readFiles(files, { onRecord: (r) => seqs.push(r.seq) });
  return { seqs, torn: s.torn };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

test('rotation: files stay under the size limit, numbered in order, and hold every record in order', async () => {
  const dir = makeTempDir('oc-log-');
  const w = await openWriter(dir, { maxFileBytes: 4096 });
  const recordBytes = encodeRecordBuffer(rec(0)).length;
  for (let i = 0; i < 300; i++) assert.equal(w.appendRecord(rec(i)), true);
  await w.close();
  const files = await listLogFiles(dir);
  assert.ok(files.length >= 300 / Math.floor((4096 - FILE_HEADER_BYTES) / recordBytes), `${files.length} files`);
  assert.deepEqual(
    files.map((f) => basename(f)),
    files.map((_, i) => `oc-${String(i + 1).padStart(6, '0')}.log`),
  );
  for (const [i, f] of files.entries()) {
    assert.ok(statSync(f).size <= 4096, `${f} is ${statSync(f).size} bytes`);
    const h = await readFileHeader(f);
    assert.equal(h.fileSeq, i + 1);
    assert.equal((h.flags & FileFlag.runStart) !== 0, i === 0, `runStart only on the first file of the run (${f})`);
  }
  const all = await readAll(files);
  assert.deepEqual(all.seqs, range(0, 300));
  assert.deepEqual(all.torn, []);
  assert.equal(w.stats.appended, 300);
  assert.equal(w.stats.filesCreated, files.length);
});

test('a restart continues with the next file number and never touches the old files', async () => {
  const dir = makeTempDir('oc-log-');
  const w1 = await openWriter(dir, { maxFileBytes: 2048 });
  for (let i = 0; i < 50; i++) w1.appendRecord(rec(i));
  await w1.close();
  const first = await listLogFiles(dir);
  const snapshot = first.map((f) => readFileSync(f));

  const w2 = await openWriter(dir, { maxFileBytes: 2048 });
  for (let i = 50; i < 80; i++) w2.appendRecord(rec(i));
  await w2.close();
  const files = await listLogFiles(dir);
  assert.deepEqual(files.slice(0, first.length), first);
  first.forEach((f, i) => assert.deepEqual(readFileSync(f), snapshot[i], `${f} unchanged`));
  const resumed = await readFileHeader(files[first.length]!);
  assert.equal(resumed.fileSeq, first.length + 1);
  assert.ok((resumed.flags & FileFlag.runStart) !== 0, 'the first file of the new run is marked');
  assert.deepEqual((await readAll(files)).seqs, range(0, 80));
});

test('a torn tail from a crash: skipped and reported when the file is the newest or the last of its run', async () => {
  const dir = makeTempDir('oc-log-');
  const w1 = await openWriter(dir, { maxFileBytes: 1 << 20 });
  for (let i = 0; i < 20; i++) w1.appendRecord(rec(i));
  await w1.close();
  const [crashed] = await listLogFiles(dir);
  // What a kill -9 in the middle of a write leaves: the last record cut short.
  const size = statSync(crashed!).size;
  truncateSync(crashed!, size - 7);

  const alone = await readAll([crashed!]);
  assert.deepEqual(alone.seqs, range(0, 19));
  assert.equal(alone.torn.length, 1);
  assert.equal(alone.torn[0]!.file, crashed);
  assert.equal(alone.torn[0]!.offset, size - encodeRecordBuffer(rec(19)).length);

  // The logger restarts: a new run begins in the next file; the torn file is left as it is.
  const w2 = await openWriter(dir, { maxFileBytes: 1 << 20 });
  for (let i = 20; i < 30; i++) w2.appendRecord(rec(i));
  await w2.close();
  assert.equal(statSync(crashed!).size, size - 7);
  const both = await readAll(await listLogFiles(dir));
  assert.deepEqual(both.seqs, [...range(0, 19), ...range(20, 30)]);
  assert.equal(both.torn.length, 1);
});

test('a torn tail inside a run (not followed by a new run) is an error naming the file and offset', async () => {
  const dir = makeTempDir('oc-log-');
  const w = await openWriter(dir, { maxFileBytes: 1024 });
  for (let i = 0; i < 40; i++) w.appendRecord(rec(i));
  await w.close();
  const files = await listLogFiles(dir);
  assert.ok(files.length >= 3);
  const middle = files[1]!;
  truncateSync(middle, statSync(middle).size - 5);
  await assert.rejects(
    () => readAll(files),
    (e: unknown) => e instanceof LogReadError && e.file === middle && e.code === 'torn' && e.offset !== undefined && e.message.includes(middle) && /offset \d+/.test(e.message),
  );
});

test('damage in the middle of a log file is an error naming the file and the offset', async () => {
  const dir = makeTempDir('oc-log-');
  const w = await openWriter(dir, { maxFileBytes: 1 << 20 });
  for (let i = 0; i < 10; i++) w.appendRecord(rec(i));
  await w.close();
  const [file] = await listLogFiles(dir);
  const buf = readFileSync(file!);
  const recordBytes = encodeRecordBuffer(rec(0)).length;
  const third = FILE_HEADER_BYTES + 2 * recordBytes;
  buf[third + 30] ^= 0xff;
  writeFileSync(file!, buf);
  await assert.rejects(
    () => readAll([file!]),
    (e: unknown) => e instanceof LogReadError && e.file === file && e.code === 'checksum' && e.offset === third && e.message.includes(`offset ${third}`),
  );
});

test('a log file created an instant before a crash (shorter than its header) is skipped when it is the newest', async () => {
  const dir = makeTempDir('oc-log-');
  const w = await openWriter(dir);
  for (let i = 0; i < 5; i++) w.appendRecord(rec(i));
  await w.close();
  const [file] = await listLogFiles(dir);
  const empty = join(dir, 'oc-000002.log');
  writeFileSync(empty, readFileSync(file!).subarray(0, 10));
  const r = await readAll([file!, empty]);
  assert.deepEqual(r.seqs, range(0, 5));
  assert.equal(r.torn.length, 1);
  assert.equal(r.torn[0]!.file, empty);
});

test('when the buffer is full, records are dropped and counted, never waited for; the rest are written', async () => {
  const dir = makeTempDir('oc-log-');
  const recordBytes = encodeRecordBuffer(rec(0)).length;
  const w = await openWriter(dir, { maxFileBytes: 1 << 20, bufferBytesMax: recordBytes * 10 });
  const accepted: number[] = [];
  // All in one turn of the event loop: the disk writer cannot run in between.
  for (let i = 0; i < 25; i++) if (w.appendRecord(rec(i))) accepted.push(i);
  assert.deepEqual(accepted, range(0, 10));
  assert.equal(w.stats.dropped, 15);
  await w.flush();
  assert.equal(w.stats.bufferBytes, 0);
  // Once the writer has caught up, records are accepted again.
  assert.equal(w.appendRecord(rec(100)), true);
  await w.close();
  assert.equal(w.appendRecord(rec(101)), false, 'nothing is accepted after close');
  assert.deepEqual((await readAll(await listLogFiles(dir))).seqs, [...range(0, 10), 100]);
  assert.equal(readdirSync(dir).length, 1);
});

test('fsync policy: always syncs on every drain; never syncs only when the file is closed', async () => {
  const always = await openWriter(makeTempDir('oc-log-'), { fsync: 'always', maxFileBytes: 1 << 20 });
  const syncsAtOpen = always.stats.fsyncs;
  always.appendRecord(rec(1));
  await always.flush();
  always.appendRecord(rec(2));
  await always.flush();
  assert.equal(always.stats.fsyncs - syncsAtOpen, 2);
  await always.close();

  const never = await openWriter(makeTempDir('oc-log-'), { fsync: 'never', maxFileBytes: 1 << 20 });
  never.appendRecord(rec(1));
  await never.flush();
  assert.equal(never.stats.fsyncs, 0);
  await never.close();
  assert.equal(never.stats.fsyncs, 1, 'close fsyncs what it wrote');
});
