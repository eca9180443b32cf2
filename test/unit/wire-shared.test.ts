// Values without copies (issue 12): the Writer's shared byte strings (the same bytes as copied ones,
// in chunks for one writev), frames assembled into buffers of their own (payloadOwned) and values
// kept as views of them (Reader.strKeep), and a reply with a shared value over a real socket.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { Reader, Writer } from '../../src/protocol/codec.js';
import { readValue, writeValue, type Value } from '../../src/protocol/values.js';
import * as data from '../../src/protocol/messages/data.js';
import { ChunkFrame, FrameDecoder, OWNED_FRAME_MIN_BYTES, payloadReader } from '../../src/net/framer.js';
import { Connection, SHARED_BYTES_MIN } from '../../src/net/connection.js';
import { readClusterValue, writeClusterValue } from '../../src/client/values.js';
import { ValueType } from '../../src/protocol/values.js';
import type { Frame } from '../../src/protocol/header.js';
import { HEADER_BYTES } from '../../src/shared/limits.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

/** Frames of get replies with the given values, written by `w`. */
function replies(w: Writer, values: (Value | null)[]): void {
  values.forEach((v, i) => {
    w.begin(5, 2201, i + 1);
    data.valueReply.encode(w, v);
    w.end();
  });
}

function bytesValue(n: number, fill: number): Value {
  return { t: 4, v: Buffer.alloc(n, fill) };
}

test('Writer: shared byte strings give the same bytes as copied ones, large ones as chunks of their own', () => {
  const values: (Value | null)[] = [bytesValue(10, 1), bytesValue(20_000, 2), null, { t: 3, v: Buffer.alloc(9000, 3) }, bytesValue(100, 4), { t: 1, v: 7 }];
  const copying = new Writer(16);
  replies(copying, values);
  const sharing = new Writer(16);
  sharing.refMinBytes = 8192;
  replies(sharing, values);
  const lengthBefore = sharing.length;
  const chunks = sharing.takeChunks();
  const expected = copying.take();
  assert.equal(lengthBefore, expected.length);
  assert.deepEqual(Buffer.concat(chunks), expected);
  assert.ok(chunks.includes((values[1] as { v: Buffer }).v), 'the 20 KB value is referenced, not copied');
  assert.ok(chunks.includes((values[3] as { v: Buffer }).v), 'the 9000-byte value is referenced');
  assert.equal(chunks.length, 5, 'before, each shared value, between and after');
  assert.equal(sharing.length, 0);
  // The writer goes on afresh after take, as one buffer again.
  replies(sharing, [bytesValue(3, 9)]);
  const again = new Writer();
  replies(again, [bytesValue(3, 9)]);
  assert.deepEqual(sharing.takeChunks(), [again.take()]);
});

test('Writer: frameBytes, growth after a shared string, end() patching a header sealed off, take() of chunks', () => {
  const w = new Writer(16);
  w.refMinBytes = 100;
  w.begin(5, 2201, 1);
  w.i32(4);
  w.strShared(Buffer.alloc(100, 1));
  assert.equal(w.frameBytes, HEADER_BYTES + 4 + 4 + 100);
  for (let i = 0; i < 50; i++) w.i32(i); // grows the buffer past the sealed header
  assert.equal(w.end(), HEADER_BYTES + 4 + 4 + 100 + 200);
  const out = w.take();
  assert.equal(out.length, HEADER_BYTES + 308);
  assert.equal(out.readUInt32BE(8), 308, 'the length was patched into the sealed header');
  const r = new Reader(out, HEADER_BYTES);
  assert.equal(r.i32(), 4);
  assert.deepEqual(r.strView(), Buffer.alloc(100, 1));
  for (let i = 0; i < 50; i++) assert.equal(r.i32(), i);
  r.done('frame');
});

