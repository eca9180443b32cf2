// The request meter: counts by command and outcome, latency buckets, quantiles, and the outcome a reply means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cmd, ErrorCode, Reply } from '../../src/protocol/commands.js';
import { LATENCY_BOUNDS_MS, OTHER_COMMAND, Outcome, RequestMeter, outcomeOfError, outcomeOfReply, quantileMs } from '../../src/server/request-meter.js';

test('requests are counted by command name and outcome; unknown numbers share one name', () => {
  const m = new RequestMeter();
  m.record(Cmd.set, Outcome.ok, 0.02);
  m.record(Cmd.set, Outcome.redirect, 0.004);
  m.record(Cmd.get, Outcome.ok, 3);
  m.record(65_000, Outcome.error, 0.001);
  m.record(65_001, Outcome.error, 0.001);
  const byName = new Map(m.commands());
  assert.deepEqual([...byName.keys()].sort(), ['get', OTHER_COMMAND, 'set'].sort());
  const set = byName.get('set')!;
  assert.equal(set.count, 2);
  assert.equal(set.outcomes[Outcome.ok], 1);
  assert.equal(set.outcomes[Outcome.redirect], 1);
  assert.equal(set.latencyCounts[0], 1, '4 µs: the first bucket (10 µs)');
  assert.equal(set.latencyCounts[1], 1, '20 µs: the second (25 µs)');
  assert.equal(byName.get(OTHER_COMMAND)!.count, 2);
  assert.equal(m.all.count, 5);
  m.record(Cmd.get, Outcome.ok, 1e9);
  assert.equal(byName.get('get')!.latencyCounts[LATENCY_BOUNDS_MS.length], 1, 'beyond every bound: the last bucket');
});

test('quantiles are the upper bound of the bucket holding the rank', () => {
  const counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  assert.equal(quantileMs(counts, 0.99), null);
  counts[2] = 99; // 50 µs
  counts[6] = 1; // 1 ms
  assert.equal(quantileMs(counts, 0.99), 0.05);
  assert.equal(quantileMs(counts, 1), 1);
  counts[LATENCY_BOUNDS_MS.length] = 10;
  assert.equal(quantileMs(counts, 0.99), Infinity);
});

test('replies and error codes map to outcomes', () => {
  assert.equal(outcomeOfReply(Reply.ack), Outcome.ok);
  assert.equal(outcomeOfReply(Reply.value), Outcome.ok);
  assert.equal(outcomeOfReply(Reply.tryelsewhere), Outcome.redirect);
  assert.equal(outcomeOfReply(Reply.fail), Outcome.miss);
  assert.equal(outcomeOfReply(Reply.unknown), Outcome.error);
  assert.equal(outcomeOfError(ErrorCode.retryLater), Outcome.retry);
  assert.equal(outcomeOfError(ErrorCode.noOwner), Outcome.retry);
  assert.equal(outcomeOfError(ErrorCode.notAllowed), Outcome.denied);
  assert.equal(outcomeOfError(ErrorCode.authFailed), Outcome.denied);
  assert.equal(outcomeOfError(ErrorCode.badRequest), Outcome.error);
  assert.equal(outcomeOfError(ErrorCode.notFound), Outcome.miss);
});
