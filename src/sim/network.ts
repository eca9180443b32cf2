// VirtualNetwork: hosts, listeners and connections on virtual time. Each direction of a connection
// is a pipe delivering segments in order, each after a delay drawn from the seeded random source.
// Faults: a link cut one way or both, a host isolated, a connection reset, a host killed, a host
// stalled (its application reads nothing for a while).
//
// BEHAVIOR of a cut (as TCP, which retransmits): segments that reach a cut direction are HELD, not
// dropped; after the heal they are delivered, in order, after fresh delays. A reset or a kill of
// the connection drops what is held. A dial across a cut gets no answer: it fails with ETIMEDOUT
// after its timeout (a SYN is not retried at the heal). A dial to an address nobody listens on is
// refused (ECONNREFUSED) after one round trip. Cuts and isolation are by host (the part of an
// address before the port), and apply to segments as they arrive.
import { DialError } from '../net/dial.js';
import { parseAddress } from '../shared/address.js';
import { assert } from '../shared/assert.js';
import type { VirtualClock } from './clock.js';
import type { SeededRandom } from './random.js';
import { VirtualSocket, type Segment, type Wire } from './socket.js';
import type { Trace } from './trace.js';

export interface NetworkOptions {
  clock: VirtualClock;
  random: SeededRandom;
  trace?: Trace | undefined;
  /** One-way delay of each segment, uniform in [minDelayMs, maxDelayMs). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A write is split into 1 to this many segments at random points (1: never split). */
  piecesPerWriteMax?: number;
  windowBytes?: number;
  highWaterBytes?: number;
}

interface Timed {
  segment: Segment;
  arriveMs: number;
}

/** One direction of a connection. */
interface Pipe {
  from: VirtualSocket;
  to: VirtualSocket;
  fromHost: string;
  toHost: string;
  queue: Timed[];
  lastArriveMs: number;
  armed: boolean;
  /** Its head reached a cut: waits for the heal. */
  held: boolean;
}

export interface VirtualListener {
  readonly address: string;
  close(): void;
}

const FIRST_EPHEMERAL_PORT = 40000;
/** Segments one direction may hold (a long cut under a writer that ignores backpressure): a bound, asserted. */
const PIPE_SEGMENTS_MAX = 1_000_000;

export class VirtualNetwork implements Wire {
  readonly clock: VirtualClock;
  readonly windowBytes: number;
  readonly highWaterBytes: number;
  private readonly random: SeededRandom;
  private readonly trace: Trace | undefined;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly piecesPerWriteMax: number;
  private readonly listeners = new Map<string, (socket: VirtualSocket) => void>();
  private readonly pipes = new Map<VirtualSocket, Pipe>();
  private readonly nextPort = new Map<string, number>();
  /** Directed cuts, "from>to". */
  private readonly cuts = new Set<string>();
  private readonly isolated = new Set<string>();
  /** Hosts whose process is paused, until when: what reaches them waits in the kernel meanwhile. */
  private readonly stalledUntil = new Map<string, number>();

  constructor(opts: NetworkOptions) {
    this.clock = opts.clock;
    this.random = opts.random;
    this.trace = opts.trace;
    this.minDelayMs = opts.minDelayMs ?? 0.1;
    this.maxDelayMs = opts.maxDelayMs ?? 2;
    this.piecesPerWriteMax = opts.piecesPerWriteMax ?? 1;
    this.windowBytes = opts.windowBytes ?? 64 * 1024;
    this.highWaterBytes = opts.highWaterBytes ?? 16 * 1024;
    assert(this.minDelayMs >= 0 && this.maxDelayMs >= this.minDelayMs, 'bad delay range');
    assert(Number.isInteger(this.piecesPerWriteMax) && this.piecesPerWriteMax >= 1, 'piecesPerWriteMax must be >= 1');
  }

  /** Connections with a pipe still open or delivering (for tests and leak checks). */
  get openPipes(): number {
    return this.pipes.size;
  }

  /** Accepts connections to addr ("host:port"); onConnection gets the accepted socket. */
  listen(addr: string, onConnection: (socket: VirtualSocket) => void): VirtualListener {
    const a = parseAddress(addr);
    const key = `${a.host}:${a.port}`;
    if (this.listeners.has(key)) throw new DialError(`listen ${key}: address in use`, 'EADDRINUSE');
    this.listeners.set(key, onConnection);
    this.note(`listen ${key}`);
    return {
      address: key,
      close: () => {
        if (this.listeners.get(key) === onConnection) {
          this.listeners.delete(key);
          this.note(`unlisten ${key}`);
        }
      },
    };
  }

