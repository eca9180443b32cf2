// bench:compare's arithmetic: the seeded shuffled order (each case and system once per round, the same
// order for the same seed) and the ratio taken per round (ours / redis of the same round), median and min-max.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CASES, pickCases } from '../../bench/compare-cases.js';
import type { RunRecord } from '../../bench/compare-run.js';
import { schedule, stat, summarize } from '../../bench/compare-stats.js';

test('schedule: every (case, system) once per round, rounds in sequence, the same order for the same seed', () => {
  const cases = CASES.slice(0, 5);
  const a = schedule(cases, 3, 1234);
  assert.equal(a.length, 3 * 5 * 2);
  for (let round = 1; round <= 3; round++) {
    const inRound = a.slice((round - 1) * 10, round * 10);
    assert.ok(inRound.every((s) => s.round === round));
    assert.equal(new Set(inRound.map((s) => `${s.case.name} ${s.system}`)).size, 10);
  }
  const key = (xs: typeof a): string => xs.map((s) => `${s.round}${s.case.name}${s.system}`).join(',');
  assert.equal(key(schedule(cases, 3, 1234)), key(a));
  assert.notEqual(key(schedule(cases, 3, 99)), key(a), 'another seed, another order');
});

test('stat: median of odd and even counts, min-max, non-finite values left out', () => {
  assert.deepEqual(stat([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  assert.deepEqual(stat([4, 1, 2, 3]), { median: 2.5, min: 1, max: 4, n: 4 });
  assert.deepEqual(stat([NaN, 5]), { median: 5, min: 5, max: 5, n: 1 });
  assert.equal(stat([]), null);
});

function run(system: 'ours' | 'redis', round: number, opsPerSec: number, ok = true): RunRecord {
  return { case: 'set-100b-x50', system, round, ok, serverPid: 1, loadPid: 2, ops: 1, durationSec: 1, opsPerSec, mbPerSec: 0, p50Ms: 1, p99Ms: 1, errors: 0,
    serverCpuUsPerOp: 1, loadCpuUsPerOp: 1, preloadSec: 0 };
}

test('summarize: the ratio pairs each round with itself; a failed run drops its round from the ratios and is counted', () => {
  const [spec] = pickCases('set-100b-x50', false);
  const runs = [run('ours', 1, 200), run('redis', 1, 100), run('ours', 2, 100), run('redis', 2, 200), run('ours', 3, 300), run('redis', 3, 100, false)];
  const s = summarize(spec!, runs);
  assert.deepEqual(s.ratio.opsPerSec, { median: 1.25, min: 0.5, max: 2, n: 2 });
  assert.deepEqual(s.ours.opsPerSec, { median: 200, min: 100, max: 300, n: 3 });
  assert.deepEqual(s.redis.opsPerSec, { median: 150, min: 100, max: 200, n: 2 });
  assert.equal(s.failedRuns, 1);
});

test('pickCases: unknown and repeated names are usage errors; --quick cuts key counts', () => {
  assert.throws(() => pickCases('nope', false), /unknown case 'nope'/);
  assert.throws(() => pickCases('set-100b-x1,set-100b-x1', false), /twice/);
  assert.equal(pickCases('mem-100b-1m', true)[0]!.keys, 20_000);
  assert.equal(pickCases('mem-100b-1m', false)[0]!.keys, 1_000_000);
});
