// Unit tests of the lease fence (src/server/membership/lease-fence.ts): when the write leases this
// node's heartbeat answers granted to members it declared dead run out, what its heartbeats report
// of that, and the end over its own fence and the members' reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FENCE_REPORT_MAX_MS, LeaseFence } from '../../src/server/membership/lease-fence.js';

test('a death declared right after an answer fences for the lease time from that answer', () => {
  const f = new LeaseFence(() => 1500);
  assert.equal(f.remainingMs(1000), 0, 'no death declared: nothing to wait for');
  f.declared({ answeredToMs: 900 });
  assert.equal(f.remainingMs(1000), 1400);
  assert.equal(f.remainingMs(2399.5), 1, 'rounded up: a report never ends a fence early');
  assert.equal(f.remainingMs(2400), 0);
  assert.equal(f.endsMs([]), 2400);
});

test('a member never answered, or answered long ago, fences nothing; a later death only lengthens the fence', () => {
  const f = new LeaseFence(() => 1500);
  f.declared({ answeredToMs: Number.NEGATIVE_INFINITY });
  assert.equal(f.remainingMs(0), 0);
  f.declared({ answeredToMs: 5000 });
  f.declared({ answeredToMs: 100 });
  assert.equal(f.endsMs([]), 6500, 'the earlier answer does not shorten the fence');
  f.reset();
  assert.equal(f.endsMs([]), Number.NEGATIVE_INFINITY);
});

test('the end is the latest of this node\'s fence and every member\'s reported one', () => {
  const f = new LeaseFence(() => 1500);
  f.declared({ answeredToMs: 1000 });
  assert.equal(f.endsMs([{ fenceEndsMs: 1200 }, { fenceEndsMs: Number.NEGATIVE_INFINITY }]), 2500);
  assert.equal(f.endsMs([{ fenceEndsMs: 3100 }, { fenceEndsMs: 2000 }]), 3100);
});

test('a report is capped at what the frame\'s int holds', () => {
  const f = new LeaseFence(() => 10 * FENCE_REPORT_MAX_MS);
  f.declared({ answeredToMs: 0 });
  assert.equal(f.remainingMs(0), FENCE_REPORT_MAX_MS);
});
