// One client connection on the node: what kind of hello it said, who it logged in as, the pushes it
// may receive (paced for hello clients, push-pacer.ts), and its replies: kept in request order even
// when some wait (full wait on the backup, a login being checked), or, for a client that announced
// the unordered replies feature, each written once it is ready.
import type { Connection } from '../net/connection.js';
import type { Frame } from '../protocol/header.js';
import { Cmd, Feature, Reply } from '../protocol/commands.js';
import { failinfo, address as addressCodec, hashmask } from '../protocol/messages/legacy.js';
import { bucketOwner, type BucketEntry } from '../protocol/messages/node.js';
import { MAX_PENDING_REPLIES_PER_CONNECTION } from '../shared/limits.js';
import { assert } from '../shared/assert.js';
import type { Writer } from '../protocol/codec.js';
import type { NodeAuthTranscript } from '../protocol/node-auth.js';
import type { NodeIdentity } from '../net/node-handshake.js';
import type { Role } from './users.js';
import { PushPacer, type GiveUpWhy } from './push-pacer.js';
import { Outcome, outcomeOfError, outcomeOfReply, type OutcomeNumber, type RequestMeter } from './request-meter.js';

/** How pushes to a hello (original protocol) client are paced, and who hears that it fell behind. */
export interface PacingPolicy {
  ackTimeoutMs: number;
  onGiveUp(s: ClientSession, why: GiveUpWhy, waiting: number): void;
}

export type SessionKind = 'none' | 'legacy' | 'rich';

/** The slot a connection holds (see admission.ts): a client slot, a node-only one, or none any more. */
export type SlotKind = 'client' | 'nodeOnly' | null;

/** A reply that waits for something (the backup's ack); in order, later replies queue behind it. */
export interface Slot {
  ready: boolean;
  /** In the in-order queue (false: written as soon as it is ready). */
  readonly queued: boolean;
  write: ((conn: Connection) => void) | null;
  /** The request it answers, metered when it completes (-1: none). */
  command: number;
  startMs: number;
}

export class ClientSession {
  kind: SessionKind = 'none';
  features = 0;
  private nextPushId = 1;
  private readonly queue: Slot[] = [];
  /** Deferred replies not yet written that are not in the queue (unordered replies). */
  private unqueued = 0;
  private pausedForQueue = false;
  saidGoodbye = false;
  /** Node-only commands refused on this connection so far (it is closed past a few). */
  refusals = 0;
  /** The node handshake under way: what both sides said (node_auth answered, node_proof awaited). */
  nodeAuth: NodeAuthTranscript | null = null;
  /** The node this connection proved to be (node_proof held); null for a client. */
  peer: NodeIdentity | null = null;
  slot: SlotKind = null;
  /** The connection's clock at accept: the handshake must be done within --handshake-timeout-ms of it. */
  readonly acceptedMs: number;
  /** The user this connection logged in as (auth), or null. */
  login: { user: string; role: Role } | null = null;
  /** Failed logins on this connection so far (it is closed past a few). */
  loginFailures = 0;
  /**
   * May hear pushes (server_info, bucket owners): true on a node without users, else once logged
   * in or admitted as a legacy client. Before that, the connection learns nothing of the cluster.
   */
  trusted: boolean;
  private readingHeldForLogin = false;
  /** Set once the connection said hello (10): its pushes go one at a time. */
  private pacer: PushPacer | null = null;
  /** The request being dispatched (front-door.ts brackets each one): metered once its reply is written. */
  private reqCommand = -1;
  private reqStartMs = 0;
  /** How its reply ended it (the first reply written counts); null: no reply yet, or deferred. */
  private reqOutcome: OutcomeNumber | null = null;

  constructor(
    readonly conn: Connection,
    readonly id: number,
    trusted: boolean,
    private readonly pacing: PacingPolicy,
    private readonly meter: RequestMeter | null = null,
  ) {
    this.trusted = trusted;
    this.acceptedMs = conn.clock.nowMs();
  }

  /** The connection said hello (10): from now on its pushes are paced (one unacknowledged at a time). */
  becomeLegacy(): void {
    this.kind = 'legacy';
    if (this.pacer !== null) return;
    this.pacer = new PushPacer(this.pacing.ackTimeoutMs, this.conn.clock, {
      write: (command, encode) => this.push(command, encode),
      giveUp: (why, waiting) => this.pacing.onGiveUp(this, why, waiting),
    });
  }