  /** Opens a connection from fromHost to addr; rejects with a DialError as dialSocket() does. */
  dial(fromHost: string, addr: string, opts: { timeoutMs: number }): Promise<VirtualSocket> {
    let to;
    try {
      to = parseAddress(addr);
    } catch (error) {
      return Promise.reject(new DialError(`cannot dial ${addr}: ${error instanceof Error ? error.message : String(error)}`, 'EBADADDR'));
    }
    const key = `${to.host}:${to.port}`;
    const port = this.ephemeralPort(fromHost);
    const who = `${fromHost}:${port}>${key}`;
    return new Promise((resolve, reject) => {
      if (this.blocked(fromHost, to.host) || this.blocked(to.host, fromHost)) {
        this.note(`dial ${who} lost in a cut`);
        this.clock.at(this.clock.nowMs() + opts.timeoutMs, () => {
          this.note(`dial ${who} timed out`);
          reject(new DialError(`connect to ${addr} timed out after ${opts.timeoutMs} ms`, 'ETIMEDOUT'));
        });
        return;
      }
      this.note(`dial ${who}`);
      this.clock.at(this.clock.nowMs() + this.delayMs(), () => {
        const accept = this.listeners.get(key);
        const backMs = this.clock.nowMs() + this.delayMs();
        if (accept === undefined) {
          this.note(`dial ${who} refused`);
          this.clock.at(backMs, () => reject(new DialError(`connect to ${addr}: connect ECONNREFUSED ${key}`, 'ECONNREFUSED')));
          return;
        }
        const client = new VirtualSocket(this, fromHost, port, to.host, to.port);
        const server = new VirtualSocket(this, to.host, to.port, fromHost, port);
        client.peer = server;
        server.peer = client;
        client.connecting = true;
        this.pipes.set(client, this.pipe(client, server));
        this.pipes.set(server, this.pipe(server, client));
        this.note(`accept ${who}`);
        accept(server);
        this.clock.at(backMs, () => {
          client.connecting = false;
          if (client.destroyed) {
            // Reset before the handshake came back (the server's host died meanwhile).
            this.note(`dial ${who} reset`);
            reject(new DialError(`connect to ${addr}: read ECONNRESET`, 'ECONNRESET'));
            return;
          }
          this.note(`connected ${who}`);
          resolve(client);
        });
      });
    });
  }

  /** Cuts the link between hosts a and b: both ways, or only from a to b. */
  cut(a: string, b: string, opts: { oneWay?: boolean } = {}): void {
    this.cuts.add(`${a}>${b}`);
    if (opts.oneWay !== true) this.cuts.add(`${b}>${a}`);
    this.note(`cut ${a}${opts.oneWay === true ? ' -> ' : ' <-> '}${b}`);
  }

  /** Heals the link between a and b, both ways. */
  heal(a: string, b: string): void {
    this.cuts.delete(`${a}>${b}`);
    this.cuts.delete(`${b}>${a}`);
    this.note(`heal ${a} <-> ${b}`);
    this.release();
  }

  /** Cuts host from every other host, both ways, until rejoin(). */
  isolate(host: string): void {
    this.isolated.add(host);
    this.note(`isolate ${host}`);
  }

  rejoin(host: string): void {
    this.isolated.delete(host);
    this.note(`rejoin ${host}`);
    this.release();
  }

  /** Heals every cut and isolation. */
  healAll(): void {
    this.cuts.clear();
    this.isolated.clear();
    this.note('heal all');
    this.release();
  }

  /**
   * The process on host pauses until untilMs (a long GC pause): segments for it arrive but its
   * application reads none of them until then; they are handed out in order afterwards.
   */
  stall(host: string, untilMs: number): void {
    this.stalledUntil.set(host, Math.max(untilMs, this.stalledUntil.get(host) ?? 0));
    this.note(`stall ${host} until ${untilMs.toFixed(3)}`);
  }

  /** True when segments from one host to the other are held. */
  blocked(from: string, to: string): boolean {
    if (from === to) return false;
    return this.isolated.has(from) || this.isolated.has(to) || this.cuts.has(`${from}>${to}`);
  }

  /** Resets the connection of this socket: both ends get ECONNRESET now; what was in flight is dropped. */
  reset(socket: VirtualSocket): void {
    this.note(`reset ${socket.name}`);
    for (const end of [socket, socket.peer]) {
      const pipe = this.pipes.get(end);
      if (pipe !== undefined) pipe.queue = [];
      this.clock.setImmediate(() => end.receive({ kind: 'rst' }));
    }
  }

  /**
   * The process on host dies (kill -9): its listeners go (dials are refused), its ends of every
   * connection vanish without a word to it, and each peer gets a reset after the usual delay.
   */
  kill(host: string): void {
    this.note(`kill ${host}`);
    for (const key of [...this.listeners.keys()]) {
      if (parseAddress(key).host === host) this.listeners.delete(key);
    }
    for (const [socket, pipe] of [...this.pipes]) {
      if (pipe.fromHost !== host) continue;
      pipe.queue = [];
      socket.kill();
    }
  }

