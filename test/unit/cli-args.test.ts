// Unit tests of the CLI's pure parts: argument validation, value output forms, the status verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseBase64,
  parseClusterAddress,
  parseExpires,
  parseInt32,
  parseInt64,
  parseTypedValue,
  parseValueType,
  UsageError,
} from '../../src/cli/args.js';
import { oneLine, valueToJson, valueToText, valueTypeOf } from '../../src/cli/output.js';
import { buildStatus, judge, VERDICT_EXIT, type NodeRow } from '../../src/cli/status-report.js';

test('--type accepts int, long, string, binary and defaults to string', () => {
  assert.equal(parseValueType(undefined), 'string');
  for (const t of ['int', 'long', 'string', 'binary'] as const) assert.equal(parseValueType(t), t);
  for (const bad of ['', 'Int', 'integer', 'float', 'str ']) assert.throws(() => parseValueType(bad), UsageError);
});

test('int values: decimal int32 only', () => {
  assert.equal(parseInt32('0'), 0);
  assert.equal(parseInt32('-7'), -7);
  assert.equal(parseInt32('2147483647'), 2147483647);
  assert.equal(parseInt32('-2147483648'), -2147483648);
  for (const bad of ['2147483648', '-2147483649', '1.5', '1e3', '', ' 1', '0x10', 'abc', '+1']) {
    assert.throws(() => parseInt32(bad), UsageError, bad);
  }
});

test('long values: decimal int64 only, as bigint', () => {
  assert.equal(parseInt64('9223372036854775807'), 9223372036854775807n);
  assert.equal(parseInt64('-9223372036854775808'), -9223372036854775808n);
  assert.equal(parseInt64('42'), 42n);
  for (const bad of ['9223372036854775808', '-9223372036854775809', '1.0', '', 'x']) {
    assert.throws(() => parseInt64(bad), UsageError, bad);
  }
});

test('int and long parsing round-trips every value in range', () => {
  fc.assert(fc.property(fc.integer(), (n) => parseInt32(String(n)) === n));
  fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => parseInt64(n.toString()) === n));
});

test('binary values are base64', () => {
  assert.deepEqual(parseBase64('AQID'), Buffer.from([1, 2, 3]));
  assert.deepEqual(parseBase64(''), Buffer.alloc(0));
  assert.deepEqual(parseBase64('AQ=='), Buffer.from([1]));
  for (const bad of ['AQI', 'A===', '@@@@', 'AQID\n']) assert.throws(() => parseBase64(bad), UsageError, bad);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => parseBase64(Buffer.from(bytes).toString('base64')).equals(Buffer.from(bytes))));
});

test('parseTypedValue types the value as --type says', () => {
  assert.equal(parseTypedValue('string', '12'), '12');
  assert.equal(parseTypedValue('int', '12'), 12);
  assert.equal(parseTypedValue('long', '12'), 12n);
  assert.deepEqual(parseTypedValue('binary', 'AAE='), Buffer.from([0, 1]));
  assert.throws(() => parseTypedValue('int', 'twelve'), UsageError);
});

test('--expires: a non-negative integer of seconds within int32', () => {
  assert.equal(parseExpires(undefined), undefined);
  assert.equal(parseExpires('0'), 0);
  assert.equal(parseExpires('60'), 60);
  assert.equal(parseExpires('2147483647'), 2147483647);
  for (const bad of ['-1', '1.5', '', 'soon', '2147483648']) assert.throws(() => parseExpires(bad), UsageError, bad);
});

test('--cluster: HOST:PORT, port defaults to 13600', () => {
  assert.equal(parseClusterAddress('127.0.0.1:13601'), '127.0.0.1:13601');
  assert.equal(parseClusterAddress('127.0.0.1'), '127.0.0.1:13600');
  for (const bad of [':13600', '127.0.0.1:0', '127.0.0.1:70000', '127.0.0.1:x']) {
    assert.throws(() => parseClusterAddress(bad), UsageError, bad);
  }
});

test('values print as text and JSON by type', () => {
  assert.deepEqual([valueTypeOf('a'), valueToJson('a'), valueToText('a')], ['string', 'a', 'a']);
  assert.deepEqual([valueTypeOf(-5), valueToJson(-5), valueToText(-5)], ['int', -5, '-5']);
  assert.deepEqual([valueTypeOf(2n ** 40n), valueToJson(2n ** 40n)], ['long', '1099511627776']);
  assert.deepEqual([valueTypeOf(Buffer.from([255])), valueToJson(Buffer.from([255]))], ['binary', '/w==']);
  assert.equal(oneLine('error: x\n(Did you mean y?)\n'), 'error: x (Did you mean y?)');
});

const MASK = 0xff;
const BUCKETS = MASK + 1;

function tableOf(primaryOf: (b: number) => string, backupOf: (b: number) => string): { mask: number; primaries: string[]; backups: string[] } {
  const primaries: string[] = [];
  const backups: string[] = [];
  for (let b = 0; b < BUCKETS; b++) {
    primaries.push(primaryOf(b));
    backups.push(backupOf(b));
  }
  return { mask: MASK, primaries, backups };
}

