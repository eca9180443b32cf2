// Two real Connections talking frames over a VirtualSocket pair on the VirtualClock: framing,
// batched writes, backpressure (reading pauses, then goes on), close and its timeout, and as a
// property: every frame arrives once, in order, whatever the seeded delays and splits. The same
// seed gives the same trace, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Connection, type CloseReason } from '../../src/net/connection.js';
import { Reader } from '../../src/protocol/codec.js';
import type { Frame } from '../../src/protocol/header.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { VirtualNetwork, type NetworkOptions } from '../../src/sim/network.js';
import { SeededRandom } from '../../src/sim/random.js';
import type { VirtualSocket } from '../../src/sim/socket.js';
import { Trace } from '../../src/sim/trace.js';

interface Pair {
  clock: VirtualClock;
  net: VirtualNetwork;
  trace: Trace;
  client: VirtualSocket;
  server: VirtualSocket;
}

async function pair(seed: number, opts: Partial<NetworkOptions> = {}): Promise<Pair> {
  const clock = new VirtualClock();
  const trace = new Trace(clock);
  const net = new VirtualNetwork({ clock, random: new SeededRandom(seed), trace, ...opts });
  let server: VirtualSocket | undefined;
  net.listen('n1:7000', (s) => (server = s));
  let client: VirtualSocket | undefined;
  void net.dial('c1', 'n1:7000', { timeoutMs: 1000 }).then((s) => (client = s));
  await clock.run({ until: () => client !== undefined, maxEvents: 1000 });
  assert.ok(client !== undefined && server !== undefined, 'connected');
  return { clock, net, trace, client, server };
}

function payloadOf(id: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (id * 31 + i) & 0xff;
  return b;
}

/** The server side echoes every request's payload back as its reply. */
function echo(conn: Connection<VirtualSocket>, onClose: (r: CloseReason) => void = () => undefined): { handled: () => number } {
  let handled = 0;
  conn.start({
    onFrame: (f: Frame) => {
      handled++;
      conn.begin(1, f.command, f.requestId).strBytes(new Reader(f.payload).strView());
      conn.end();
    },
    onClose,
  });
  return { handled: () => handled };
}

interface Replies {
  ids: number[];
  bad: string[];
  closes: CloseReason[];
}

function replies(conn: Connection<VirtualSocket>, sizes: Map<number, number>): Replies {
  const out: Replies = { ids: [], bad: [], closes: [] };
  conn.start({
    onFrame: (f: Frame) => {
      out.ids.push(f.requestId);
      const body = new Reader(f.payload).strView();
      if (!body.equals(payloadOf(f.requestId, sizes.get(f.requestId) ?? -1))) out.bad.push(`reply ${f.requestId}: wrong payload`);
    },
    onClose: (r) => out.closes.push(r),
  });
  return out;
}

function request(conn: Connection<VirtualSocket>, id: number, bytes: number): void {
  conn.begin(30, 0, id).strBytes(payloadOf(id, bytes));
  conn.end();
}

test('frames of one tick leave in one write; replies come back in order with their payloads', async () => {
  const p = await pair(1, { piecesPerWriteMax: 5 });
  const clientConn = new Connection(p.client, { clock: p.clock });
  const serverConn = new Connection(p.server, { clock: p.clock });
  echo(serverConn);
  const sizes = new Map<number, number>();
  const got = replies(clientConn, sizes);
  let writes = 0;
  const write = p.client.write.bind(p.client);
  p.client.write = (chunk: Buffer) => {
    writes++;
    return write(chunk);
  };
  for (let id = 1; id <= 50; id++) {
    sizes.set(id, id * 37);
    request(clientConn, id, id * 37);
  }
  assert.equal(writes, 0, 'nothing written inside the tick');
  await p.clock.run();
  assert.equal(writes, 1, 'the 50 requests left in one batched write');
  assert.deepEqual(got.ids, Array.from({ length: 50 }, (_, i) => i + 1));
  assert.deepEqual(got.bad, []);
  clientConn.close('done');
  serverConn.close('done');
  await p.clock.run();
});

test('partialSinceMs is read from the injected clock', async () => {
  const p = await pair(2, { minDelayMs: 4, maxDelayMs: 4 });
  const serverConn = new Connection(p.server, { clock: p.clock });
  serverConn.start({ onFrame: () => undefined, onClose: () => undefined });
  const sentMs = p.clock.nowMs();
  p.client.write(Buffer.from([0, 30, 0, 0, 0, 0, 0, 1, 0, 0, 0, 10, 1, 2])); // a header and 2 of 10 bytes
  await p.clock.run();
  assert.equal(serverConn.partialSinceMs, sentMs + 4);
});

