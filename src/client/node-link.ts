// One client connection to one node: handshake (client_hello, then auth when the client has a user),
// requests matched to replies by id, pushes acked and surfaced to the owner, reconnects with
// full-jitter exponential backoff (a refused login is retried no sooner than reconnectMaxMs).
import { performance } from 'node:perf_hooks';
import { Reader } from '../protocol/codec.js';
import { Cmd, ErrorCode, Feature, PROTOCOL_VERSION, Reply } from '../protocol/commands.js';
import type { Frame } from '../protocol/header.js';
import { clientHello, stringsReply } from '../protocol/messages/data.js';
import { address, failinfo, hashmask } from '../protocol/messages/legacy.js';
import { auth } from '../protocol/messages/auth.js';
import { bucketOwner, type BucketEntry } from '../protocol/messages/node.js';
import { Connection, type CloseReason } from '../net/connection.js';
import { closeReason, openNodeSocket } from './node-socket.js';
import { assert } from '../shared/assert.js';
import type { ResolvedOptions } from './options.js';
import type { Request, RequestHolder } from './request.js';
import { encodeRequest, failInfoError, setPayloadFits } from './wire.js';
import { ClusterError } from './errors.js';

/** connecting: socket or hello under way; ready: usable; draining: the node said goodbye. */
export type LinkState = 'connecting' | 'ready' | 'draining' | 'down' | 'closed';

export type Push =
  | { kind: 'serverInfo' | 'serverGone' | 'serverLeaving'; addr: string }
  | { kind: 'bucketOwner'; mask: number; entry: BucketEntry }
  | { kind: 'hashmask'; mask: number; hash: number; level: number }
  | { kind: 'goodbye' };

export interface LinkOwner {
  onLinkReady(link: NodeLink): void;
  /** The connection closed: `inFlight` were written on it, `queued` waited for its handshake. */
  onLinkDown(link: NodeLink, inFlight: Request[], queued: Request[], why: string): void;
  /** A reply to `req`; the frame's payload is valid only during the call. */
  onReply(link: NodeLink, req: Request, frame: Frame): void;
  onPush(link: NodeLink, push: Push): void;
  /** A request this link will not send (it would break the node's frame limit). */
  onRefused(req: Request, error: ClusterError): void;
}

const MAX_FRAME_CAPABILITY = 'max_frame_bytes=';

const EXPONENT_MAX = 30;

export class NodeLink implements RequestHolder {
  state: LinkState = 'down';
  /** Reported gone by the cluster: no reconnects until announced again. */
  retired = false;
  private conn: Connection | null = null;
  private readonly pending = new Map<number, Request>();
  private waiting: Request[] = [];
  private nextId = 1;
  private helloId = 0;
  private authId = 0;
  private capsId = 0;
  /** Why the node refused this link's login (wrong password, no users there), until a login works. */
  loginError: ClusterError | null = null;
  /** The node's frame limit, once its capabilities said it (else the client's own). */
  private nodeMaxFrameBytes: number;
  private goodbyeId = 0;
  private goodbyeDone: (() => void) | null = null;
  private attempt = 0;
  private connectTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Whether the current connection's TLS handshake is through (TLS links only). */
  private socketSecured: () => boolean = () => false;

  constructor(
    readonly addr: string,
    private readonly owner: LinkOwner,
    private readonly opts: ResolvedOptions,
  ) {
    this.nodeMaxFrameBytes = opts.maxFrameBytes;
  }

  /** Usable for new requests now, or soon (connecting). */
  get accepting(): boolean {
    return this.state === 'ready' || this.state === 'connecting';
  }

  get inFlight(): number {
    return this.pending.size;
  }

  connect(): void {
    if (this.closed || this.retired || this.state !== 'down') return;
    this.clearReconnect();
    const socket = openNodeSocket(this.addr, this.opts.tls);
    this.socketSecured = socket.secured;
    const conn = new Connection(socket.socket, { maxFrameBytes: this.opts.maxFrameBytes, pauseReadOnOutput: false });
    this.conn = conn;
    this.state = 'connecting';
    conn.start({ onFrame: (f) => this.onFrame(conn, f), onClose: (r) => this.onClose(conn, r) });
    this.helloId = this.takeId();
    clientHello.encode(conn.begin(Cmd.clientHello, 0, this.helloId), {
      version: PROTOCOL_VERSION,
      features: Feature.richPushes | Feature.goodbyePush | Feature.unorderedReplies,
    });
    conn.end();
    // Pipelined behind the hello: the login; the node holds what follows until it is decided.
    const creds = this.opts.credentials;
    if (creds !== null) {
      this.authId = this.takeId();
      auth.encode(conn.begin(Cmd.auth, 0, this.authId), creds);
      conn.end();
    }
    // Pipelined behind the hello: the node's frame limit, so no request is sent that it must refuse.
    this.nodeMaxFrameBytes = this.opts.maxFrameBytes;
    this.capsId = this.takeId();
    conn.sendEmpty(Cmd.capabilities, 0, this.capsId);
    const ms = this.opts.connectTimeoutMs;
    this.connectTimer = setTimeout(() => conn.abort(new Error(`no client_hello ack within ${ms} ms`)), ms);
  }

