// The heartbeat frame's later fields (docs/protocol.md, 52): the view size and the lease fence are
// written and read back; a frame from a sender that predates either reads them as 0; a negative
// value, or bytes after the fence, is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, Reader, Writer } from '../../src/protocol/codec.js';
import { heartbeat } from '../../src/protocol/messages/node.js';

const base = { originMs: 1234, primaries: 5, backups: 6, transferring: 1, suspects: [{ addr: '10.0.0.2:13600', incarnation: 77n }] };

/** The frame as a sender without the view size writes it, then with the given trailing ints. */
function oldFrame(...trailing: number[]): Buffer {
  const w = new Writer();
  w.i64n(base.originMs);
  w.i32(base.primaries);
  w.i32(base.backups);
  w.i32(base.transferring);
  w.i32(1);
  w.strLatin1(base.suspects[0]!.addr);
  w.i64(base.suspects[0]!.incarnation);
  for (const x of trailing) w.i32(x);
  return Buffer.from(w.take());
}

test('the view size and the fence travel, and an older sender\'s frame reads them as 0 (not said)', () => {
  const w = new Writer();
  heartbeat.encode(w, { ...base, viewSize: 3, fenceMs: 1499 });
  const now = Buffer.from(w.take());
  assert.deepEqual(heartbeat.decode(new Reader(now)), { ...base, viewSize: 3, fenceMs: 1499 });
  assert.equal(now.length, oldFrame().length + 8, 'two ints more than the first form, at the end');
  assert.deepEqual(heartbeat.decode(new Reader(oldFrame())), { ...base, viewSize: 0, fenceMs: 0 });
  assert.deepEqual(heartbeat.decode(new Reader(oldFrame(3))), { ...base, viewSize: 3, fenceMs: 0 });
});

test('a negative view size or fence, or bytes after the fence, is a decode error', () => {
  assert.throws(() => heartbeat.decode(new Reader(oldFrame(-1))), DecodeError);
  assert.throws(() => heartbeat.decode(new Reader(oldFrame(3, -1))), DecodeError);
  const long = Buffer.concat([oldFrame(3, 0), Buffer.from([9])]);
  assert.throws(() => heartbeat.decode(new Reader(long)), DecodeError);
});
