// The client's core: which node gets each request, what each answer means (redirect, retry, fail),
// what happens when a link drops, and what the nodes' pushes change. No public API here.
import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Reader } from '../protocol/codec.js';
import { Cmd, Reply } from '../protocol/commands.js';
import type { Frame } from '../protocol/header.js';
import { address, failinfo } from '../protocol/messages/legacy.js';
import { normalizeAddress } from '../shared/address.js';
import { ClusterError, IndeterminateError, TimeoutError } from './errors.js';
import { NodeLink, type LinkOwner, type Push } from './node-link.js';
import { setPayloadFits } from './wire.js';
import type { ResolvedOptions } from './options.js';
import { isRetrySafe, isWrite, ParkQueue, Request, RequestTracker, Route } from './request.js';
import { Topology, type ClusterEvents, type TopologyHost } from './topology.js';
import { decodeResult, failInfoError } from './wire.js';
import { payloadReader } from '../net/framer.js';

/** Parked requests wait a jittered delay growing per attempt from a few ms up to this. */
const PARK_BASE_MS = 2;
const PARK_MAX_MS = 100;


/** A request whose link drops this many times fails rather than being resent again. */
const MAX_LINK_LOSSES = 3;
export type RouterState = 'idle' | 'connecting' | 'connected' | 'closing' | 'closed';

export class Router implements LinkOwner, TopologyHost {
  state: RouterState = 'idle';
  readonly links = new Map<string, NodeLink>();
  readonly topology: Topology;
  private readonly tracker: RequestTracker;
  private readonly parked: ParkQueue;
  private readonly now = (): number => performance.now();
  private flushScheduled = false;
  private probe: { link: NodeLink; done: (why: string | null) => void } | null = null;

  constructor(
    readonly opts: ResolvedOptions,
    private readonly events: EventEmitter<ClusterEvents>,
  ) {
    this.tracker = new RequestTracker(this.now, (r) => this.expire(r));
    this.parked = new ParkQueue(this.now, (r) => this.dispatch(r));
    this.topology = new Topology(this, events, opts.logger, this.now);
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  // ---------------------------------------------------------------- requests

  submit<T>(req: Request): Promise<T> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(new ClusterError('CLOSED', 'the client is closed'));
    if (this.state === 'idle') return Promise.reject(new ClusterError('NOT_CONNECTED', 'not connected: call connect() first'));
    if (this.tracker.count >= this.opts.maxQueuedRequests) {
      return Promise.reject(new ClusterError('QUEUE_FULL', `${this.tracker.count} requests already waiting or in flight`));
    }
    if ((req.cmd === Cmd.set || req.cmd === Cmd.setIf || req.cmd === Cmd.getAndSet) && !setPayloadFits(req, this.opts.maxFrameBytes)) {
      // A node closes a connection that sends a frame over its limit: never send one.
      return Promise.reject(new ClusterError('BAD_REQUEST', `the item is larger than the frame limit of ${this.opts.maxFrameBytes} bytes`));
    }
    req.deadlineMs = this.now() + this.opts.requestTimeoutMs;
    const promise = new Promise<T>((resolve, reject) => {
      req.resolve = resolve as (v: unknown) => void;
      req.reject = reject;
    });
    this.tracker.add(req);
    this.dispatch(req);
    return promise;
  }

  private dispatch(req: Request): void {
    if (req.done) return;
    const link = this.pickLink(req);
    if (link === null) this.park(req);
    else if (link.state === 'ready') link.send(req);
    else link.enqueue(req);
  }

  /** The link for a request, or null when no usable one exists right now. */
  private pickLink(req: Request): NodeLink | null {
    if (req.route === Route.bucket) {
      const addr = this.topology.table.primaryOf(req.hash);
      if (addr !== '') {
        const link = this.links.get(addr) ?? this.learn(addr);
        return link !== undefined && link.accepting ? link : null;
      }
    } else if (req.route === Route.node) {
      const link = this.links.get(req.target);
      return link !== undefined && link.accepting ? link : null;
    }
    return this.anyLink();
  }

  private anyLink(): NodeLink | null {
    let connecting: NodeLink | null = null;
    for (const link of this.links.values()) {
      if (link.state === 'ready') return link;
      if (link.state === 'connecting' && connecting === null) connecting = link;
    }
    return connecting;
  }

  /** No usable node now: wait a short jittered delay, growing per attempt, then route again. */
  private park(req: Request): void {
    if (this.state === 'idle') {
      this.fail(req, new ClusterError('NOT_CONNECTED', 'no node is reachable'));
      return;
    }
    req.retries++;
    const capMs = Math.min(PARK_MAX_MS, PARK_BASE_MS * 2 ** Math.min(req.retries, 16));
    this.parked.park(req, capMs / 2 + (Math.random() * capMs) / 2);
    this.topology.refresh();
  }

