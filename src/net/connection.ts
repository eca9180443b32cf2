// One framed connection: decoding of incoming frames, per-tick batched writes, backpressure
// (reading pauses while too many bytes wait to be sent), and an idempotent close. It runs on any
// ByteStream (a net.Socket, or the simulator's VirtualSocket) and any Clock (real or virtual).
import { Writer } from '../protocol/codec.js';
import type { Frame } from '../protocol/header.js';
import { realClock, type Clock } from '../shared/clock.js';
import { DEFAULT_MAX_FRAME_BYTES, OUTPUT_HIGH_WATER_BYTES } from '../shared/limits.js';
import type { ByteStream } from './byte-stream.js';
import { FrameDecoder } from './framer.js';
import { looksLikeTls } from './tls-material.js';

/**
 * The first bytes on a plain connection are a TLS record: the peer speaks TLS (a TLS client on a
 * plain port, or a TLS node answering a plain client). No command number starts with 0x15/0x16
 * 0x03, so no valid frame is mistaken for one.
 */
export class TlsOnPlainError extends Error {
  override name = 'TlsOnPlainError';
}

export interface ConnectionOptions {
  maxFrameBytes?: number;
  /** Reading pauses while more than this many bytes wait to be written. */
  highWaterBytes?: number;
  /**
   * false for links where both ends send bulk traffic (node links, a client's links): if both
   * stopped reading while their own output waits, neither would ever drain. Such a link instead
   * fails once more than outputMaxBytes wait unsent (the peer is not reading at all).
   */
  pauseReadOnOutput?: boolean;
  outputMaxBytes?: number;
  /**
   * Told every change of the bytes this connection holds of frames not yet handed out (an
   * unfinished frame, or frames held while reading pauses), so a node can bound them in total.
   */
  onBufferedChange?: (deltaBytes: number) => void;
  /** The clock of the batched flush, the drain of held frames and the close timeout (default: real). */
  clock?: Clock;
}

export type CloseReason = { kind: 'local'; why: string } | { kind: 'remote' } | { kind: 'error'; error: Error };

export interface ConnectionEvents {
  /** Called for every whole frame, in order; a throw closes this connection (reported to onClose). */
  onFrame(frame: Frame): void;
  /** Called once when the connection is closed, for whatever reason. */
  onClose(reason: CloseReason): void;
}

const EMPTY = Buffer.alloc(0);

/**
 * Bytes of replies that may gather while a chunk of frames is worked through before they are
 * written (else they leave once the chunk is done). Bytes, not frames: a flush per 16 frames made
 * 3-4 writes per chunk of 50 small requests, and each write costs both ends a system call and a
 * read (bench/notes-W.md: node CPU per get at 50 in flight fell by about a fifth without it).
 */
const SUB_BATCH_BYTES = 64 * 1024;

/**
 * Byte strings of at least this size (stored values) go into the batch by reference and leave
 * with one writev beside the rest, not copied into it (codec.ts Writer.strShared).
 */
export const SHARED_BYTES_MIN = 8 * 1024;

/** How long a closing connection waits for its peer to take the rest before it is destroyed. */
const CLOSE_TIMEOUT_MS = 5000;

/**
 * S is the socket's type: net.Socket by default (the node reads TLS details from it); the
 * simulator's connections are Connection<VirtualSocket>.
 */
export class Connection<S extends ByteStream = ByteStream> {
  readonly w = new Writer();
  /** The clock this connection (and what lives on it: a link, a session) runs on. */
  readonly clock: Clock;
  private readonly decoder: FrameDecoder;
  private readonly highWaterBytes: number;
  private pauseReadOnOutput: boolean;
  private readonly outputMaxBytes: number;
  private flushScheduled = false;
  private closing = false;
  private closedFlag = false;
  private readPausedForOutput = false;
  private readPausedByUser = false;
  private handlers: ConnectionEvents | undefined;
  /** True while the decoder is handing out frames (a resume then needs no separate drain). */
  private decoding = false;
  private drainScheduled = false;
  bytesIn = 0;
  bytesOut = 0;
  framesIn = 0;
  /** clock.nowMs() when the frame now being received began; undefined between frames. */
  partialSinceMs: number | undefined;
  private onBufferedChange: ((deltaBytes: number) => void) | undefined;
  private bufferedReported = 0;
  private remoteSeen: string | undefined;