test('property: abandon() after shared strings and growth takes back exactly the open frame', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 6 }), fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 6 }), (kept, dropped) => {
      const w = new Writer(8);
      w.refMinBytes = 64;
      const plain = new Writer(8);
      for (const [i, n] of kept.entries()) {
        for (const x of [w, plain]) {
          x.begin(1, 0, i);
          x.strShared(Buffer.alloc(n, i));
          x.end();
        }
      }
      w.begin(2, 0, 99);
      for (const n of dropped) {
        w.strShared(Buffer.alloc(n, 7));
        w.i64n(n);
      }
      w.abandon();
      assert.equal(w.inFrame, false);
      w.begin(3, 0, 100);
      w.end();
      plain.begin(3, 0, 100);
      plain.end();
      assert.deepEqual(Buffer.concat(w.takeChunks()), plain.take());
    }),
  );
});

/** Encodes frames by hand: header and payload. */
function frameBytes(requestId: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(HEADER_BYTES + payload.length);
  b.writeUInt16BE(2200, 0);
  b.writeUInt32BE(requestId, 4);
  b.writeUInt32BE(payload.length, 8);
  payload.copy(b, HEADER_BYTES);
  return b;
}

test('FrameDecoder: a large frame split across chunks comes in a buffer of its own (payloadOwned); others are views', () => {
  const big = Buffer.alloc(OWNED_FRAME_MIN_BYTES + 100, 5);
  const small = Buffer.alloc(50, 6);
  const stream = Buffer.concat([frameBytes(1, small), frameBytes(2, big), frameBytes(3, small), frameBytes(4, big)]);
  const d = new FrameDecoder(1 << 20);
  const got: Frame[] = [];
  // Cut inside frame 2 and inside frame 3's header, and once right after frame 4 begins.
  const cuts = [HEADER_BYTES + 50 + 1000, HEADER_BYTES * 2 + 50 + big.length + 5, stream.length - 10];
  let at = 0;
  const chunks: Buffer[] = [];
  for (const cut of [...cuts, stream.length]) {
    const chunk = Buffer.from(stream.subarray(at, cut)); // a buffer of its own, as a socket's are
    chunks.push(chunk);
    d.push(chunk, (f) => void got.push(f));
    at = cut;
  }
  for (const c of chunks) c.fill(0xee); // nothing owned may point into them
  assert.deepEqual(got.map((f) => f.requestId), [1, 2, 3, 4]);
  assert.deepEqual(got.map((f) => f.payloadOwned), [false, true, false, true]);
  for (const i of [1, 3]) {
    const p = got[i]!.payload;
    assert.deepEqual(p, big, `frame ${i + 1} intact after its chunks were overwritten`);
    assert.equal(p.buffer.byteLength, HEADER_BYTES + big.length, 'its buffer holds that frame alone');
  }
  assert.equal(d.pendingBytes, 0);
});

test('FrameDecoder: frames held when the callback stops come out after, also when a chunk arrived meanwhile', () => {
  const big = Buffer.alloc(OWNED_FRAME_MIN_BYTES * 2, 8);
  const stream = Buffer.concat([frameBytes(1, Buffer.alloc(4)), frameBytes(2, Buffer.alloc(4)), frameBytes(3, big)]);
  const d = new FrameDecoder(1 << 20);
  const ids: number[] = [];
  d.push(stream.subarray(0, 100), (f) => {
    ids.push(f.requestId);
    return false;
  });
  assert.deepEqual(ids, [1]);
  d.push(stream.subarray(100), (f) => {
    ids.push(f.requestId);
    if (f.requestId === 3) assert.deepEqual(f.payload, big);
  });
  assert.deepEqual(ids, [1, 2, 3]);
  assert.equal(d.pendingBytes, 0);
});

test('payloadReader reads a frame in place, the same bytes as its payload; a plain Frame object works too', () => {
  const payload = Buffer.from('0123456789');
  const d = new FrameDecoder(1 << 20);
  const got: Frame[] = [];
  d.push(Buffer.concat([Buffer.from('xx'), frameBytes(7, payload)]).subarray(2), (f) => void got.push(f));
  const f = got[0]!;
  assert.ok(f instanceof ChunkFrame);
  const r = payloadReader(f);
  assert.equal(r.remaining, payload.length);
  assert.deepEqual(r.buf.subarray(r.pos, r.end), payload);
  assert.deepEqual(f.payload, payload, 'the view, made when asked for');
  const plain = payloadReader({ command: 1, replyTo: 0, requestId: 1, payload });
  assert.equal(plain.remaining, payload.length);
  assert.equal(plain.ownsBytes, false);
});

