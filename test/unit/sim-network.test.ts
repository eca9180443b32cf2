// The simulator's network: bytes in order per direction after seeded delays, cuts one way and both
// ways (held, then delivered at the heal), isolation, refused and lost dials, resets, kills, the
// end of a stream, and backpressure (writableLength, 'drain').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DialError } from '../../src/net/dial.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { VirtualNetwork, type NetworkOptions } from '../../src/sim/network.js';
import { SeededRandom } from '../../src/sim/random.js';
import type { VirtualSocket } from '../../src/sim/socket.js';

interface Sim {
  clock: VirtualClock;
  net: VirtualNetwork;
}

function sim(seed: number, opts: Partial<NetworkOptions> = {}): Sim {
  const clock = new VirtualClock();
  return { clock, net: new VirtualNetwork({ clock, random: new SeededRandom(seed), ...opts }) };
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown } | undefined;

/** Runs the clock until the promise settles; returns how it settled. */
async function settle<T>(s: Sim, p: Promise<T>): Promise<Outcome<T>> {
  let out: Outcome<T>;
  p.then(
    (value) => (out = { ok: true, value }),
    (error: unknown) => (out = { ok: false, error }),
  );
  await s.clock.run({ until: () => out !== undefined, maxEvents: 100_000 });
  return out;
}

/** A connection from host `from` to a listener on `to` (started here if needed). */
async function connect(s: Sim, from: string, to: string): Promise<{ client: VirtualSocket; server: VirtualSocket }> {
  let server: VirtualSocket | undefined;
  const listener = s.net.listen(to, (sock) => (server = sock));
  const out = await settle(s, s.net.dial(from, to, { timeoutMs: 1000 }));
  listener.close();
  assert.ok(out?.ok === true && server !== undefined, 'connected');
  return { client: out.value, server };
}

/** Collects what a socket receives: the chunks, with the virtual time of each, and its events. */
function collect(s: Sim, sock: VirtualSocket): { bytes: () => Buffer; got: [number, number][]; events: string[] } {
  const chunks: Buffer[] = [];
  const got: [number, number][] = [];
  const events: string[] = [];
  sock.on('data', (c: Buffer) => {
    chunks.push(c);
    got.push([s.clock.nowMs(), c.length]);
  });
  sock.on('end', () => events.push('end'));
  sock.on('error', (e: Error) => events.push(`error ${(e as { code?: string }).code}`));
  sock.on('close', () => events.push('close'));
  return { bytes: () => Buffer.concat(chunks), got, events };
}

test('each direction delivers its bytes in order, split and delayed at random, never before the least delay', async () => {
  const s = sim(11, { minDelayMs: 1, maxDelayMs: 10, piecesPerWriteMax: 4 });
  const { client, server } = await connect(s, 'a', 'b:7000');
  const random = new SeededRandom(5);
  const sent = { ab: [] as Buffer[], ba: [] as Buffer[] };
  /** Per direction: [time written, bytes written in total once it was]. */
  const writes = { ab: [] as [number, number][], ba: [] as [number, number][] };
  const total = { ab: 0, ba: 0 };
  const atB = collect(s, server);
  const atA = collect(s, client);
  for (let i = 0; i < 200; i++) {
    const dir = random.chance(0.5) ? 'ab' : 'ba';
    const chunk = random.bytes(random.int(1, 300));
    s.clock.setTimeout(() => {
      (dir === 'ab' ? client : server).write(chunk);
      sent[dir].push(chunk);
      total[dir] += chunk.length;
      writes[dir].push([s.clock.nowMs(), total[dir]]);
    }, random.between(0, 100));
  }
  await s.clock.run({ maxEvents: 100_000 });
  assert.deepEqual(atB.bytes(), Buffer.concat(sent.ab), 'a to b: every byte, in order');
  assert.deepEqual(atA.bytes(), Buffer.concat(sent.ba), 'b to a: every byte, in order');
  assert.ok(atB.got.length > writes.ab.length, 'writes were split into several segments');
  for (const [dir, at] of [['ab', atB], ['ba', atA]] as const) {
    let cumulative = 0;
    for (const [t, size] of at.got) {
      cumulative += size;
      const [writtenMs] = writes[dir].find(([, upTo]) => upTo >= cumulative)!;
      assert.ok(t >= writtenMs + 1, `${dir}: bytes up to ${cumulative}, written at ${writtenMs}, arrived at ${t}`);
    }
  }
});