  /** Writes a request now (state ready). */
  send(req: Request): void {
    const conn = this.conn;
    assert(conn !== null && this.state === 'ready', 'send() on a link that is not ready');
    if (this.capsId !== 0) {
      this.waiting.push(req); // the node's frame limit is not known yet: a moment
      return;
    }
    if ((req.cmd === Cmd.set && !setPayloadFits(req, this.nodeMaxFrameBytes)) || (req.custom !== null && req.custom.bytesBound > this.nodeMaxFrameBytes)) {
      this.owner.onRefused(req, new ClusterError('BAD_REQUEST', `the item is larger than ${this.addr}'s frame limit of ${this.nodeMaxFrameBytes} bytes`, undefined, this.addr));
      return;
    }
    const id = this.takeId();
    req.link = this;
    req.id = id;
    req.unsureSends++;
    if (req.cmd === Cmd.ping) req.sentAtMs = performance.now();
    this.pending.set(id, req);
    const w = conn.begin(req.cmd, 0, id);
    try {
      encodeRequest(w, req);
    } catch (e) {
      w.abandon();
      this.forget(id);
      req.unsureSends--;
      throw e;
    }
    conn.end();
  }

  /** Holds a request until the handshake completes (state connecting). */
  enqueue(req: Request): void {
    assert(this.state === 'connecting', 'enqueue() on a link that is not connecting');
    this.waiting.push(req);
  }

  forget(requestId: number): void {
    const req = this.pending.get(requestId);
    if (req === undefined) return;
    this.pending.delete(requestId);
    req.link = null;
  }

  /** The node was reported gone: close and stop reconnecting (its requests come back as orphans). */
  retire(): void {
    this.retired = true;
    this.clearReconnect();
    this.conn?.close('node reported gone');
  }

  /** The node was announced again. */
  revive(): void {
    this.retired = false;
    this.attempt = 0;
    this.connect();
  }

