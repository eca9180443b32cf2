// Unit tests of stream framing: FrameDecoder against any chunking, oversize lengths, byte-at-a-time input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, FrameError } from '../../src/net/framer.js';
import { readHeader, writeHeader, type Frame } from '../../src/protocol/header.js';
import { HEADER_BYTES } from '../../src/shared/limits.js';

interface PlainFrame {
  command: number;
  replyTo: number;
  requestId: number;
  payload: Buffer;
}

const MAX_FRAME_BYTES = 4096;

const frameArb: fc.Arbitrary<PlainFrame> = fc.record(
  {
    command: fc.integer({ min: 0, max: 0xffff }),
    replyTo: fc.integer({ min: 0, max: 0xffff }),
    requestId: fc.integer({ min: 0, max: 0xffffffff }),
    payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  },
  { noNullPrototype: true },
);

/** Builds a frame by hand, not with the Writer under test elsewhere. */
function encodeFrame(f: PlainFrame): Buffer {
  const b = Buffer.alloc(HEADER_BYTES + f.payload.length);
  b.writeUInt16BE(f.command, 0);
  b.writeUInt16BE(f.replyTo, 2);
  b.writeUInt32BE(f.requestId, 4);
  b.writeUInt32BE(f.payload.length, 8);
  f.payload.copy(b, HEADER_BYTES);
  return b;
}

/** Splits a buffer at the given cut points (any values; taken modulo the length, sorted, deduplicated). */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  if (buf.length === 0) return [buf];
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    // Copies, so a chunk never shares memory with the next one (as socket chunks do not).
    out.push(Buffer.from(buf.subarray(from, p)));
    from = p;
  }
  out.push(Buffer.from(buf.subarray(from)));
  return out;
}

function decodeAll(chunks: Buffer[], maxFrameBytes = MAX_FRAME_BYTES): PlainFrame[] {
  const dec = new FrameDecoder(maxFrameBytes);
  const got: PlainFrame[] = [];
  const onFrame = (f: Frame): void => {
    got.push({ command: f.command, replyTo: f.replyTo, requestId: f.requestId, payload: Buffer.from(f.payload) });
  };
  for (const c of chunks) dec.push(c, onFrame);
  assert.equal(dec.pendingBytes, 0, 'no bytes left over after whole frames');
  return got;
}

test('property: any frames, concatenated and cut into any chunks, decode into exactly the same frames', () => {
  fc.assert(
    fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
      const stream = Buffer.concat(frames.map(encodeFrame));
      assert.deepEqual(decodeAll(split(stream, cuts)), frames);
    }),
    { numRuns: 300 },
  );
});

test('property: frames views stay valid while handled, even when the callback copies nothing until later', () => {
  fc.assert(
    fc.property(fc.array(frameArb, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
      const stream = Buffer.concat(frames.map(encodeFrame));
      const dec = new FrameDecoder(MAX_FRAME_BYTES);
      const kept: Frame[] = [];
      // Socket chunks are never reused, so a view kept past the callback still shows its bytes.
      for (const c of split(stream, cuts)) dec.push(c, (f) => {
        kept.push(f);
      });
      assert.equal(kept.length, frames.length);
      kept.forEach((f, i) => assert.deepEqual(Buffer.from(f.payload), frames[i]!.payload));
    }),
    { numRuns: 100 },
  );
});

test('a frame arriving one byte at a time', () => {
  const frames: PlainFrame[] = [
    { command: 2000, replyTo: 0, requestId: 1, payload: Buffer.from('0123456789abcdefghij') },
    { command: 1, replyTo: 2000, requestId: 0xffffffff, payload: Buffer.alloc(0) },
    { command: 2125, replyTo: 2120, requestId: 3, payload: Buffer.alloc(MAX_FRAME_BYTES, 7) },
  ];
  const stream = Buffer.concat(frames.map(encodeFrame));
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) chunks.push(stream.subarray(i, i + 1));
  const dec = new FrameDecoder(MAX_FRAME_BYTES);
  const got: PlainFrame[] = [];
  let pushes = 0;
  for (const c of chunks) {
    pushes++;
    dec.push(c, (f) => {
      got.push({ command: f.command, replyTo: f.replyTo, requestId: f.requestId, payload: Buffer.from(f.payload) });
    });
    // A frame comes out exactly when its last byte arrives.
    const ends = frames.map((_, i) => frames.slice(0, i + 1).reduce((n, f) => n + HEADER_BYTES + f.payload.length, 0));
    assert.equal(got.length, ends.filter((e) => e <= pushes).length);
  }
  assert.deepEqual(got, frames);
});