  /** A reply frame from the client (reply-to != 0): an ack of a paced push lets the next one go. */
  onReply(frame: Frame): void {
    this.pacer?.onReply(frame);
  }

  /** The connection closed: paced pushes stop. */
  dispose(): void {
    this.pacer?.stop();
  }

  /** Pushes waiting for the client's acks (hello clients only; 0 otherwise). */
  get pushesWaiting(): number {
    return this.pacer?.waiting ?? 0;
  }

  get richPushes(): boolean {
    return this.kind === 'rich' && (this.features & Feature.richPushes) !== 0;
  }

  /**
   * Whether each reply is written once ready rather than in request order. BACKGROUND: in order, one
   * full-wait write whose backup had just died held every later reply on the connection, gets of
   * other buckets too, for as long as its bucket waited for a new backup: all four loops of
   * test/fault/restart.test.ts timed out together. Only for a client that matches replies by
   * request id and said so; the original clients keep the order they may rely on.
   */
  private get unordered(): boolean {
    return this.kind === 'rich' && (this.features & Feature.unorderedReplies) !== 0;
  }

  // ---- metering: every request's outcome and time, dispatch to reply ----

  /** A request's dispatch starts. */
  beginRequest(command: number): void {
    this.reqCommand = command;
    this.reqStartMs = this.conn.clock.nowMs();
    this.reqOutcome = null;
  }

  /** Its dispatch returned: a reply written (or queued) meanwhile is metered now; a deferred one at complete(). */
  endRequest(): void {
    if (this.reqOutcome !== null && this.meter !== null) this.meter.record(this.reqCommand, this.reqOutcome, this.conn.clock.nowMs() - this.reqStartMs);
    this.reqCommand = -1;
    this.reqOutcome = null;
  }

  private noteReply(outcome: OutcomeNumber): void {
    if (this.reqCommand !== -1 && this.reqOutcome === null) this.reqOutcome = outcome;
  }

  // ---- replies, in order ----

  /** Runs `write` now when nothing waits ahead of it, else queues it behind the waiting replies. */
  reply(write: (conn: Connection) => void): void {
    this.noteReply(Outcome.ok);
    if (this.queue.length === 0) write(this.conn);
    else this.enqueue({ ready: true, queued: true, write, command: -1, startMs: 0 });
  }

  private enqueue(slot: Slot): void {
    this.queue.push(slot);
    this.boundWaiting();
  }

  /** Replies waiting to be written, in the queue or not: reading stops past the bound, and goes on below half of it. */
  private boundWaiting(): void {
    const waiting = this.queue.length + this.unqueued;
    if (waiting > MAX_PENDING_REPLIES_PER_CONNECTION && !this.pausedForQueue) {
      this.pausedForQueue = true;
      this.conn.pauseReading();
    } else if (this.pausedForQueue && waiting < MAX_PENDING_REPLIES_PER_CONNECTION / 2) {
      this.pausedForQueue = false;
      if (!this.readingHeldForLogin) this.conn.resumeReading();
    }
  }

  /**
   * Holds reading while a login is checked, so commands pipelined behind auth are judged after
   * it; independent of the pause for a long reply queue (reading goes on once neither holds).
   */
  holdReadingForLogin(hold: boolean): void {
    if (hold === this.readingHeldForLogin) return;
    this.readingHeldForLogin = hold;
    if (hold) this.conn.pauseReading();
    else if (!this.pausedForQueue) this.conn.resumeReading();
  }

  ack(frame: Frame): void {
    this.noteReply(Outcome.ok);
    if (this.queue.length === 0) this.conn.sendEmpty(Reply.ack, frame.command, frame.requestId);
    else this.reply((c) => c.sendEmpty(Reply.ack, frame.command, frame.requestId));
  }

  /** Writes a reply frame whose payload `encode` writes; in order. */
  send(frame: Frame, replyNumber: number, encode: (w: Writer) => void): void {
    this.noteReply(outcomeOfReply(replyNumber));
    const command = frame.command;
    const id = frame.requestId;
    if (this.queue.length === 0) {
      const w = this.conn.begin(replyNumber, command, id);
      encode(w);
      this.conn.end();
    } else {
      this.reply((c) => {
        const w = c.begin(replyNumber, command, id);
        encode(w);
        c.end();
      });
    }
  }