  private succeed(req: Request, value: unknown): void {
    this.tracker.remove(req);
    req.done = true;
    req.resolve(value);
  }

  private fail(req: Request, error: Error): void {
    if (req.done) return;
    this.tracker.remove(req);
    req.link?.forget(req.id);
    req.done = true;
    req.reject(error);
  }

  /** The deadline passed (the tracker already unlinked it). */
  private expire(req: Request): void {
    req.link?.forget(req.id);
    req.done = true;
    const ms = this.opts.requestTimeoutMs;
    if (isWrite(req.cmd) && req.unsureSends > 0) {
      req.reject(new IndeterminateError('INDETERMINATE', `write sent but not confirmed within ${ms} ms: it may or may not be applied`));
    } else {
      req.reject(new TimeoutError('TIMEOUT', `no answer within ${ms} ms`));
    }
  }

  // ---------------------------------------------------------------- replies

  onReply(link: NodeLink, req: Request, frame: Frame): void {
    switch (frame.command) {
      case Reply.tryelsewhere:
        this.onRedirect(link, req, frame.payload);
        return;
      case Reply.failinfo:
        this.onFailInfo(link, req, frame.payload);
        return;
      case Reply.unknown:
        this.fail(req, new ClusterError('SERVER_ERROR', `node does not know command ${req.cmd}`, undefined, link.addr));
        return;
    }
    let result: unknown;
    try {
      result = decodeResult(req, frame.command, payloadReader(frame), req.cmd === Cmd.ping ? this.now() : 0, link.addr);
    } catch (e) {
      this.fail(req, e as Error);
      return;
    }
    this.succeed(req, result);
  }

  /** tryelsewhere: the named node owns the bucket now. Bounded by maxRedirects. */
  private onRedirect(link: NodeLink, req: Request, payload: Buffer): void {
    let addr: string;
    try {
      addr = normalizeAddress(address.decode(new Reader(payload)));
    } catch (e) {
      this.fail(req, new ClusterError('SERVER_ERROR', `bad tryelsewhere: ${(e as Error).message}`, undefined, link.addr));
      return;
    }
    req.unsureSends--; // the node did not apply it
    if (++req.redirects > this.opts.maxRedirects) {
      this.fail(req, new ClusterError('TOO_MANY_REDIRECTS', `redirected more than ${this.opts.maxRedirects} times`, undefined, link.addr));
      return;
    }
    if (req.route === Route.bucket) this.topology.redirected(req.hash, addr);
    else this.learn(addr);
    // A second redirect in a row means the nodes disagree for a moment (a hand-over in flight):
    // wait a little and refresh the table rather than bounce at once.
    if (req.redirects >= 2) this.park(req);
    else this.dispatch(req);
  }

  private onFailInfo(link: NodeLink, req: Request, payload: Buffer): void {
    let code: number;
    let message: string;
    try {
      ({ code, message } = failinfo.decode(new Reader(payload)));
    } catch (e) {
      this.fail(req, new ClusterError('SERVER_ERROR', `bad failinfo: ${(e as Error).message}`, undefined, link.addr));
      return;
    }
    const error = failInfoError(code, message, link.addr);
    if (error !== null) {
      this.fail(req, error);
      return;
    }
    req.unsureSends--; // not applied: retry after a short delay, until the deadline
    this.park(req);
  }

  // ---------------------------------------------------------------- links

  onRefused(req: Request, error: ClusterError): void {
    this.fail(req, error);
  }

  onLinkReady(link: NodeLink): void {
    if (this.probe?.link === link) {
      this.events.emit('nodeAdded', link.addr); // before the pushes that follow the hello ack
      this.probe.done(null);
    }
    this.scheduleParkedFlush();
  }

