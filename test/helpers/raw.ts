// Test helper: a raw-socket client that builds frames by hand (plain Buffer writes, none of the
// project's codecs) and reads reply frames with bounded waits.
import { connect, type Socket } from 'node:net';

export const HEADER = 12;

export interface RawFrame {
  command: number;
  replyTo: number;
  requestId: number;
  payload: Buffer;
}

// ---- payload primitives, by hand ----

/** A 4-byte big-endian int; accepts signed (-2^31..) and unsigned (..2^32-1) values, same bits. */
export function int(v: number): Buffer {
  const b = Buffer.alloc(4);
  if (v < 0) b.writeInt32BE(v, 0);
  else b.writeUInt32BE(v, 0);
  return b;
}

/** An 8-byte big-endian signed long. */
export function long(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v, 0);
  return b;
}

export function short(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v, 0);
  return b;
}

/** int length, then the bytes (a JS string is taken as UTF-8). */
export function str(v: string | Buffer): Buffer {
  const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([int(bytes.length), bytes]);
}

/** A whole frame: u16 command, u16 reply-to, u32 request id, u32 payload length, payload. */
export function frame(command: number, replyTo: number, requestId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt16BE(command, 0);
  h.writeUInt16BE(replyTo, 2);
  h.writeUInt32BE(requestId >>> 0, 4);
  h.writeUInt32BE(payload.length, 8);
  return Buffer.concat([h, payload]);
}

/** FNV-1a 32 over bytes, written out here so the tests do not lean on the code under test. */
export function fnv(text: string | Buffer): number {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

/** A small seeded PRNG (mulberry32) for reproducible random bytes. */
export function seededBytes(seed: number, n: number): Buffer {
  let a = seed >>> 0;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

// ---- the client ----

const FRAMES_QUEUED_MAX = 100_000;
const DEFAULT_WAIT_MS = 5000;

interface Waiter {
  pred: (f: RawFrame) => boolean;
  resolve: (f: RawFrame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class RawClient {
  /** Frames received and not yet taken by next(), in arrival order. */
  private queue: RawFrame[] = [];
  private waiters: Waiter[] = [];
  private pending: Buffer = Buffer.alloc(0);
  private nextId = 1;
  /** Every command frame (reply-to 0) the server sent on this connection, taken or not. */
  readonly commandsSeen: RawFrame[] = [];
  ended = false;
  isClosed = false;
  lastError: Error | undefined;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => (this.ended = true));
    socket.on('error', (e) => (this.lastError = e));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(new Error('connection closed while a frame was awaited'));
        }
        resolve();
      });
    });
  }

  static connect(addr: string, timeoutMs = DEFAULT_WAIT_MS): Promise<RawClient> {
    const idx = addr.lastIndexOf(':');
    const host = addr.slice(0, idx);
    const port = Number(addr.slice(idx + 1));
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${addr} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new RawClient(socket));
      });
    });
  }

  /** A fresh request id (never 0). */
  id(): number {
    return this.nextId++;
  }

  /** Writes raw bytes; ignores a socket the server already closed (the write error is recorded). */
  send(bytes: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  sendFrame(command: number, replyTo: number, requestId: number, payload?: Buffer): void {
    this.send(frame(command, replyTo, requestId, payload));
  }

  /** Sends a command with a fresh id and waits for the reply that answers it (same id, reply-to = command). */
  async request(command: number, payload?: Buffer, timeoutMs = DEFAULT_WAIT_MS): Promise<RawFrame> {
    const id = this.id();
    this.sendFrame(command, 0, id, payload);
    return this.next((f) => f.replyTo === command && f.requestId === id, timeoutMs, `reply to ${command} id ${id}`);
  }

  /** Takes the first received frame matching pred (by default: any), waiting at most timeoutMs. */
  next(pred: (f: RawFrame) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS, what = 'a frame'): Promise<RawFrame> {
    const idx = this.queue.findIndex(pred);
    if (idx >= 0) return Promise.resolve(this.queue.splice(idx, 1)[0]!);
    if (this.isClosed) return Promise.reject(new Error(`connection closed; no ${what}`));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** Frames received and not taken yet. */
  get queued(): readonly RawFrame[] {
    return this.queue;
  }

  /** Resolves true once the connection is closed, false if it is still open after timeoutMs. */
  async waitClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.closed.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Half-closes our side (FIN) after what was written. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let off = 0;
    while (this.pending.length - off >= HEADER) {
      const length = this.pending.readUInt32BE(off + 8);
      if (this.pending.length - off < HEADER + length) break;
      const f: RawFrame = {
        command: this.pending.readUInt16BE(off),
        replyTo: this.pending.readUInt16BE(off + 2),
        requestId: this.pending.readUInt32BE(off + 4),
        payload: Buffer.from(this.pending.subarray(off + HEADER, off + HEADER + length)),
      };
      off += HEADER + length;
      this.deliver(f);
    }
    this.pending = this.pending.subarray(off);
  }

  private deliver(f: RawFrame): void {
    if (f.replyTo === 0) this.commandsSeen.push(f);
    const idx = this.waiters.findIndex((w) => w.pred(f));
    if (idx >= 0) {
      const w = this.waiters.splice(idx, 1)[0]!;
      clearTimeout(w.timer);
      w.resolve(f);
      return;
    }
    if (this.queue.length >= FRAMES_QUEUED_MAX) {
      this.lastError = new Error(`more than ${FRAMES_QUEUED_MAX} frames queued unread`);
      this.socket.destroy(this.lastError);
      return;
    }
    this.queue.push(f);
  }
}