test('a fixed delay: bytes arrive exactly that much virtual time later', async () => {
  const s = sim(1, { minDelayMs: 5, maxDelayMs: 5 });
  const { client, server } = await connect(s, 'a', 'b:7000');
  const at = collect(s, server);
  const sentMs = s.clock.nowMs();
  client.write(Buffer.from('hello'));
  await s.clock.run();
  assert.deepEqual(at.got, [[sentMs + 5, 5]]);
});

test('a one-way cut holds the bytes of that direction only; the heal delivers them, in order', async () => {
  const s = sim(2, { minDelayMs: 1, maxDelayMs: 3 });
  const { client, server } = await connect(s, 'a', 'b:7000');
  const atB = collect(s, server);
  const atA = collect(s, client);
  s.net.cut('a', 'b', { oneWay: true });
  for (let i = 0; i < 10; i++) client.write(Buffer.from(`a${i};`));
  server.write(Buffer.from('from b'));
  await s.clock.run({ untilMs: s.clock.nowMs() + 10_000 });
  assert.equal(atB.bytes().length, 0, 'nothing crossed the cut');
  assert.equal(atA.bytes().toString(), 'from b', 'the other way flows');
  const healedAt = s.clock.nowMs();
  s.net.heal('a', 'b');
  await s.clock.run();
  assert.equal(atB.bytes().toString(), 'a0;a1;a2;a3;a4;a5;a6;a7;a8;a9;', 'held bytes delivered once, in order, after the heal');
  assert.ok(atB.got[0]![0] >= healedAt + 1, 'after a fresh delay from the heal');
});

test('a cut both ways holds both directions until the heal', async () => {
  const s = sim(3);
  const { client, server } = await connect(s, 'a', 'b:7000');
  const atB = collect(s, server);
  const atA = collect(s, client);
  client.write(Buffer.from('before;'));
  await s.clock.run();
  s.net.cut('a', 'b');
  client.write(Buffer.from('during'));
  server.write(Buffer.from('reply'));
  await s.clock.run({ untilMs: s.clock.nowMs() + 60_000 });
  assert.equal(atB.bytes().toString(), 'before;');
  assert.equal(atA.bytes().length, 0);
  s.net.heal('b', 'a');
  await s.clock.run();
  assert.equal(atB.bytes().toString(), 'before;during');
  assert.equal(atA.bytes().toString(), 'reply');
});

test('an isolated host hears no one and no one hears it; dials to it time out; rejoining releases what waited', async () => {
  const s = sim(4);
  const ac = await connect(s, 'a', 'c:7000');
  const ab = await connect(s, 'a', 'b:7000');
  const atC = collect(s, ac.server);
  const atB = collect(s, ab.server);
  s.net.isolate('c');
  ac.client.write(Buffer.from('to c'));
  ab.client.write(Buffer.from('to b'));
  const listener = s.net.listen('c:7001', () => assert.fail('a dial crossed the isolation'));
  const dialledAt = s.clock.nowMs();
  const dial = await settle(s, s.net.dial('a', 'c:7001', { timeoutMs: 3000 }));
  assert.ok(dial?.ok === false && dial.error instanceof DialError && dial.error.code === 'ETIMEDOUT', 'the dial timed out');
  assert.equal(s.clock.nowMs(), dialledAt + 3000, 'after its timeout');
  listener.close();
  assert.equal(atB.bytes().toString(), 'to b', 'a and b still talk');
  assert.equal(atC.bytes().length, 0);
  s.net.rejoin('c');
  await s.clock.run();
  assert.equal(atC.bytes().toString(), 'to c');
});

test('a dial to an address nobody listens on is refused; a bad address fails at once', async () => {
  const s = sim(5);
  const refused = await settle(s, s.net.dial('a', 'b:9', { timeoutMs: 1000 }));
  assert.ok(refused?.ok === false && refused.error instanceof DialError);
  assert.equal(refused.error.code, 'ECONNREFUSED');
  const bad = await settle(s, s.net.dial('a', 'no-port', { timeoutMs: 1000 }));
  assert.ok(bad?.ok === false && bad.error instanceof DialError && bad.error.code === 'EBADADDR');
  s.net.listen('b:9', () => undefined);
  assert.throws(() => s.net.listen('b:9', () => undefined), (e: unknown) => e instanceof DialError && e.code === 'EADDRINUSE');
});