function row(addr: string, primary: number, backup: number, extra: Partial<NodeRow> = {}): NodeRow {
  return { addr, state: 'alive', primary, backup, items: 0, itemsPrimary: 0, itemsBackup: 0, transfer: null, incoming: null, serving: true, quorum: true, ...extra };
}

test('verdict: a node without a quorum, or one not serving, is degraded and named', () => {
  const two = (b: number): string => ['a:1', 'b:2', 'c:3'][b % 3]!;
  const other = (b: number): string => ['b:2', 'c:3', 'a:1'][b % 3]!;
  const table = tableOf(two, other);
  const healthy = [row('a:1', 86, 85), row('b:2', 85, 85), row('c:3', 85, 86)];
  assert.equal(judge(healthy, table).verdict, 'balanced');
  const cut = judge([row('a:1', 86, 85, { quorum: false, serving: false }), row('b:2', 85, 85), row('c:3', 85, 86)], table);
  assert.equal(cut.verdict, 'degraded');
  assert.match(cut.reason, /no quorum on a:1/);
  const stalled = judge([row('a:1', 86, 85), row('b:2', 85, 85, { serving: false }), row('c:3', 85, 86)], table);
  assert.equal(stalled.verdict, 'degraded');
  assert.match(stalled.reason, /not serving on b:2/);
  const unknown = judge([row('a:1', 86, 85, { serving: null, quorum: null }), row('b:2', 85, 85), row('c:3', 85, 86)], table);
  assert.equal(unknown.verdict, 'balanced', 'a node without stats (older node, not reached) is not judged on these');
});

test('verdict: a dead node is shown but judged only by its buckets: degraded while it is primary, balanced once taken over', () => {
  const two = (b: number): string => (b % 2 === 0 ? 'a:1' : 'b:2');
  const other = (b: number): string => (b % 2 === 0 ? 'b:2' : 'a:1');
  const withDead = [row('a:1', 128, 128), row('b:2', 128, 128), row('c:3', 0, 0, { state: 'dead', items: null, itemsPrimary: null, itemsBackup: null })];
  assert.equal(judge(withDead, tableOf(two, other)).verdict, 'balanced', 'a dead node holding nothing does not hold the verdict back');
  const stillPrimary = judge(withDead, tableOf((b) => (b === 5 ? 'c:3' : two(b)), other));
  assert.equal(stillPrimary.verdict, 'degraded');
  assert.match(stillPrimary.reason, /dead primary/);
  assert.equal(judge(withDead, tableOf(two, (b) => (b === 4 ? 'c:3' : other(b)))).verdict, 'degraded', 'a backup on a dead node is no backup');
  assert.deepEqual(Object.entries(VERDICT_EXIT), [['balanced', 0], ['balancing', 1], ['degraded', 3]]);
});

test('status report: dead members from the stats are rows in state dead; items split into primary and backup', () => {
  const table = tableOf((b) => (b % 2 === 0 ? 'a:1' : 'b:2'), (b) => (b % 2 === 0 ? 'b:2' : 'a:1'));
  const stat = (addr: string, primary: number, backup: number): Record<string, unknown> => ({
    addr, role: 'data', state: 'alive', items: primary + backup, itemsByRole: { primary, backup, other: 0 },
    buckets: { primary: 128, backup: 128, mask: MASK }, serving: true, quorum: true, transfer: null, incoming: null,
    members: [], dead: [{ addr: 'c:3', declaredAtMs: 1 }],
  });
  const report = buildStatus([stat('a:1', 10, 12), stat('b:2', 12, 10)], table);
  assert.deepEqual(report.nodes.map((n) => [n.addr, n.state]), [['a:1', 'alive'], ['b:2', 'alive'], ['c:3', 'dead']]);
  assert.deepEqual(report.items, { primary: 22, backup: 22 });
  assert.equal(report.verdict, 'balanced');
});

test('verdict: one node holding every bucket is balanced', () => {
  const table = tableOf(() => 'a:1', () => '');
  assert.equal(judge([row('a:1', 256, 0)], table).verdict, 'balanced');
});

test('verdict: a bucket without a primary is degraded', () => {
  const table = tableOf((b) => (b === 7 ? '' : 'a:1'), () => '');
  assert.equal(judge([row('a:1', 255, 0)], table).verdict, 'degraded');
});

test('verdict: two nodes and a bucket without a backup is degraded', () => {
  const two = (b: number): string => (b % 2 === 0 ? 'a:1' : 'b:2');
  const other = (b: number): string => (b % 2 === 0 ? 'b:2' : 'a:1');
  const nodes = [row('a:1', 128, 128), row('b:2', 128, 128)];
  assert.equal(judge(nodes, tableOf(two, other)).verdict, 'balanced');
  assert.equal(judge(nodes, tableOf(two, (b) => (b === 3 ? '' : other(b)))).verdict, 'degraded');
  assert.equal(judge(nodes, tableOf(two, two)).verdict, 'degraded', 'backup on the primary itself is no backup');
});