  onLinkDown(link: NodeLink, inFlight: Request[], queued: Request[], why: string): void {
    if (this.probe?.link === link) this.probe.done(why);
    this.opts.logger.debug({ node: link.addr, why, inFlight: inFlight.length, queued: queued.length }, 'link down');
    const closed = this.state === 'closing' || this.state === 'closed';
    // A refused login refuses every request that waited for it (the credentials are wrong here).
    if (closed || link.loginError !== null) {
      for (const r of [...inFlight, ...queued]) this.fail(r, closed ? new ClusterError('CLOSED', 'the client is closed') : link.loginError!);
      return;
    }
    // The plain commands are idempotent: resend to the current owner, until the deadline; a request
    // that keeps losing the connection it was written on is the likely cause (a node that refuses
    // it) and fails. An atomic write that may have landed is not sent again (isRetrySafe). A request
    // that only waited for the handshake lost nothing: it is routed again. BACKGROUND: a get in
    // flight at a node's kill -9 failed NOT_CONNECTED within a second, each refused reconnect to the
    // dead address counted as a loss (test/fault/restart.test.ts).
    for (const r of queued) this.dispatch(r);
    for (const r of inFlight) {
      const lost = r.unsureSends > 0 ? ++r.linkLosses : 0;
      if (r.unsureSends > 0 && (!isRetrySafe(r.cmd) || lost > MAX_LINK_LOSSES)) {
        this.fail(r, isWrite(r.cmd)
          ? new IndeterminateError('INDETERMINATE', `the connection dropped ${r.linkLosses} times with this write in flight: it may or may not be applied`, undefined, link.addr)
          : new ClusterError('NOT_CONNECTED', `the connection dropped ${r.linkLosses} times with this request in flight`, undefined, link.addr));
      } else {
        this.dispatch(r);
      }
    }
    if (this.state === 'connected') {
      this.topology.refresh();
      this.rescue();
    }
  }

  /** Every link down: make sure the seeds are being retried too (known nodes retry themselves). */
  private rescue(): void {
    for (const link of this.links.values()) if (link.accepting) return;
    for (const seed of this.opts.seeds) this.learn(seed);
  }

  /** The link to a node address, created (and connecting) when the address is new. */
  learn(addr: string): NodeLink | undefined {
    if (addr === '' || this.topology.isGone(addr) || this.state === 'closing' || this.state === 'closed') return undefined;
    let link = this.links.get(addr);
    if (link !== undefined) return link;
    link = new NodeLink(addr, this, this.opts);
    this.links.set(addr, link);
    this.events.emit('nodeAdded', addr);
    link.connect();
    return link;
  }

  private scheduleParkedFlush(): void {
    if (this.flushScheduled || this.parked.size === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.state === 'connected' || this.state === 'connecting') this.parked.flushNow();
    });
  }

  onPush(link: NodeLink, push: Push): void {
    this.topology.onPush(link, push);
  }

  tableChanged(): void {
    this.scheduleParkedFlush();
  }

  dropLink(addr: string): boolean {
    const link = this.links.get(addr);
    if (link === undefined) return false;
    this.links.delete(addr);
    link.retire(); // its requests come back through onLinkDown and go to the new owners
    return true;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Tries the seeds in order; resolves once one answered client_hello and its table is loaded. */
  async connect(): Promise<void> {
    this.state = 'connecting';
    const failures: string[] = [];
    let loginError: ClusterError | null = null;
    for (const seed of this.opts.seeds) {
      const { why, link } = await this.tryProbe(seed);
      if ((this.state as RouterState) !== 'connecting') break;
      if (why === null) {
        this.state = 'connected';
        await this.topology.fetch();
        return;
      }
      // A refused login: the same credentials would be refused by the other seeds too.
      loginError = link.loginError;
      if (loginError !== null) break;
      failures.push(`${seed}: ${why}`);
    }
    if ((this.state as RouterState) !== 'connecting') throw new ClusterError('CLOSED', 'the client was closed while connecting');
    this.state = 'idle';
    const error = loginError ?? new ClusterError('NOT_CONNECTED', `no seed answered (${failures.join('; ')})`);
    for (const r of this.parked.stop()) this.fail(r, error);
    throw error;
  }

  private tryProbe(seed: string): Promise<{ why: string | null; link: NodeLink }> {
    const link = new NodeLink(seed, this, this.opts);
    this.links.set(seed, link);
    return new Promise<string | null>((resolve) => {
      this.probe = { link, done: resolve };
      link.connect();
    }).then((why) => {
      this.probe = null;
      if (why !== null) {
        this.links.delete(seed);
        link.destroy();
      }
      return { why, link };
    });
  }

  /** Goodbye to every node (bounded), then sockets destroyed, pending requests CLOSED, timers cleared. */
  async close(): Promise<void> {
    this.state = 'closing';
    this.topology.stop();
    const closed = new ClusterError('CLOSED', 'the client is closed');
    for (const r of this.parked.stop()) this.fail(r, closed);
    const links = [...this.links.values()];
    await Promise.all(links.map((l) => l.goodbye(this.opts.closeTimeoutMs)));
    for (const l of links) l.destroy();
    this.links.clear();
    for (const r of this.tracker.drain()) {
      r.link?.forget(r.id);
      r.done = true;
      r.reject(closed);
    }
    this.parked.stop();
    this.state = 'closed';
  }
}
