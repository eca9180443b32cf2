// Unit tests of the request bookkeeping: the deadline list with its one sweep timer, and the parking queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cmd } from '../../src/protocol/commands.js';
import { isWrite, ParkQueue, Request, RequestTracker } from '../../src/client/request.js';

function req(deadlineMs: number): Request {
  const r = new Request();
  r.deadlineMs = deadlineMs;
  return r;
}

test('the tracker keeps requests in deadline order, removes in O(1), and drains what is left', () => {
  const t = new RequestTracker(() => 0, () => assert.fail('nothing expires at time 0'));
  const rs = [req(10), req(20), req(30), req(40)];
  for (const r of rs) t.add(r);
  assert.equal(t.count, 4);
  t.remove(rs[1]!);
  t.remove(rs[1]!); // removing twice is harmless
  t.remove(rs[3]!);
  assert.equal(t.count, 2);
  assert.deepEqual(t.drain(), [rs[0], rs[2]]);
  assert.equal(t.count, 0);
  assert.throws(() => {
    t.add(req(50));
    t.add(req(5));
  }, /order/);
  t.stop();
});

test('the sweep expires every request whose deadline passed, and only those', async () => {
  let nowMs = 100;
  const expired: Request[] = [];
  const t = new RequestTracker(() => nowMs, (r) => expired.push(r));
  const past = [req(90), req(95)];
  const future = req(1e6);
  for (const r of [...past, future]) t.add(r);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(expired, past);
  assert.equal(t.count, 1);
    t.remove(future);
  t.stop();
});

test('the park queue retries due requests, skips finished ones, and flushNow retries everything', async () => {
  let nowMs = 0;
  const retried: Request[] = [];
  const q = new ParkQueue(() => nowMs, (r) => retried.push(r));
  const a = req(0);
  const b = req(0);
  const c = req(0);
  q.park(a, 1);
  q.park(b, 1);
  q.park(c, 1e9);
  b.done = true;
  nowMs = 10;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(retried, [a]);
  assert.equal(q.size, 1);
  q.flushNow();
  assert.deepEqual(retried, [a, c]);
  assert.equal(q.size, 0);
  assert.deepEqual(q.stop(), []);
});

test('writes are set, delete, expire and map_delete', () => {
  for (const c of [Cmd.set, Cmd.del, Cmd.expire, Cmd.mapDelete]) assert.equal(isWrite(c), true);
  for (const c of [Cmd.get, Cmd.exists, Cmd.ttl, Cmd.mapGetAll, Cmd.mapKeys, Cmd.mapCount, Cmd.ping, Cmd.getTable]) assert.equal(isWrite(c), false);
});