  send(from: VirtualSocket, segment: Segment): void {
    const pipe = this.pipes.get(from);
    if (pipe === undefined) return; // the connection is gone
    const parts = segment.kind === 'data' ? this.split(segment.bytes) : [segment];
    for (const part of parts) {
      const arriveMs = Math.max(this.clock.nowMs() + this.delayMs(), pipe.lastArriveMs);
      pipe.lastArriveMs = arriveMs;
      pipe.queue.push({ segment: part, arriveMs });
      assert(pipe.queue.length <= PIPE_SEGMENTS_MAX, `${from.name} holds more than ${PIPE_SEGMENTS_MAX} segments`);
      if (this.trace !== undefined) this.note(`send ${from.name} ${describe(part)} due ${arriveMs.toFixed(3)}`);
    }
    this.arm(pipe);
  }

  private split(bytes: Buffer): Segment[] {
    const pieces = Math.min(bytes.length, this.piecesPerWriteMax === 1 ? 1 : this.random.int(1, this.piecesPerWriteMax + 1));
    if (pieces <= 1) return [{ kind: 'data', bytes }];
    const cutsAt = new Set<number>();
    while (cutsAt.size < pieces - 1) cutsAt.add(this.random.int(1, bytes.length));
    const points = [0, ...[...cutsAt].sort((x, y) => x - y), bytes.length];
    const out: Segment[] = [];
    for (let i = 0; i + 1 < points.length; i++) out.push({ kind: 'data', bytes: bytes.subarray(points[i]!, points[i + 1]!) });
    return out;
  }

  private pipe(from: VirtualSocket, to: VirtualSocket): Pipe {
    return { from, to, fromHost: from.localAddress, toHost: to.localAddress, queue: [], lastArriveMs: 0, armed: false, held: false };
  }

  private arm(pipe: Pipe): void {
    const head = pipe.queue[0];
    if (pipe.armed || pipe.held || head === undefined) return;
    pipe.armed = true;
    this.clock.at(head.arriveMs, () => {
      pipe.armed = false;
      this.deliver(pipe);
    });
  }

  private deliver(pipe: Pipe): void {
    const stallEndMs = this.stalledUntil.get(pipe.toHost) ?? 0;
    if (stallEndMs > this.clock.nowMs()) {
      pipe.armed = true;
      this.clock.at(stallEndMs, () => {
        pipe.armed = false;
        this.deliver(pipe);
      });
      return;
    }
    while (pipe.queue.length > 0 && pipe.queue[0]!.arriveMs <= this.clock.nowMs()) {
      if (this.blocked(pipe.fromHost, pipe.toHost)) {
        pipe.held = true;
        this.note(`held ${pipe.from.name} (${pipe.queue.length} segments)`);
        return;
      }
      const { segment } = pipe.queue.shift()!;
      if (this.trace !== undefined) this.note(`deliver ${pipe.from.name} ${describe(segment)}`);
      pipe.to.receive(segment);
    }
    if (pipe.queue.length === 0 && pipe.from.destroyed && pipe.to.destroyed && this.pipes.get(pipe.to)?.queue.length === 0) {
      this.pipes.delete(pipe.from);
      this.pipes.delete(pipe.to);
      return;
    }
    this.arm(pipe);
  }

  /** After a heal: held pipes that may flow again deliver what they hold, after fresh delays. */
  private release(): void {
    for (const pipe of this.pipes.values()) {
      if (!pipe.held || this.blocked(pipe.fromHost, pipe.toHost)) continue;
      pipe.held = false;
      let last = this.clock.nowMs();
      for (const t of pipe.queue) {
        t.arriveMs = Math.max(t.arriveMs, this.clock.nowMs() + this.delayMs(), last);
        last = t.arriveMs;
      }
      pipe.lastArriveMs = last;
      this.note(`release ${pipe.from.name} (${pipe.queue.length} segments)`);
      this.arm(pipe);
    }
  }

  private delayMs(): number {
    return this.minDelayMs === this.maxDelayMs ? this.minDelayMs : this.random.between(this.minDelayMs, this.maxDelayMs);
  }

  private ephemeralPort(host: string): number {
    const port = this.nextPort.get(host) ?? FIRST_EPHEMERAL_PORT;
    assert(port <= 65535, `host ${host} ran out of ephemeral ports`);
    this.nextPort.set(host, port + 1);
    return port;
  }

  private note(text: string): void {
    this.trace?.add(text);
  }
}

function describe(segment: Segment): string {
  return segment.kind === 'data' ? `${segment.bytes.length}B` : segment.kind;
}