/** Reply numbers and the commands the tests send, as PROTOCOL.md numbers them. */
export const R = { ack: 1, fail: 2, failinfo: 3, tryelsewhere: 4, unknown: 9, dataInt: 2105, dataString: 2125 } as const;
export const C = {
  hello: 10,
  goodbye: 20,
  ping: 30,
  serverInfo: 100,
  hashmask: 120,
  setInt: 2000,
  setString: 2020,
  getInt: 2100,
  getString: 2120,
} as const;

/** set_int payload: int map hash, int key hash, int expires, int full wait, string name, int value. */
export function setIntPayload(mapHash: number, name: string, value: number, expiresSec = 0, fullWait = 0): Buffer {
  return Buffer.concat([int(mapHash), int(fnv(name)), int(expiresSec), int(fullWait), str(name), int(value)]);
}

/** set_string payload: as set_int with a string value. */
export function setStringPayload(mapHash: number, name: string, value: Buffer, expiresSec = 0, fullWait = 0): Buffer {
  return Buffer.concat([int(mapHash), int(fnv(name)), int(expiresSec), int(fullWait), str(name), str(value)]);
}

/** get_int / get_string payload: int map hash, int key hash. */
export function getPayload(mapHash: number, keyHash: number): Buffer {
  return Buffer.concat([int(mapHash), int(keyHash)]);
}

/** A failinfo payload's error code (int at offset 0). */
export function failCode(f: RawFrame): number {
  return f.payload.readInt32BE(0);
}

/**
 * Checks a node still serves a fresh connection correctly: ping, then set_int and get_int of a
 * unique key. Returns a description of what went wrong, or undefined when all was well.
 */
export async function checkHealthy(addr: string, tag: string): Promise<string | undefined> {
  const c = await RawClient.connect(addr);
  try {
    const pong = await c.request(C.ping);
    if (pong.command !== R.ack || pong.payload.length !== 0) return `ping answered ${pong.command}`;
    const name = `health-${tag}`;
    const value = (fnv(tag) & 0x7fffffff) - 12345;
    const set = await c.request(C.setInt, setIntPayload(0, name, value));
    if (set.command !== R.ack) return `set_int answered ${set.command}`;
    const got = await c.request(C.getInt, getPayload(0, fnv(name)));
    const want = Buffer.concat([int(0), int(fnv(name)), int(value)]);
    if (got.command !== R.dataInt || !got.payload.equals(want)) {
      return `get_int answered ${got.command} ${got.payload.toString('hex')}, want ${R.dataInt} ${want.toString('hex')}`;
    }
    return undefined;
  } finally {
    c.destroy();
    await c.closed;
  }
}

/** The raw clients a test file opened, destroyed together at the end (or after each test). */
export class RawPool {
  private readonly clients: RawClient[] = [];

  async open(addr: string): Promise<RawClient> {
    const c = await RawClient.connect(addr);
    this.clients.push(c);
    return c;
  }

  destroyAll(): void {
    for (const c of this.clients.splice(0)) c.destroy();
  }
}