  constructor(
    readonly socket: S,
    options: ConnectionOptions = {},
  ) {
    this.clock = options.clock ?? realClock;
    this.decoder = new FrameDecoder(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.highWaterBytes = options.highWaterBytes ?? OUTPUT_HIGH_WATER_BYTES;
    this.pauseReadOnOutput = options.pauseReadOnOutput ?? true;
    this.outputMaxBytes = options.outputMaxBytes ?? 1024 * 1024 * 1024;
    this.onBufferedChange = options.onBufferedChange;
    this.w.refMinBytes = SHARED_BYTES_MIN;
    socket.setNoDelay(true);
    if (this.noteRemote() === undefined) socket.once('connect', () => this.noteRemote());
    socket.on('drain', () => this.onDrain());
    socket.on('error', (error: Error) => this.finish({ kind: 'error', error }));
    socket.on('close', () => this.finish({ kind: 'remote' }));
    socket.on('end', () => {
      // The peer finished sending; flush what we owe it, then close our side.
      this.close('peer ended the connection');
    });
  }

  /** A connection that turned out to be a node link: larger frames, and reading never paused for output. */
  becomeBidirectional(maxFrameBytes: number): void {
    this.decoder.maxFrameBytes = maxFrameBytes;
    this.pauseReadOnOutput = false;
    if (this.readPausedForOutput) {
      this.readPausedForOutput = false;
      this.resumeIfUnpaused();
    }
  }

  /** Changes the largest frame payload accepted from now on (a client that logged in gets the node's limit). */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.decoder.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Starts delivering frames; bytes that arrive before this wait in the socket. Called again, it
   * hands the connection to new handlers (a connection that turns out to be a node link).
   */
  start(handlers: ConnectionEvents): void {
    const first = this.handlers === undefined;
    this.handlers = handlers;
    if (first) this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /** True over TLS (the socket is a TLSSocket). */
  get encrypted(): boolean {
    return 'encrypted' in this.socket && this.socket.encrypted === true;
  }

  get closed(): boolean {
    return this.closedFlag || this.closing;
  }

  /**
   * The peer's "host:port". Kept from the accept (or the connect of a dialled socket): once the
   * socket is closed, Node forgets it, and the log line of the close still names the peer.
   */
  get remote(): string {
    return this.remoteSeen ?? this.noteRemote() ?? '?:?';
  }

  private noteRemote(): string | undefined {
    const host = this.socket.remoteAddress;
    const port = this.socket.remotePort;
    if (host === undefined || port === undefined) return undefined;
    this.remoteSeen = `${host}:${port}`;
    return this.remoteSeen;
  }

  /** Bytes waiting to be written, in our batch and in the socket. */
  get pendingOutputBytes(): number {
    return this.w.length + this.socket.writableLength;
  }

  /** Opens a frame in the batch; write the payload into this.w, then call end(). */
  begin(command: number, replyTo: number, requestId: number): Writer {
    this.w.begin(command, replyTo, requestId);
    return this.w;
  }

  /** Closes the frame opened by begin() and schedules a flush. */
  end(): void {
    this.w.end();
    this.scheduleFlush();
  }

  /** A frame with no payload. */
  sendEmpty(command: number, replyTo: number, requestId: number): void {
    this.w.begin(command, replyTo, requestId);
    this.w.end();
    this.scheduleFlush();
  }

  /** Pauses reading (e.g. while this peer has too many deferred requests). */
  pauseReading(): void {
    this.readPausedByUser = true;
    this.socket.pause();
  }

  resumeReading(): void {
    this.readPausedByUser = false;
    this.resumeIfUnpaused();
  }

  private get readPaused(): boolean {
    return this.readPausedForOutput || this.readPausedByUser;
  }

  /**
   * Reading goes on once neither pause holds: first the frames the decoder kept when it stopped
   * mid-chunk (on a later tick, never inside the caller's own handler), then the socket.
   */
  private resumeIfUnpaused(): void {
    if (this.readPaused || this.closedFlag || this.decoding) return;
    if (!this.decoder.hasWholeFrame) {
      this.socket.resume();
      return;
    }
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    this.clock.setImmediate(() => {
      this.drainScheduled = false;
      // Closing: the held frames' replies could not be sent any more (the socket is ending).
      if (this.readPaused || this.closedFlag || this.closing) return;
      this.decode(EMPTY);
      if (!this.readPaused && !this.closedFlag) this.socket.resume();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.clock.soon(this.flushSoon);
  }

  /** flush() as a callback made once, not one closure per batch. */
  private readonly flushSoon = (): void => this.flush();

  /** Writes the batch now. */
  flush(): void {
    this.flushScheduled = false;
    if (this.closedFlag || this.w.length === 0 || this.w.inFrame) return;
    this.bytesOut += this.w.length;
    const ok = this.writeChunks(this.w.takeChunks());
    if (!this.pauseReadOnOutput) {
      if (this.socket.writableLength > this.outputMaxBytes) {
        this.abort(new Error(`peer is not reading: ${this.socket.writableLength} bytes wait unsent`));
      }
      return;
    }
    if (!ok && this.socket.writableLength > this.highWaterBytes) {
      if (!this.readPausedForOutput) {
        this.readPausedForOutput = true;
        this.socket.pause();
      }
    }
  }

  /** One write, or a corked run of writes (one writev) when the batch references shared bytes. */
  private writeChunks(chunks: Buffer[]): boolean {
    const socket = this.socket;
    if (chunks.length === 1) return socket.write(chunks[0]!);
    socket.cork?.();
    let ok = true;
    for (const c of chunks) ok = socket.write(c);
    socket.uncork?.();
    return ok;
  }

  private onDrain(): void {
    if (this.readPausedForOutput && this.socket.writableLength <= this.highWaterBytes / 2) {
      this.readPausedForOutput = false;
      this.resumeIfUnpaused();
    }
  }

  private onData(chunk: Buffer): void {
    if (this.closedFlag) return;
    if (this.bytesIn === 0 && !this.encrypted && looksLikeTls(chunk)) {
      this.abort(new TlsOnPlainError('the peer speaks TLS on a plain TCP connection'));
      return;
    }
    this.bytesIn += chunk.length;
    this.decode(chunk);
  }

  /**
   * Hands out the chunk's frames until reading pauses: a chunk of many small requests must not
   * make replies pile up past the high-water mark (the rest waits in the decoder).
   */
  private decode(chunk: Buffer): void {
    this.decoding = true;
    const framesBefore = this.framesIn;
    try {
      this.decoder.push(chunk, (frame) => {
        if (this.closedFlag) return false;
        this.framesIn++;
        this.handlers!.onFrame(frame);
        // Replies leave in sub-batches of SUB_BATCH_BYTES while a long chunk of requests is worked
        // through, so the peer starts on the first ones without waiting for the whole chunk.
        if (this.w.length >= SUB_BATCH_BYTES && !this.w.inFrame) {
          this.flush();
        }
        return !this.readPaused;
      });
    } catch (error) {
      this.abort(error instanceof Error ? error : new Error(String(error)));
      return;
    } finally {
      this.decoding = false;
    }
    this.noteBuffered(this.framesIn !== framesBefore);
    if (this.w.length > this.highWaterBytes) this.flush();
    // A pause set and lifted again by handlers while frames were handed out: read on.
    if (!this.readPaused && !this.closedFlag && this.socket.isPaused()) this.socket.resume();
  }

  /** Stops reporting held bytes (a connection that became a node link), taking back what was reported. */
  stopBufferedReports(): void {
    const report = this.onBufferedChange;
    this.onBufferedChange = undefined;
    if (report !== undefined && this.bufferedReported !== 0) report(-this.bufferedReported);
    this.bufferedReported = 0;
  }

  /** Bytes held of frames not yet handed out. */
  get bufferedBytes(): number {
    return this.decoder.pendingBytes;
  }

  /**
   * Keeps partialSinceMs (when the unfinished frame began; a frame handed out ends it, whole frames
   * held while reading pauses are not unfinished) and reports the change of bytes held.
   */
  private noteBuffered(frameCompleted: boolean): void {
    const held = this.closedFlag ? 0 : this.decoder.pendingBytes;
    if (held === 0 || this.decoder.hasWholeFrame) this.partialSinceMs = undefined;
    else if (frameCompleted || this.partialSinceMs === undefined) this.partialSinceMs = this.clock.nowMs();
    if (this.onBufferedChange !== undefined && held !== this.bufferedReported) {
      const delta = held - this.bufferedReported;
      this.bufferedReported = held;
      this.onBufferedChange(delta);
    }
  }

  /** Flushes what is batched, then ends the connection. Idempotent. */
  close(why: string): void {
    if (this.closing || this.closedFlag) return;
    this.closing = true;
    this.flush();
    this.socket.end();
    // A peer that never reads would hold the socket open: give it a bounded time.
    const timer = this.clock.setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS);
    timer.unref();
    this.socket.once('close', () => this.clock.clearTimeout(timer));
    this.localReason = why;
  }

  private localReason: string | undefined;

  /** Drops the connection at once (protocol violation, dead peer). Idempotent. */
  abort(error: Error): void {
    if (this.closedFlag) return;
    this.socket.destroy();
    this.finish({ kind: 'error', error });
  }

  private finish(reason: CloseReason): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.socket.destroy();
    if (!this.decoding) this.decoder.clear();
    this.noteBuffered(false); // what it held is released
    const final: CloseReason = this.localReason !== undefined && reason.kind === 'remote' ? { kind: 'local', why: this.localReason } : reason;
    this.handlers?.onClose(final);
  }
}
