// VirtualSocket: one end of a simulated TCP connection, a ByteStream on virtual time. Bytes leave
// through the network's Wire (delays, cuts), arrive in order, wait while the socket is paused, and
// count against the writer's window until read, so writableLength and 'drain' behave as on TCP.
import { EventEmitter } from 'node:events';
import type { ByteStream } from '../net/byte-stream.js';
import type { Clock } from '../shared/clock.js';

/** What travels one direction of a connection: bytes, the end of the stream, or a reset. */
export type Segment = { kind: 'data'; bytes: Buffer } | { kind: 'fin' } | { kind: 'rst' };

/** The network as a socket sees it. */
export interface Wire {
  readonly clock: Clock;
  /** Sends a segment from this socket to its peer, behind what it sent before. */
  send(from: VirtualSocket, segment: Segment): void;
  /** Kernel buffers between the two applications, per direction: writes beyond it wait in writableLength. */
  readonly windowBytes: number;
  /** write() returns false once writableLength reaches this (net.Socket's default: 16 KiB). */
  readonly highWaterBytes: number;
}

/** An error with a system code, as net.Socket gives them (ECONNRESET, ...). */
export class SocketError extends Error {
  override name = 'SocketError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class VirtualSocket extends EventEmitter implements ByteStream {
  peer!: VirtualSocket;
  /** Received, not yet handed out as 'data'. */
  private held: Buffer[] = [];
  private flowing: boolean | null = null;
  private flushScheduled = false;
  /** Bytes this side wrote that the peer's application has not read yet. */
  private unreadByPeer = 0;
  private needDrain = false;
  private ended = false;
  private finReceived = false;
  private endEmitted = false;
  private rstSent = false;
  destroyed = false;
  /**
   * A dialled end whose dial has not resolved yet: nobody listens to it, so a reset then fails the
   * dial (network.ts) instead of emitting 'error' (as connect() reports ECONNRESET on a net.Socket).
   */
  connecting = false;
  /** The host was killed: this end vanished with its process, and tells its owner nothing. */
  killed = false;
  private closeEmitted = false;

  constructor(
    private readonly wire: Wire,
    readonly localAddress: string,
    readonly localPort: number,
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {
    super();
  }

  /** "host:port" of each end, for traces. */
  get name(): string {
    return `${this.localAddress}:${this.localPort}>${this.remoteAddress}:${this.remotePort}`;
  }

  get writableLength(): number {
    return Math.max(0, this.unreadByPeer - this.wire.windowBytes);
  }

  /** Bytes received and not yet handed out. */
  get heldBytes(): number {
    let n = 0;
    for (const b of this.held) n += b.length;
    return n;
  }

  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    super.on(event, listener);
    // As on a net.Socket, the first 'data' listener starts the flow unless pause() came first.
    if (event === 'data' && this.flowing === null) this.resume();
    return this;
  }

  write(chunk: Buffer): boolean {
    if (this.destroyed) return false;
    if (this.ended) {
      // As net.Socket: a write after end() is an error that destroys the socket.
      const error = new SocketError('write after end', 'ERR_STREAM_WRITE_AFTER_END');
      this.wire.clock.soon(() => this.destroy(error));
      return false;
    }
    if (chunk.length === 0) return this.writableLength < this.wire.highWaterBytes;
    this.unreadByPeer += chunk.length;
    this.wire.send(this, { kind: 'data', bytes: Buffer.from(chunk) });
    const ok = this.writableLength < this.wire.highWaterBytes;
    if (!ok) this.needDrain = true;
    return ok;
  }

  pause(): this {
    this.flowing = false;
    return this;
  }

  resume(): this {
    this.flowing = true;
    this.scheduleFlush();
    return this;
  }

  isPaused(): boolean {
    return this.flowing === false;
  }

  setNoDelay(): this {
    return this;
  }

  end(): this {
    if (this.ended || this.destroyed) return this;
    this.ended = true;
    this.wire.send(this, { kind: 'fin' });
    this.closeIfDone();
    return this;
  }

  /**
   * Closes this end now. The peer then sees the end of the stream after what was already sent
   * (a FIN), or a reset when this end drops bytes it never read (as TCP does).
   */
  destroy(error?: Error): this {
    if (this.destroyed) return this;
    const unread = this.held.length > 0;
    this.destroyed = true;
    this.held = [];
    if (unread) this.sendReset();
    else if (!this.ended) this.wire.send(this, { kind: 'fin' });
    this.ended = true;
    if (this.connecting) return this; // the dial fails instead (network.ts)
    this.wire.clock.soon(() => {
      if (error !== undefined) this.emit('error', error);
      this.emitClose();
    });
    return this;
  }

  /** The host died with this end: nothing more is emitted here; the peer gets a reset. */
  kill(): void {
    if (this.killed) return;
    this.killed = true;
    this.destroyed = true;
    this.held = [];
    this.closeEmitted = true;
    this.sendReset();
  }

  /** A segment arrived from the peer. */
  receive(segment: Segment): void {
    if (this.destroyed) {
      // Bytes for a closed socket are answered with a reset, once.
      if (segment.kind === 'data') this.sendReset();
      return;
    }
    switch (segment.kind) {
      case 'data':
        this.held.push(segment.bytes);
        break;
      case 'fin':
        this.finReceived = true;
        break;
      case 'rst':
        this.destroy(new SocketError(`read ECONNRESET (${this.name})`, 'ECONNRESET'));
        return;
    }
    if (this.flowing === true) this.flushHeld();
  }

  /** The peer's application read `bytes` of what this side wrote. */
  private onPeerRead(bytes: number): void {
    this.unreadByPeer -= bytes;
    if (this.needDrain && this.writableLength === 0 && !this.destroyed) {
      this.needDrain = false;
      this.wire.clock.setImmediate(() => {
        if (!this.destroyed) this.emit('drain');
      });
    }
  }

  private sendReset(): void {
    if (this.rstSent) return;
    this.rstSent = true;
    this.wire.send(this, { kind: 'rst' });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.destroyed) return;
    this.flushScheduled = true;
    // As on a net.Socket, resume() hands out held bytes later, never inside the caller.
    this.wire.clock.setImmediate(() => {
      this.flushScheduled = false;
      if (this.flowing === true) this.flushHeld();
    });
  }

  private flushHeld(): void {
    while (this.flowing === true && !this.destroyed && this.held.length > 0) {
      const chunk = this.held.shift()!;
      this.peer.onPeerRead(chunk.length);
      this.emit('data', chunk);
    }
    if (this.destroyed || this.held.length > 0 || !this.finReceived || this.endEmitted) return;
    this.endEmitted = true;
    this.emit('end');
    // allowHalfOpen is false on net.Socket: the stream's end ends this side too.
    this.end();
    this.closeIfDone();
  }

  private closeIfDone(): void {
    if (this.destroyed || !this.ended || !this.endEmitted) return;
    this.destroyed = true;
    this.wire.clock.soon(() => this.emitClose());
  }

  private emitClose(): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.emit('close');
  }
}