test('killing a host resets its connections at the peers and refuses dials until it listens again', async () => {
  const s = sim(6);
  const { client, server } = await connect(s, 'a', 'b:7000');
  let accepted = 0;
  s.net.listen('b:7000', () => accepted++);
  const atA = collect(s, client);
  server.on('close', () => assert.fail('the killed end told its dead owner something'));
  server.write(Buffer.from('last words'));
  s.net.kill('b');
  client.write(Buffer.from('anyone there?'));
  await s.clock.run();
  assert.deepEqual(atA.events, ['error ECONNRESET', 'close']);
  assert.equal(atA.bytes().length, 0, 'what the dead host had not yet delivered is lost with it');
  const refused = await settle(s, s.net.dial('a', 'b:7000', { timeoutMs: 1000 }));
  assert.ok(refused?.ok === false && (refused.error as DialError).code === 'ECONNREFUSED');
  s.net.listen('b:7000', () => accepted++);
  const again = await settle(s, s.net.dial('a', 'b:7000', { timeoutMs: 1000 }));
  assert.ok(again?.ok === true && accepted === 1, 'the restarted listener on the same address accepts');
});

test('a reset connection: both ends get ECONNRESET, held bytes are dropped', async () => {
  const s = sim(7);
  const { client, server } = await connect(s, 'a', 'b:7000');
  const atA = collect(s, client);
  const atB = collect(s, server);
  s.net.cut('a', 'b');
  client.write(Buffer.from('held'));
  await s.clock.run({ untilMs: s.clock.nowMs() + 100 });
  s.net.reset(client);
  s.net.heal('a', 'b');
  await s.clock.run();
  assert.deepEqual(atA.events, ['error ECONNRESET', 'close']);
  assert.deepEqual(atB.events, ['error ECONNRESET', 'close']);
  assert.equal(atB.bytes().length, 0);
  assert.equal(s.net.openPipes, 0, 'the connection is forgotten');
});

test('end(): the peer reads to the end, ends too, both close; a write after end() is an error', async () => {
  const s = sim(8);
  const { client, server } = await connect(s, 'a', 'b:7000');
  const atA = collect(s, client);
  const atB = collect(s, server);
  client.write(Buffer.from('bye'));
  client.end();
  await s.clock.run();
  assert.equal(atB.bytes().toString(), 'bye');
  assert.deepEqual(atB.events, ['end', 'close']);
  assert.deepEqual(atA.events, ['end', 'close']);
  assert.equal(s.net.openPipes, 0);
  const two = await connect(s, 'a', 'b:7000');
  const atTwo = collect(s, two.client);
  two.client.end();
  assert.equal(two.client.write(Buffer.from('late')), false);
  await s.clock.run();
  assert.deepEqual(atTwo.events.slice(0, 1), ['error ERR_STREAM_WRITE_AFTER_END']);
});

test('backpressure: a peer that does not read makes writableLength grow and write() say false; reading again drains', async () => {
  const s = sim(9, { windowBytes: 16 * 1024, highWaterBytes: 8 * 1024 });
  const { client, server } = await connect(s, 'a', 'b:7000');
  const atB = collect(s, server);
  server.pause();
  let drains = 0;
  client.on('drain', () => drains++);
  let refusedAt = -1;
  const chunk = Buffer.alloc(1024, 7);
  for (let i = 0; i < 64; i++) {
    if (!client.write(chunk) && refusedAt < 0) refusedAt = i;
  }
  await s.clock.run();
  assert.ok(refusedAt > 0, 'write() said false once the window and high-water mark were full');
  assert.equal(client.writableLength, 64 * 1024 - 16 * 1024, 'all beyond the window waits at the writer');
  assert.equal(server.heldBytes, 64 * 1024, 'the paused reader holds what arrived');
  assert.equal(atB.bytes().length, 0);
  assert.equal(drains, 0);
  server.resume();
  await s.clock.run();
  assert.equal(atB.bytes().length, 64 * 1024);
  assert.equal(client.writableLength, 0);
  assert.equal(drains, 1, 'one drain once everything was read');
});