test('a payload of exactly the limit passes; one byte over throws FrameError', () => {
  const ok = encodeFrame({ command: 1, replyTo: 0, requestId: 1, payload: Buffer.alloc(1024) });
  assert.equal(decodeAll([ok], 1024).length, 1);
  const over = Buffer.alloc(HEADER_BYTES);
  over.writeUInt32BE(1025, 8);
  assert.throws(() => new FrameDecoder(1024).push(over, () => assert.fail('no frame may come out')), FrameError);
});

test('property: an oversize length throws FrameError no later than the chunk that completes its header', () => {
  fc.assert(
    fc.property(
      fc.array(frameArb, { maxLength: 4 }),
      fc.integer({ min: MAX_FRAME_BYTES + 1, max: 0xffffffff }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (before, length, cuts) => {
        const head = Buffer.alloc(HEADER_BYTES);
        head.writeUInt16BE(2000, 0);
        head.writeUInt32BE(length, 8);
        const prefix = Buffer.concat(before.map(encodeFrame));
        const stream = Buffer.concat([prefix, head, Buffer.alloc(16, 0xab)]);
        const dec = new FrameDecoder(MAX_FRAME_BYTES);
        const got: number[] = [];
        const chunks = split(stream, cuts);
        const headerDone = prefix.length + HEADER_BYTES;
        let completing = 0;
        for (const c of chunks) {
          completing += c.length;
          if (completing >= headerDone) break;
        }
        let fed = 0;
        let thrownAt = -1;
        for (const c of chunks) {
          fed += c.length;
          try {
            dec.push(c, (f) => {
              got.push(f.command);
            });
          } catch (e) {
            assert.ok(e instanceof FrameError, `expected FrameError, got ${String(e)}`);
            thrownAt = fed;
            break;
          }
        }
        assert.ok(thrownAt >= 0, 'the oversize frame must be refused');
        assert.equal(thrownAt, completing, 'refused by the very chunk that completes its header');
        // Every whole frame before it came out first, if it arrived in an earlier chunk or the same one.
        assert.ok(got.length <= before.length);
      },
    ),
    { numRuns: 300 },
  );
});

test('an oversize header split across two chunks throws on the second', () => {
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt32BE(0xffffffff, 8);
  const dec = new FrameDecoder(MAX_FRAME_BYTES);
  dec.push(head.subarray(0, 5), () => assert.fail('no frame'));
  assert.throws(() => dec.push(head.subarray(5), () => assert.fail('no frame')), FrameError);
});

test('an empty chunk changes nothing', () => {
  const f: PlainFrame = { command: 30, replyTo: 0, requestId: 9, payload: Buffer.alloc(0) };
  const b = encodeFrame(f);
  assert.deepEqual(decodeAll([Buffer.alloc(0), b.subarray(0, 3), Buffer.alloc(0), b.subarray(3), Buffer.alloc(0)]), [f]);
});

test('property: writeHeader and readHeader round trip', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (command, replyTo, requestId, length) => {
        const b = Buffer.alloc(HEADER_BYTES + 3);
        writeHeader(b, 3, { command, replyTo, requestId, length });
        assert.deepEqual(readHeader(b, 3), { command, replyTo, requestId, length });
        const manual = Buffer.alloc(HEADER_BYTES);
        manual.writeUInt16BE(command, 0);
        manual.writeUInt16BE(replyTo, 2);
        manual.writeUInt32BE(requestId, 4);
        manual.writeUInt32BE(length, 8);
        assert.deepEqual(b.subarray(3), manual);
      },
    ),
  );
});

test('property: a callback that stops keeps the rest; pushing on (empty chunks too) hands out every frame once, in order', () => {
  fc.assert(
    fc.property(
      fc.array(frameArb, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
      (frames, cuts, stops) => {
        const stream = Buffer.concat(frames.map(encodeFrame));
        const dec = new FrameDecoder(MAX_FRAME_BYTES);
        const got: PlainFrame[] = [];
        let call = 0;
        const onFrame = (f: Frame): boolean => {
          got.push({ command: f.command, replyTo: f.replyTo, requestId: f.requestId, payload: Buffer.from(f.payload) });
          return !stops[call++ % stops.length];
        };
        const drain = (): void => {
          // Bounded: each empty push hands out at least one held frame or none is held.
          for (let i = 0; i <= frames.length && dec.hasWholeFrame; i++) dec.push(Buffer.alloc(0), onFrame);
        };
        for (const c of split(stream, cuts)) {
          drain();
          dec.push(c, onFrame);
        }
        drain();
        assert.equal(dec.hasWholeFrame, false, 'nothing whole is left behind');
        assert.equal(dec.pendingBytes, 0);
        assert.deepEqual(got, frames);
      },
    ),
    { numRuns: 300 },
  );
});
