// Pure parts of the operator's view: stats as INFO-like text, the transfer summary of the logs,
// and the choice of log format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { statsInfoLines } from '../../src/cli/stats-text.js';
import { TransferSummary, TRANSFER_IDLE_MS } from '../../src/server/transfer-summary.js';
import { resolveLogFormat } from '../../src/server/log.js';

test('stats text: sections in a fixed order, readable units, unknown fields kept under Other', () => {
  const lines = statsInfoLines({
    addr: 'a:1', uptimeMs: 25_406, items: 10, itemsByRole: { primary: 6, backup: 4, other: 0 },
    memoryBytes: { rss: 74_551_296, heapUsed: 10_000_000 }, ops: { reads: 254, writes: 0 },
    admission: { closedPendingBytes: 2 }, members: [{ addr: 'b:2', role: 'data', state: 'alive' }], dead: [],
    transfer: null, somethingNew: { deep: 1 },
  });
  const sections = lines.filter((l) => l.startsWith('# '));
  assert.deepEqual(sections, ['# Server', '# Keyspace', '# Memory', '# Operations', '# Transfers', '# Members', '# Admission', '# Other']);
  for (const want of ['uptime: 25.4 s', 'rss: 74.6 MB', 'heap used: 10.0 MB', 'reads: 254 (10.0 ops/s since start)', 'items primary: 6', 'items backup: 4',
    'closed over pending bytes: 2', 'member: b:2 (role data, state alive)', 'dead: none', 'transfer: none', 'somethingNew.deep: 1']) {
    assert.ok(lines.includes(want), `${want} in\n${lines.join('\n')}`);
  }
});

function collectingLogger(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

test('transfer summary: moves to one target are one line once idle, interleaved targets one line each', async () => {
  const { log, lines } = collectingLogger();
  const s = new TransferSummary(log);
  let now = 1000;
  for (let b = 0; b < 100; b++) {
    const target = b % 2 === 0 ? 'x:1' : 'y:2';
    s.moveStarted(target, now);
    now += 5;
    s.moveDone(target, b % 4 === 1 ? 'promote' : 'backup', b !== 7, b % 4 === 1 ? 0 : 10, now);
    s.tick(now);
  }
  assert.equal(lines.length, 0, 'nothing while the transfers go on');
  s.moveStarted('x:1', now);
  s.tick(now + TRANSFER_IDLE_MS * 5);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(lines.map((l) => l['to']), ['y:2'], 'a move in flight keeps its transfer open');
  s.moveDone('x:1', 'backup', true, 3, now + 1);
  s.tick(now + 1 + TRANSFER_IDLE_MS);
  await new Promise((resolve) => setImmediate(resolve));
  const x = lines.find((l) => l['to'] === 'x:1')!;
  const y = lines.find((l) => l['to'] === 'y:2')!;
  assert.deepEqual([x['buckets'], x['items'], x['failedAttempts']], [51, 503, 0]);
  assert.deepEqual([y['buckets'], y['promoted'], y['backupsCopied'], y['items'], y['failedAttempts']], [49, 25, 24, 240, 1]);
  assert.match(String(x['msg']), /^transfer to x:1 done: 51 buckets, 503 items in \d+\.\d s$/);
});

test('log format: the flag decides; else pretty only on a terminal and not to a file', () => {
  assert.equal(resolveLogFormat(undefined, false, true), 'pretty');
  assert.equal(resolveLogFormat(undefined, false, false), 'json');
  assert.equal(resolveLogFormat(undefined, true, true), 'json');
  assert.equal(resolveLogFormat('json', false, true), 'json');
  assert.equal(resolveLogFormat('pretty', true, false), 'pretty');
  assert.throws(() => resolveLogFormat('fancy', false, false), /--log-format must be one of pretty, json/);
});
