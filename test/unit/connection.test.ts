// Connection over real loopback sockets: replies leave in order, together, and in sub-batches of
// bytes while a long chunk of large replies is worked through; a bidirectional link fails once its
// peer stops reading entirely; shared bytes leave with one writev, as the same bytes as copied ones.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Connection } from '../../src/net/connection.js';
import { Writer } from '../../src/protocol/codec.js';
import type { Frame } from '../../src/protocol/header.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

async function pair(): Promise<{ server: Socket; client: Socket }> {
  const server = createServer();
  servers.push(server);
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const client = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const accepted2 = await accepted;
  sockets.push(client, accepted2);
  return { server: accepted2, client };
}

function frames(count: number): Buffer {
  const w = new Writer();
  for (let i = 1; i <= count; i++) {
    w.begin(30, 0, i);
    w.i32(i);
    w.end();
  }
  return w.take();
}

/** A server Connection over `server` whose socket writes are counted; it answers each request with `replyBytes` of payload. */
function countingServer(server: Socket, replyBytes: number): { conn: Connection; writes: () => number } {
  let writes = 0;
  const write = server.write.bind(server) as (chunk: Buffer) => boolean;
  server.write = ((chunk: Buffer) => {
    writes++;
    return write(chunk);
  }) as typeof server.write;
  const conn = new Connection(server);
  const body = Buffer.alloc(replyBytes, 7);
  conn.start({
    onFrame: (f: Frame) => {
      const w = conn.begin(1, f.command, f.requestId);
      w.ensure(body.length);
      body.copy(w.buf, w.pos);
      w.pos += body.length;
      conn.end();
    },
    onClose: () => undefined,
  });
  return { conn, writes: () => writes };
}

/** Sends `count` requests in one chunk; resolves with the request ids of the replies, in arrival order. */
async function exchange(client: Socket, count: number): Promise<{ ids: number[]; replies: Connection }> {
  const replies = new Connection(client);
  const ids: number[] = [];
  const done = new Promise<void>((resolve) => {
    replies.start({
      onFrame: (f: Frame) => {
        ids.push(f.requestId);
        if (ids.length === count) resolve();
      },
      onClose: () => undefined,
    });
  });
  client.write(frames(count));
  await done;
  return { ids, replies };
}

test('100 small requests in one chunk: 100 replies in order, in one write', async () => {
  const { server, client } = await pair();
  const { conn, writes } = countingServer(server, 0);
  const { ids, replies } = await exchange(client, 100);
  assert.deepEqual(ids, Array.from({ length: 100 }, (_, i) => i + 1), 'replies in request order');
  assert.equal(writes(), 1, 'small replies of one chunk leave together');
  replies.close('done');
  conn.close('done');
});

test('100 requests in one chunk with 4 KB replies: in order, written in sub-batches of bytes', async () => {
  const { server, client } = await pair();
  const { conn, writes } = countingServer(server, 4000);
  const { ids, replies } = await exchange(client, 100);
  assert.deepEqual(ids, Array.from({ length: 100 }, (_, i) => i + 1), 'replies in request order');
  assert.ok(writes() >= 6, `400 KB of replies left in sub-batches (${writes()} writes)`);
  replies.close('done');
  conn.close('done');
});

test('a bidirectional link whose peer never reads fails instead of buffering without bound', async () => {
  const { server, client } = await pair();
  client.pause(); // the peer reads nothing
  const conn = new Connection(server, { pauseReadOnOutput: false, outputMaxBytes: 4 * 1024 * 1024 });
  const closed = new Promise<string>((resolve) => {
    conn.start({
      onFrame: () => undefined,
      onClose: (reason) => resolve(reason.kind === 'error' ? reason.error.message : reason.kind),
    });
  });
  const payload = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; i < 2000 && !conn.closed; i++) {
    const w = conn.begin(30, 0, i + 1);
    w.strBytes(payload);
    conn.end();
    conn.flush();
  }
  assert.match(await closed, /not reading/);
  client.destroy();
});

test('many requests in one chunk, large replies, a peer that does not read: frames stop being handled until it reads, then all are answered in order', async () => {
  const { server, client } = await pair();
  const replyBytes = 256 * 1024;
  const big = Buffer.alloc(replyBytes, 3);
  const conn = new Connection(server, { highWaterBytes: 1024 * 1024 });
  let handled = 0;
  conn.start({
    onFrame: (f: Frame) => {
      handled++;
      conn.begin(1, f.command, f.requestId).strBytes(big);
      conn.end();
    },
    onClose: () => undefined,
  });
  client.pause();
  const count = 400; // 100 MiB of replies if every request were handled at once
  client.write(frames(count));
  // Wait until the chunk arrived and the node side has stopped (its handled count no longer moves).
  for (let i = 0; i < 200 && handled === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(handled > 0, 'requests arrived and were handled');
  let last = -1;
  for (let i = 0; i < 100 && handled !== last; i++) {
    last = handled;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(handled < count / 4, `only ${handled} of ${count} requests handled while the peer reads nothing`);
  assert.ok(conn.pendingOutputBytes < 8 * 1024 * 1024, `output held: ${conn.pendingOutputBytes} bytes`);
  const replies = new Connection(client, { maxFrameBytes: 1024 * 1024 });
  const ids: number[] = [];
  await new Promise<void>((resolve) => {
    replies.start({
      onFrame: (f: Frame) => {
        ids.push(f.requestId);
        if (ids.length === count) resolve();
      },
      onClose: () => undefined,
    });
    client.resume();
  });
  assert.deepEqual(ids, Array.from({ length: count }, (_, i) => i + 1), 'every reply, in request order');
  replies.close('done');
  conn.close('done');
});
