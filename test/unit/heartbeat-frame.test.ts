// The heartbeat frame's view size (docs/protocol.md, 52): written and read back; a frame from a
// sender that predates it (ending after the suspects) reads as 0; a negative size is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, Reader, Writer } from '../../src/protocol/codec.js';
import { heartbeat } from '../../src/protocol/messages/node.js';

const base = { originMs: 1234, primaries: 5, backups: 6, transferring: 1, suspects: [{ addr: '10.0.0.2:13600', incarnation: 77n }] };

/** The frame as a sender without the view size writes it. */
function oldFrame(): Buffer {
  const w = new Writer();
  w.i64n(base.originMs);
  w.i32(base.primaries);
  w.i32(base.backups);
  w.i32(base.transferring);
  w.i32(1);
  w.strLatin1(base.suspects[0]!.addr);
  w.i64(base.suspects[0]!.incarnation);
  return Buffer.from(w.take());
}

test('the view size travels, and an older sender\'s frame reads as 0 (not said)', () => {
  const w = new Writer();
  heartbeat.encode(w, { ...base, viewSize: 3 });
  const now = Buffer.from(w.take());
  assert.deepEqual(heartbeat.decode(new Reader(now)), { ...base, viewSize: 3 });
  assert.equal(now.length, oldFrame().length + 4, 'one int more than before, at the end');
  assert.deepEqual(heartbeat.decode(new Reader(oldFrame())), { ...base, viewSize: 0 });
});

test('a negative view size, or bytes after it, is a decode error', () => {
  const neg = Buffer.concat([oldFrame(), Buffer.from([0xff, 0xff, 0xff, 0xff])]);
  assert.throws(() => heartbeat.decode(new Reader(neg)), DecodeError);
  const long = Buffer.concat([oldFrame(), Buffer.from([0, 0, 0, 3, 9])]);
  assert.throws(() => heartbeat.decode(new Reader(long)), DecodeError);
});
