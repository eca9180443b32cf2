// Unit tests of the logging node's per-bucket sequence tracking: in order, gaps, late arrivals
// that fill a gap, proven duplicates (the only records dropped), rewinds and restarted histories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BucketTracker, MISSING_SEQS_PER_BUCKET_MAX } from '../../src/logger/bucket-tracker.js';

test('consecutive seqs are in order; a skip is a gap with expected and got', () => {
  const t = new BucketTracker();
  assert.equal(t.observe(0xff, 1, 1, 10, 100).kind, 'first');
  assert.equal(t.observe(0xff, 1, 1, 11, 101).kind, 'inOrder');
  assert.deepEqual(t.observe(0xff, 1, 1, 15, 102), { kind: 'gap', lastEpoch: 1, expected: 12, got: 15, afterRestart: false });
  assert.equal(t.counters.gaps, 1);
  assert.equal(t.counters.missedUpdates, 3);
  assert.equal(t.missingNow, 3);
  // Buckets are independent.
  assert.equal(t.observe(0xff, 2, 1, 500, 1).kind, 'first');
  assert.equal(t.observe(0xff, 2, 1, 501, 2).kind, 'inOrder');
});

test('a sequence continues across a new epoch (a bucket moved); a late update from the old owner fills its gap', () => {
  const t = new BucketTracker();
  t.observe(0xff, 3, 1, 1, 1);
  t.observe(0xff, 3, 1, 2, 2);
  // The new owner's first update overtakes the old owner's last one.
  assert.equal(t.observe(0xff, 3, 2, 4, 4).kind, 'gap');
  assert.equal(t.observe(0xff, 3, 1, 3, 3).kind, 'late');
  assert.equal(t.missingNow, 0);
  assert.equal(t.observe(0xff, 3, 2, 5, 5).kind, 'inOrder');
  assert.equal(t.counters.late, 1);
});

test('only a proven repeat (same epoch, seq and content) is a duplicate', () => {
  const t = new BucketTracker();
  t.observe(0xff, 4, 1, 1, 11);
  t.observe(0xff, 4, 1, 2, 22);
  assert.equal(t.observe(0xff, 4, 1, 2, 22).kind, 'duplicate');
  assert.equal(t.observe(0xff, 4, 1, 1, 11).kind, 'duplicate');
  assert.equal(t.counters.duplicates, 2);
  // Same seq, other content: not a repeat; the bucket's history went back (kept, counted).
  assert.equal(t.observe(0xff, 4, 1, 2, 99).kind, 'restarted');
});

test('a whole-cluster restart (epoch and seq start again) is accepted, not dropped as duplicates', () => {
  const t = new BucketTracker();
  for (let s = 1; s <= 100; s++) t.observe(0xff, 5, 7, s, s);
  const v = t.observe(0xff, 5, 1, 1, 12345);
  assert.deepEqual(v, { kind: 'restarted', lastEpoch: 7, last: 100 });
  assert.equal(t.observe(0xff, 5, 1, 2, 12346).kind, 'inOrder');
  assert.equal(t.counters.duplicates, 0);
});

test('a failover that continues below the last seq logged is a rewind', () => {
  const t = new BucketTracker();
  t.observe(0xff, 6, 3, 10, 1);
  t.observe(0xff, 6, 3, 11, 2);
  assert.deepEqual(t.observe(0xff, 6, 4, 11, 3), { kind: 'rewind', lastEpoch: 3, last: 11 });
  assert.equal(t.observe(0xff, 6, 4, 12, 4).kind, 'inOrder');
});

test('seeded from an earlier run: the first update tells the gap since then, and seeds never cause a drop', () => {
  const t = new BucketTracker();
  t.seed(0xff, 1, 2, 40);
  t.seed(0xff, 1, 2, 50);
  t.seed(0xff, 1, 2, 45);
  t.seed(0xff, 2, 2, 10);
  t.seed(0xff, 3, 9, 10);
  assert.equal(t.bucketsKnown, 3);
  assert.deepEqual(t.observe(0xff, 1, 2, 58, 0), { kind: 'gap', lastEpoch: 2, expected: 51, got: 58, afterRestart: true });
  assert.equal(t.observe(0xff, 2, 2, 11, 0).kind, 'inOrder');
  assert.equal(t.observe(0xff, 3, 1, 1, 0).kind, 'restarted');
});

test('missing seqs are bounded per bucket', () => {
  const t = new BucketTracker();
  t.observe(0xff, 7, 1, 1, 0);
  t.observe(0xff, 7, 1, 1 + MISSING_SEQS_PER_BUCKET_MAX * 3, 0);
  assert.equal(t.missingNow, MISSING_SEQS_PER_BUCKET_MAX);
  assert.equal(t.counters.missedUpdates, MISSING_SEQS_PER_BUCKET_MAX * 3 - 1);
  assert.equal(t.counters.forgottenMissing, MISSING_SEQS_PER_BUCKET_MAX * 2 - 1);
  // A late one among the remembered (newest) seqs fills; one among the forgotten is a restart.
  assert.equal(t.observe(0xff, 7, 1, MISSING_SEQS_PER_BUCKET_MAX * 3 - 5, 0).kind, 'late');
});

test('a snapshot sets the bucket at its seq: missing seqs at or below it are closed, updates it covers are skipped, the stream goes on after it', () => {
  const t = new BucketTracker();
  t.observe(0xff, 7, 1, 1, 11);
  assert.equal(t.observe(0xff, 7, 1, 5, 15).kind, 'gap');
  assert.equal(t.missingNow, 3);
  assert.deepEqual(t.snapshot(0xff, 7, 1, 8), { last: { epoch: 1, seq: 5, seeded: false }, closed: 3 });
  assert.equal(t.missingNow, 0);
  assert.equal(t.observe(0xff, 7, 1, 6, 16).kind, 'covered', 'queued behind the snapshot, already in it');
  assert.equal(t.observe(0xff, 7, 1, 8, 18).kind, 'covered');
  assert.equal(t.observe(0xff, 7, 1, 9, 19).kind, 'inOrder');
  assert.equal(t.observe(0xff, 7, 2, 10, 20).kind, 'inOrder', 'a new owner continues');
  // A bucket never seen: the snapshot is its start.
  assert.deepEqual(t.snapshot(0xff, 8, 3, 40), { last: undefined, closed: 0 });
  assert.equal(t.observe(0xff, 8, 3, 41, 1).kind, 'inOrder');
  assert.equal(t.counters.snapshots, 2);
  assert.equal(t.counters.covered, 2);
});