test('verdict: a transfer in progress or uneven counts is balancing', () => {
  const two = (b: number): string => (b % 2 === 0 ? 'a:1' : 'b:2');
  const other = (b: number): string => (b % 2 === 0 ? 'b:2' : 'a:1');
  const table = tableOf(two, other);
  const moving = [row('a:1', 128, 128, { transfer: { bucket: 4, to: 'b:2', role: 'primary' } }), row('b:2', 128, 128)];
  assert.equal(judge(moving, table).verdict, 'balancing');
  const receiving = [row('a:1', 128, 128), row('b:2', 128, 128, { incoming: { bucket: 4, from: 'a:1' } })];
  assert.equal(judge(receiving, table).verdict, 'balancing');
  assert.equal(judge([row('a:1', 128, 128), row('b:2', 128, 128, { state: 'leaving' })], table).verdict, 'balancing');
  assert.equal(judge([row('a:1', 200, 56), row('b:2', 56, 200)], table).verdict, 'balancing');
  assert.equal(judge([row('a:1', 129, 127), row('b:2', 127, 129)], table).verdict, 'balanced', 'within one of 128');
  const three = [row('a:1', 86, 85), row('b:2', 85, 85), row('c:3', 85, 86)];
  const t3 = tableOf((b) => ['a:1', 'b:2', 'c:3'][b % 3]!, (b) => ['b:2', 'c:3', 'a:1'][b % 3]!);
  assert.equal(judge(three, t3).verdict, 'balanced');
  assert.equal(judge([row('a:1', 90, 85), row('b:2', 81, 85), row('c:3', 85, 86)], t3).verdict, 'balancing');
});

test('buildStatus: nodes from stats and members, loggers apart, counts from stats', () => {
  const table = tableOf(() => 'a:1', () => '');
  const members = [
    { addr: 'a:1', role: 'data', state: 'alive' },
    { addr: 'log:9', role: 'logger', state: 'alive' },
  ];
  const stats = [
    { addr: 'a:1', role: 'data', state: 'alive', items: 12, buckets: { primary: 256, backup: 0, mask: MASK }, transfer: null, serving: true, quorum: true, members },
    'not an object',
  ];
  const report = buildStatus(stats, table);
  assert.deepEqual(report.nodes, [{ addr: 'a:1', state: 'alive', primary: 256, backup: 0, items: 12, itemsPrimary: null, itemsBackup: null, transfer: null, incoming: null, serving: true, quorum: true }]);
  assert.deepEqual(report.loggers, [{ addr: 'log:9', state: 'alive' }]);
  assert.equal(report.verdict, 'balanced');
  assert.equal(report.mask, MASK);
});

test('buildStatus: a member without stats is listed with counts from the table', () => {
  const two = (b: number): string => (b < 128 ? 'a:1' : 'b:2');
  const table = tableOf(two, (b) => (b < 128 ? 'b:2' : 'a:1'));
  const members = [
    { addr: 'a:1', role: 'data', state: 'alive' },
    { addr: 'b:2', role: 'data', state: 'alive' },
  ];
  const stats = [{ addr: 'a:1', items: 5, buckets: { primary: 128, backup: 128 }, transfer: null, members }];
  const report = buildStatus(stats, table);
  assert.equal(report.nodes.length, 2);
  assert.deepEqual(report.nodes[1], { addr: 'b:2', state: 'alive', primary: 128, backup: 128, items: null, itemsPrimary: null, itemsBackup: null, transfer: null, incoming: null, serving: null, quorum: null });
  assert.equal(report.verdict, 'balanced');
});

test('buildStatus: the mask is the one the nodes report; a client table on the default mask is read under it', () => {
  // Nodes at mask 0x0f, two of them, 8 and 8; the client's table is on 0xff, each entry i repeating i & 0x0f.
  const small = (b: number): string => ((b & 0x0f) % 2 === 0 ? 'a:1' : 'b:2');
  const other = (b: number): string => ((b & 0x0f) % 2 === 0 ? 'b:2' : 'a:1');
  const table = tableOf(small, other);
  const stats = [
    { addr: 'a:1', items: 5, buckets: { primary: 8, backup: 8, mask: 0x0f }, transfer: null, serving: true, quorum: true },
    { addr: 'b:2', items: 5, buckets: { primary: 8, backup: 8, mask: 0x0f }, transfer: null, serving: true, quorum: true },
  ];
  const report = buildStatus(stats, table);
  assert.equal(report.mask, 0x0f);
  assert.equal(report.verdict, 'balanced', report.reason);
  // A node still on the old mask during a widening: the widest reported mask is the cluster's.
  const widening = buildStatus([stats[0], { ...stats[1], buckets: { primary: 16, backup: 16, mask: 0x1f } }], table);
  assert.equal(widening.mask, 0x1f);
  // No node reported a mask: the client's.
  assert.equal(buildStatus([{ addr: 'a:1', buckets: { primary: 256, backup: 0 } }], tableOf(() => 'a:1', () => '')).mask, MASK);
});
