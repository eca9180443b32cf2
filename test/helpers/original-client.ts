// An imitation of the original 2012 C client library, from raw frames: it receives into a buffer
// of 1,024 bytes (one read at a time, as its recv() did), cannot put together a frame split across
// two reads (a read that ends mid-frame is recorded as the fault that crashed it), acks every push
// (server_info, hashmask) and keeps the bucket table the hashmask pushes describe.
import { connect, type Socket } from 'node:net';
import { C, frame, HEADER, R, type RawFrame } from './raw.js';

/** The original library's receive buffer. */
export const ORIGINAL_READ_BYTES_MAX = 1024;

const WAIT_MS = 10_000;

interface Waiter {
  pred: (f: RawFrame) => boolean;
  resolve: (f: RawFrame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class OriginalClient {
  /** Every fault the original library would have crashed or spun on (reads ending mid-frame, ...). */
  readonly faults: string[] = [];
  /** The bucket table as the hashmask pushes built it: mask, and per bucket this node's level. */
  mask = 0;
  levels: number[] = [];
  readonly servers = new Set<string>();
  hashmasksSeen = 0;
  /** Pushes received while an earlier push was still unacknowledged (the node must never do that). */
  pushesOverlapping = 0;
  readsLargest = 0;
  private unacked = 0;
  private nextId = 1;
  private readonly waiters: Waiter[] = [];
  private readonly listeners = new Set<() => void>();
  readonly closed: Promise<void>;
  private isClosed = false;

  private constructor(private readonly socket: Socket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(new Error('connection closed while a reply was awaited'));
        }
        for (const l of this.listeners) l();
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  static connect(addr: string): Promise<OriginalClient> {
    const idx = addr.lastIndexOf(':');
    let client: OriginalClient | undefined;
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: addr.slice(0, idx),
        port: Number(addr.slice(idx + 1)),
        // One recv() into a fixed buffer of 1,024 bytes per read, as the C library did.
        onread: {
          buffer: Buffer.alloc(ORIGINAL_READ_BYTES_MAX),
          callback: (n: number, buf: Uint8Array): boolean => {
            client?.onRead(Buffer.from(buf.subarray(0, n)));
            return true;
          },
        },
      });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        client = new OriginalClient(socket);
        resolve(client);
      });
    });
  }

  /** hello (10): resolves with its ack; the pushes follow and are acked as they come. */
  hello(): Promise<RawFrame> {
    return this.request(C.hello);
  }

  /** Sends a command and waits for the reply with its id. */
  request(command: number, payload?: Buffer, timeoutMs = WAIT_MS): Promise<RawFrame> {
    const id = this.nextId++;
    const reply = this.next((f) => f.replyTo === command && f.requestId === id, timeoutMs, `the reply to command ${command}`);
    this.socket.write(frame(command, 0, id, payload));
    return reply;
  }

  /** Resolves once check() holds, re-checked after every push; rejects after timeoutMs. */
  until(what: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (hashmasks seen ${this.hashmasksSeen}, faults: ${this.faults.join('; ') || 'none'})`));
      }, timeoutMs);
      const listener = (): void => {
        if (!check() && !this.isClosed) return;
        this.listeners.delete(listener);
        clearTimeout(timer);
        if (check()) resolve();
        else reject(new Error(`connection closed while waiting for ${what}`));
      };
      this.listeners.add(listener);
    });
  }

  /** The level this client believes the node has for bucket b of its mask (-1 when never told). */
  levelOf(b: number): number {
    return this.levels[b & this.mask] ?? -1;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private next(pred: (f: RawFrame) => boolean, timeoutMs: number, what: string): Promise<RawFrame> {
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

  /** One read: it must hold whole frames only, as the original library silently assumed. */
  private onRead(chunk: Buffer): void {
    this.readsLargest = Math.max(this.readsLargest, chunk.length);
    let off = 0;
    while (off < chunk.length) {
      if (chunk.length - off < HEADER || chunk.length - off < HEADER + chunk.readUInt32BE(off + 8)) {
        this.faults.push(`a read of ${chunk.length} bytes ends inside a frame (at offset ${off}): the original client loses its framing here`);
        this.socket.destroy();
        return;
      }
      const length = chunk.readUInt32BE(off + 8);
      const f: RawFrame = {
        command: chunk.readUInt16BE(off),
        replyTo: chunk.readUInt16BE(off + 2),
        requestId: chunk.readUInt32BE(off + 4),
        payload: Buffer.from(chunk.subarray(off + HEADER, off + HEADER + length)),
      };
      off += HEADER + length;
      if (f.replyTo === 0) this.onPush(f);
      else this.onReply(f);
    }
  }

  private onReply(f: RawFrame): void {
    const idx = this.waiters.findIndex((w) => w.pred(f));
    if (idx < 0) return;
    const w = this.waiters.splice(idx, 1)[0]!;
    clearTimeout(w.timer);
    w.resolve(f);
  }

  private onPush(f: RawFrame): void {
    if (this.unacked > 0) this.pushesOverlapping++;
    if (f.command === C.hashmask && f.payload.length === 12) {
      this.applyHashmask(f.payload.readUInt32BE(0), f.payload.readUInt32BE(4), f.payload.readInt32BE(8));
    } else if (f.command === C.serverInfo && f.payload.length >= 4) {
      this.servers.add(f.payload.subarray(4, 4 + f.payload.readInt32BE(0)).toString('latin1'));
    } else {
      this.faults.push(`a push the original client does not know: command ${f.command}`);
    }
    // The ack goes out on a later turn, so a node that did not wait for it would be caught
    // sending the next push meanwhile.
    this.unacked++;
    setImmediate(() => {
      this.unacked--;
      if (!this.socket.destroyed) this.socket.write(frame(R.ack, f.command, f.requestId));
      for (const l of [...this.listeners]) l();
    });
  }

  /** A wider mask re-indexes the table (new[i] = old[i AND oldmask]); then every bucket it names is set. */
  private applyHashmask(mask: number, hash: number, level: number): void {
    this.hashmasksSeen++;
    if (mask > this.mask) {
      const old = this.levels;
      const oldMask = this.mask;
      this.levels = Array.from({ length: mask + 1 }, (_, i) => (oldMask === 0 ? -1 : old[i & oldMask]!));
      this.mask = mask;
    }
    for (let i = hash & mask; i <= this.mask; i += mask + 1) this.levels[i] = level;
  }
}