test('a reader that stops reading: the other side stops handling requests, then answers all, in order, once it reads again', async () => {
  const p = await pair(3, { windowBytes: 32 * 1024, highWaterBytes: 16 * 1024 });
  const clientConn = new Connection(p.client, { clock: p.clock, maxFrameBytes: 1024 * 1024 });
  const serverConn = new Connection(p.server, { clock: p.clock, highWaterBytes: 64 * 1024, maxFrameBytes: 1024 * 1024 });
  const sizes = new Map<number, number>();
  const count = 300;
  const big = 20_000;
  const server = echo(serverConn);
  const got = replies(clientConn, sizes);
  clientConn.pauseReading();
  for (let id = 1; id <= count; id++) {
    sizes.set(id, big);
    request(clientConn, id, big);
  }
  const stalled = await p.clock.run();
  assert.equal(stalled.reason, 'idle', 'everything waits on the reader');
  assert.ok(server.handled() > 0 && server.handled() < count / 2, `${server.handled()} of ${count} handled while the reader reads nothing`);
  assert.equal(p.server.isPaused(), true, 'the server side paused its reading');
  assert.ok(serverConn.pendingOutputBytes < 256 * 1024, `output held: ${serverConn.pendingOutputBytes} bytes`);
  clientConn.resumeReading();
  await p.clock.run();
  assert.deepEqual(got.ids, Array.from({ length: count }, (_, i) => i + 1), 'every reply, in request order');
  assert.deepEqual(got.bad, []);
});

test('close(): the batch is flushed, both ends close; a peer that never takes the end is destroyed after 5 s of virtual time', async () => {
  const p = await pair(4);
  const clientConn = new Connection(p.client, { clock: p.clock });
  const serverConn = new Connection(p.server, { clock: p.clock });
  const serverCloses: CloseReason[] = [];
  echo(serverConn, (r) => serverCloses.push(r));
  const sizes = new Map([[1, 10]]);
  const got = replies(clientConn, sizes);
  request(clientConn, 1, 10);
  clientConn.close('done');
  await p.clock.run();
  assert.deepEqual(got.closes, [{ kind: 'local', why: 'done' }]);
  assert.deepEqual(serverCloses, [{ kind: 'local', why: 'peer ended the connection' }]);
  assert.equal(p.net.openPipes, 0);

  const q = await pair(5);
  const a = new Connection(q.client, { clock: q.clock });
  const b = new Connection(q.server, { clock: q.clock });
  const closes: [number, CloseReason][] = [];
  a.start({ onFrame: () => undefined, onClose: (r) => closes.push([q.clock.nowMs(), r]) });
  b.start({ onFrame: () => undefined, onClose: () => undefined });
  b.pauseReading(); // b never reads, so never sees the end
  request(a, 1, 10);
  await q.clock.run();
  const closingMs = q.clock.nowMs();
  a.close('done');
  await q.clock.run({ untilMs: closingMs + 60_000 });
  assert.deepEqual(closes, [[closingMs + 5000, { kind: 'local', why: 'done' }]], 'destroyed by the close timeout, on virtual time');
});

test('property: every frame arrives once, in order, whatever the delays, splits and bursts', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 0, max: 20 }),
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 30 })), { minLength: 1, maxLength: 80 }),
      async (seed, spreadMs, piecesPerWriteMax, plan) => {
        const p = await pair(seed, { minDelayMs: 0, maxDelayMs: spreadMs, piecesPerWriteMax });
        const clientConn = new Connection(p.client, { clock: p.clock });
        const serverConn = new Connection(p.server, { clock: p.clock });
        echo(serverConn);
        const sizes = new Map<number, number>();
        const got = replies(clientConn, sizes);
        // Each request goes out after its own pause: some share a tick (one batch), some do not.
        let atMs = 0;
        plan.forEach(([bytes, pauseMs], i) => {
          atMs += pauseMs;
          sizes.set(i + 1, bytes);
          p.clock.setTimeout(() => request(clientConn, i + 1, bytes), atMs);
        });
        await p.clock.run({ maxEvents: 200_000 });
        assert.deepEqual(got.ids, Array.from({ length: plan.length }, (_, i) => i + 1));
        assert.deepEqual(got.bad, []);
      },
    ),
    { numRuns: 150 },
  );
});

/** A seeded conversation with a cut and a heal in the middle: its trace. */
async function conversation(seed: number): Promise<string> {
  const p = await pair(seed, { minDelayMs: 0.5, maxDelayMs: 30, piecesPerWriteMax: 4 });
  const random = new SeededRandom(seed ^ 0x5eed);
  const clientConn = new Connection(p.client, { clock: p.clock });
  const serverConn = new Connection(p.server, { clock: p.clock });
  echo(serverConn);
  const sizes = new Map<number, number>();
  clientConn.start({
    onFrame: (f) => p.trace.add(`client got reply ${f.requestId} (${f.payload.length} bytes)`),
    onClose: (r) => p.trace.add(`client closed ${r.kind}`),
  });
  for (let id = 1; id <= 60; id++) {
    const bytes = random.int(0, 2000);
    sizes.set(id, bytes);
    p.clock.setTimeout(() => request(clientConn, id, bytes), random.between(0, 500));
  }
  p.clock.setTimeout(() => p.net.cut('c1', 'n1', { oneWay: random.chance(0.5) }), random.between(0, 250));
  p.clock.setTimeout(() => p.net.heal('c1', 'n1'), random.between(250, 600));
  p.clock.setTimeout(() => clientConn.close('done'), 1000);
  await p.clock.run();
  return p.trace.text();
}

test('the same seed gives the same trace, byte for byte; another seed another', async () => {
  const first = await conversation(2024);
  assert.match(first, /client got reply 60 /);
  assert.match(first, /cut c1/);
  assert.match(first, /client closed local/);
  assert.equal(await conversation(2024), first);
  assert.notEqual(await conversation(2025), first);
});
