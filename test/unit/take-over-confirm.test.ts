// Unit tests of take-over confirmation (src/server/take-over-confirm.ts) on a manual clock: a
// bucket taken over is confirmed once every data member answered a heartbeat sent after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TakeOverConfirmations, type Answerer } from '../../src/server/take-over-confirm.js';

/** A clock that moves only when told. */
class StepClock {
  constructor(private t: number) {}
  nowMs(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

test('confirmed only once every member answered a heartbeat sent after the take-over', () => {
  const clock = new StepClock(1000);
  const members: { addedMs: number; answeredOriginMs: number }[] = [{ addedMs: 0, answeredOriginMs: 990 }, { addedMs: 0, answeredOriginMs: 995 }];
  const c = new TakeOverConfirmations(clock, () => members as readonly Answerer[], () => Number.NEGATIVE_INFINITY);
  assert.equal(c.confirmed(7), true, 'a bucket never taken over needs nothing');
  c.note([7, 9]);
  assert.equal(c.confirmed(7), false);
  clock.advance(250);
  members[0]!.answeredOriginMs = 1000; // sent at the very ms of the take-over: maybe before the broadcast
  assert.equal(c.confirmed(7), false);
  members[0]!.answeredOriginMs = 1250;
  assert.equal(c.confirmed(7), false, 'one member has not answered since');
  members[1]!.answeredOriginMs = 1250;
  assert.equal(c.confirmed(7), true);
  assert.equal(c.waiting, 1, 'bucket 9 waits until it is asked, then goes too');
  assert.equal(c.confirmed(9), true);
  assert.equal(c.waiting, 0);
});

test('a node alone confirms at once; a later take-over of the same bucket waits anew', () => {
  const clock = new StepClock(0);
  const members: Answerer[] = [];
  const c = new TakeOverConfirmations(clock, () => members, () => Number.NEGATIVE_INFINITY);
  c.note([1]);
  assert.equal(c.confirmed(1), true, 'no member to tell');
  const m = { addedMs: 0, answeredOriginMs: 10 };
  members.push(m);
  clock.advance(100);
  c.note([1]);
  assert.equal(c.confirmed(1), false);
  m.answeredOriginMs = 101;
  assert.equal(c.confirmed(1), true);
});

test('a member learnt after the take-over needs no answer: its new link carried the whole table', () => {
  const clock = new StepClock(500);
  const old = { addedMs: 0, answeredOriginMs: 490 };
  const members: Answerer[] = [old];
  const c = new TakeOverConfirmations(clock, () => members, () => Number.NEGATIVE_INFINITY);
  c.note([3]);
  clock.advance(10);
  members.push({ addedMs: 500, answeredOriginMs: Number.NEGATIVE_INFINITY }); // learnt in the take-over's own step
  assert.equal(c.confirmed(3), false, 'the member there at the take-over has not answered since');
  old.answeredOriginMs = 505;
  assert.equal(c.confirmed(3), true, 'the newcomer is not waited for');
});

test('a take-over also waits until the leases granted to the dead have run out (lease-fence.ts)', () => {
  const clock = new StepClock(1000);
  const m = { addedMs: 0, answeredOriginMs: 990 };
  let leasesEndMs = 2400; // a witness answered the dead member's heartbeat at 900, with a 1500 ms lease
  const c = new TakeOverConfirmations(clock, () => [m], () => leasesEndMs);
  c.note([4]);
  clock.advance(250);
  m.answeredOriginMs = 1250;
  assert.equal(c.confirmed(4), false, 'every member answered, but the dead member may still write until 2400');
  clock.advance(1149);
  assert.equal(c.confirmed(4), false, 'at 2399 the lease may still run');
  clock.advance(1);
  assert.equal(c.confirmed(4), true, 'at 2400 it has ended');
  leasesEndMs = 5000;
  assert.equal(c.confirmed(5), true, 'a bucket not taken over lately does not wait for anything');
});