test('Reader.strKeep: a view of a large value of an owned payload, a copy otherwise', () => {
  const w = new Writer();
  writeValue(w, bytesValue(5000, 1));
  w.i32(0);
  const payload = w.take();
  const owned = new Reader(payload);
  owned.ownsBytes = true;
  const kept = readValue(owned) as { v: Buffer };
  assert.equal(kept.v.buffer, payload.buffer, 'a view: no copy');
  const notOwned = readValue(new Reader(payload)) as { v: Buffer };
  assert.notEqual(notOwned.v.buffer, payload.buffer, 'copied out of a payload it does not own');
  assert.deepEqual(notOwned.v, kept.v);
  // A value that is a small part of an owned payload is copied: a view would hold the rest alive.
  const w2 = new Writer();
  writeValue(w2, bytesValue(10, 1));
  w2.strBytes(Buffer.alloc(1000));
  const r2 = new Reader(w2.take());
  r2.ownsBytes = true;
  assert.notEqual((readValue(r2) as { v: Buffer }).v.buffer, r2.buf.buffer);
});

test('client values: a large string or binary is sent once encoded, the same bytes as before, and the caller may change its bytes at once', () => {
  const text = 'é'.repeat(6000);
  const bin = new Uint8Array(20_000).fill(3);
  const shared = new Writer();
  shared.refMinBytes = SHARED_BYTES_MIN;
  const plain = new Writer();
  for (const w of [shared, plain]) {
    writeClusterValue(w, ValueType.string, text);
    writeClusterValue(w, ValueType.binary, bin);
  }
  bin.fill(9); // after the call: must not change what is sent
  const chunks = shared.takeChunks();
  assert.ok(chunks.length > 1, 'sent by reference');
  const out = Buffer.concat(chunks);
  assert.deepEqual(out, plain.take());
  const r = new Reader(out);
  assert.equal(readClusterValue(r), text);
  assert.deepEqual(readClusterValue(r), Buffer.alloc(20_000, 3));
});

async function pair(): Promise<{ server: Socket; client: Socket }> {
  const server = createServer();
  servers.push(server);
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const s = await accepted;
  sockets.push(client, s);
  return { server: s, client };
}

test('Connection: replies with shared values leave in one writev and arrive as the same bytes as copied ones', async () => {
  const { server, client } = await pair();
  const values: (Value | null)[] = [bytesValue(100, 1), bytesValue(50_000, 2), null, bytesValue(SHARED_BYTES_MIN, 3), bytesValue(1 << 20, 4)];
  const expected = new Writer();
  replies(expected, values);
  const wire = expected.take();
  let writes = 0;
  let writevs = 0;
  const handle = (server as unknown as { _handle: { writev: (...a: unknown[]) => unknown; writeBuffer: (...a: unknown[]) => unknown } })._handle;
  const writev = handle.writev.bind(handle);
  const writeBuffer = handle.writeBuffer.bind(handle);
  handle.writev = (...a: unknown[]) => (writevs++, writev(...a));
  handle.writeBuffer = (...a: unknown[]) => (writes++, writeBuffer(...a));
  const conn = new Connection(server);
  conn.start({ onFrame: () => undefined, onClose: () => undefined });
  const received: Buffer[] = [];
  let total = 0;
  const done = new Promise<void>((resolve) =>
    client.on('data', (c: Buffer) => {
      received.push(c);
      total += c.length;
      if (total >= wire.length) resolve();
    }),
  );
  replies(conn.w, values);
  conn.flush();
  await done;
  assert.deepEqual(Buffer.concat(received), wire);
  assert.equal(writevs, 1, 'one writev');
  assert.equal(writes, 0);
  conn.close('done');
});