  /**
   * send() without a closure, for the hot replies: the reply's writer when nothing waits ahead of
   * it (write the payload, then conn.end()), else null (then use send()).
   */
  beginReply(frame: Frame, replyNumber: number): Writer | null {
    if (this.queue.length !== 0) return null;
    this.noteReply(outcomeOfReply(replyNumber));
    return this.conn.begin(replyNumber, frame.command, frame.requestId);
  }

  failinfo(frame: Frame, code: number, message: string): void {
    this.noteReply(outcomeOfError(code));
    this.send(frame, Reply.failinfo, (w) => failinfo.encode(w, { code, message }));
  }

  fail(frame: Frame): void {
    const command = frame.command;
    const id = frame.requestId;
    this.noteReply(Outcome.miss);
    this.reply((c) => c.sendEmpty(Reply.fail, command, id));
  }

  tryElsewhere(frame: Frame, addr: string): void {
    this.send(frame, Reply.tryelsewhere, (w) => addressCodec.encode(w, addr));
  }

  /** Opens a reply slot (in order, later replies queue behind it); the request is metered when it completes. */
  defer(): Slot {
    const queued = !this.unordered;
    const slot: Slot = { ready: false, queued, write: null, command: this.reqCommand, startMs: this.reqStartMs };
    this.reqCommand = -1;
    if (queued) {
      this.enqueue(slot);
    } else {
      this.unqueued++;
      this.boundWaiting();
    }
    return slot;
  }

  /** Fills a deferred slot (its reply ends the request as `outcome`) and writes every reply now at the head of the queue. */
  complete(slot: Slot, write: (conn: Connection) => void, outcome: OutcomeNumber = Outcome.ok): void {
    if (slot.command !== -1 && this.meter !== null) this.meter.record(slot.command, outcome, this.conn.clock.nowMs() - slot.startMs);
    assert(!slot.ready, 'a deferred reply completed twice');
    slot.command = -1;
    slot.ready = true;
    if (!slot.queued) {
      this.unqueued--;
      if (!this.conn.closed) write(this.conn);
    } else {
      slot.write = write;
      while (this.queue.length > 0 && this.queue[0]!.ready) {
        const head = this.queue.shift()!;
        if (!this.conn.closed) head.write!(this.conn);
      }
    }
    this.boundWaiting();
  }

  // ---- pushes ----

  /** Writes a push now; returns its request id. */
  private push(command: number, encode: ((w: Writer) => void) | null): number {
    const id = this.nextPushId;
    if (this.conn.closed || !this.trusted) return id;
    this.nextPushId = this.nextPushId >= 0xffffffff ? 1 : this.nextPushId + 1;
    const w = this.conn.begin(command, 0, id);
    if (encode !== null) encode(w);
    this.conn.end();
    return id;
  }

  pushServerInfo(addr: string): void {
    if (this.kind === 'none' || this.conn.closed || !this.trusted) return;
    const encode = (w: Writer): void => addressCodec.encode(w, addr);
    if (this.pacer !== null) this.pacer.serverInfo(Cmd.serverInfo, addr, encode);
    else this.push(Cmd.serverInfo, encode);
  }

  pushHashmask(mask: number, hash: number, level: number): void {
    if (this.kind !== 'legacy' || this.pacer === null || this.conn.closed || !this.trusted) return;
    this.pacer.hashmask(Cmd.hashmask, mask, hash, (w) => hashmask.encode(w, { mask, hash, level }));
  }

  pushBucketOwner(mask: number, e: BucketEntry): void {
    if (!this.richPushes) return;
    this.push(Cmd.bucketOwner, (w) => bucketOwner.encode(w, mask, e));
  }

  pushServerGone(addr: string): void {
    if (!this.richPushes) return;
    this.push(Cmd.serverGone, (w) => addressCodec.encode(w, addr));
  }

  pushServerLeaving(addr: string): void {
    if (!this.richPushes) return;
    this.push(Cmd.serverLeaving, (w) => addressCodec.encode(w, addr));
  }

  /** Goodbye before the node closes this connection; only to clients that announced they take it. */
  pushGoodbye(): boolean {
    if (this.kind !== 'rich' || (this.features & Feature.goodbyePush) === 0) return false;
    this.push(Cmd.goodbye, null);
    return true;
  }
}