  /** close(): says goodbye and waits for the ack, bounded; no reconnects afterwards. */
  goodbye(timeoutMs: number): Promise<void> {
    this.closed = true;
    this.clearReconnect();
    const conn = this.conn;
    if (conn === null || (this.state !== 'ready' && this.state !== 'draining') || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.goodbyeDone = null;
        resolve();
      };
      this.goodbyeDone = done;
      this.goodbyeId = this.takeId();
      conn.sendEmpty(Cmd.goodbye, 0, this.goodbyeId);
    });
  }

  /** Drops the connection at once and clears every timer; orphans go to the owner. */
  destroy(): void {
    this.closed = true;
    this.clearReconnect();
    if (this.conn !== null) this.conn.abort(new Error('client closed'));
    else this.state = 'closed';
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0 || 1;
    return id;
  }

  private learnFrameLimit(payload: Buffer): void {
    try {
      for (const cap of stringsReply.decode(new Reader(payload), 'utf8', 1024)) {
        if (!cap.startsWith(MAX_FRAME_CAPABILITY)) continue;
        const n = Number(cap.slice(MAX_FRAME_CAPABILITY.length));
        if (Number.isSafeInteger(n) && n > 0) this.nodeMaxFrameBytes = Math.min(n, this.opts.maxFrameBytes);
      }
    } catch (e) {
      this.opts.logger.debug({ node: this.addr, err: (e as Error).message }, 'capabilities not understood');
    }
  }

  /** What a refused auth means for the caller. */
  private loginRefusal(f: Frame): ClusterError {
    if (f.command !== Reply.failinfo) return new ClusterError('SERVER_ERROR', `auth answered with reply ${f.command}`, undefined, this.addr);
    try {
      const { code, message } = failinfo.decode(new Reader(f.payload));
      return failInfoError(code, message, this.addr) ?? new ClusterError('AUTH_FAILED', `login not checked: ${message}`, code, this.addr);
    } catch (e) {
      return new ClusterError('SERVER_ERROR', `bad failinfo to auth: ${(e as Error).message}`, undefined, this.addr);
    }
  }

  /** Ready once the hello and (with a user) the login are both acked. */
  private maybeReady(): void {
    if (this.state === 'connecting' && this.helloId === 0 && this.authId === 0) this.becomeReady();
  }

  private becomeReady(): void {
    this.clearConnectTimer();
    this.state = 'ready';
    this.attempt = 0;
    this.flushWaiting();
    this.owner.onLinkReady(this);
  }

  /** Sends what waited for the handshake, once the node's limits are known too. */
  private flushWaiting(): void {
    if (this.state !== 'ready' || this.capsId !== 0) return;
    const queued = this.waiting;
    this.waiting = [];
    for (const r of queued) if (!r.done) this.send(r);
  }

  private onFrame(conn: Connection, f: Frame): void {
    if (f.replyTo !== 0) this.onReplyFrame(conn, f);
    else this.onPushFrame(conn, f);
  }

  private onReplyFrame(conn: Connection, f: Frame): void {
    const id = f.requestId;
    if (id === this.helloId && f.replyTo === Cmd.clientHello) {
      this.helloId = 0;
      if (f.command === Reply.ack) this.maybeReady();
      else conn.abort(new Error(`client_hello answered with reply ${f.command}`));
      return;
    }
    if (id === this.authId && f.replyTo === Cmd.auth) {
      this.authId = 0;
      if (f.command === Reply.ack) {
        this.loginError = null;
        this.maybeReady();
        return;
      }
      this.loginError = this.loginRefusal(f);
      this.opts.logger.warn({ node: this.addr, err: this.loginError.message }, 'login refused');
      conn.close(`login refused: ${this.loginError.message}`);
      return;
    }
    if (id === this.capsId && f.replyTo === Cmd.capabilities) {
      this.capsId = 0;
      if (f.command === Reply.strings) this.learnFrameLimit(f.payload);
      this.flushWaiting();
      return;
    }
    if (id === this.goodbyeId && f.replyTo === Cmd.goodbye) {
      this.goodbyeId = 0;
      this.goodbyeDone?.();
      return;
    }
    const req = this.pending.get(id);
    if (req === undefined || req.cmd !== f.replyTo) {
      this.opts.logger.debug({ node: this.addr, requestId: id, reply: f.command, replyTo: f.replyTo }, 'reply matches no request');
      return;
    }
    this.pending.delete(id);
    req.link = null;
    this.owner.onReply(this, req, f);
  }

  private decodePush(f: Frame): Push | null {
    const r = new Reader(f.payload);
    switch (f.command) {
      case Cmd.serverInfo:
        return { kind: 'serverInfo', addr: address.decode(r) };
      case Cmd.serverGone:
        return { kind: 'serverGone', addr: address.decode(r) };
      case Cmd.serverLeaving:
        return { kind: 'serverLeaving', addr: address.decode(r) };
      case Cmd.bucketOwner: {
        const m = bucketOwner.decode(r);
        return { kind: 'bucketOwner', mask: m.mask, entry: m.entry };
      }
      case Cmd.hashmask:
        return { kind: 'hashmask', ...hashmask.decode(r) };
      case Cmd.goodbye:
        r.done('goodbye');
        return { kind: 'goodbye' };
      default:
        return null;
    }
  }

  private onPushFrame(conn: Connection, f: Frame): void {
    let push: Push | null;
    try {
      push = this.decodePush(f);
    } catch (e) {
      failinfo.encode(conn.begin(Reply.failinfo, f.command, f.requestId), { code: ErrorCode.badRequest, message: (e as Error).message });
      conn.end();
      return;
    }
    if (push === null) {
      conn.begin(Reply.unknown, f.command, f.requestId).u16(f.command);
      conn.end();
      return;
    }
    conn.sendEmpty(Reply.ack, f.command, f.requestId);
    if (push.kind === 'goodbye' && this.state === 'ready') this.state = 'draining';
    this.owner.onPush(this, push);
  }

  private onClose(conn: Connection, reason: CloseReason): void {
    if (conn !== this.conn) return;
    const why = closeReason(conn, reason, this.state === 'connecting', this.opts.tls, this.socketSecured());
    this.conn = null;
    this.clearConnectTimer();
    this.state = this.closed ? 'closed' : 'down';
    this.helloId = 0;
    this.authId = 0;
    this.capsId = 0;
    this.goodbyeDone?.();
    // Written on this connection (lost with it), and merely waiting for its handshake (not sent here).
    const inFlight: Request[] = [];
    for (const r of this.pending.values()) {
      r.link = null;
      inFlight.push(r);
    }
    this.pending.clear();
    const queued = this.waiting.filter((r) => !r.done);
    this.waiting = [];
    this.owner.onLinkDown(this, inFlight, queued, why);
    if (!this.closed && !this.retired) this.scheduleReconnect();
  }

  /** Full jitter: random(0, min(max, base * 2^attempt)); after a refused login, reconnectMaxMs flat (no storm of logins). */
  private scheduleReconnect(): void {
    const capMs = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectBaseMs * 2 ** Math.min(this.attempt, EXPONENT_MAX));
    this.attempt++;
    const delayMs = this.loginError !== null ? this.opts.reconnectMaxMs : Math.random() * capMs;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delayMs);
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }
}
