// The logging node's link to one data node: connect, prove the cluster secret, server_hello as a logger (role 1),
// subscribe_updates, then answer what the node sends (members, heartbeats, log batches, ...).
import type { ConnectionOptions } from 'node:tls';
import type { Connection, CloseReason } from '../net/connection.js';
import { dialNode } from '../net/node-handshake.js';
import { DecodeError, Reader, type Writer } from '../protocol/codec.js';
import { Cmd, ErrorCode, errorCodeName, Reply } from '../protocol/commands.js';
import type { Frame } from '../protocol/header.js';
import { failinfo, unknown as unknownReply, address as addressCodec } from '../protocol/messages/legacy.js';
import { heartbeat, logBatch, logSnapshot, memberGone, members, serverHello, snapshotRequest, subscribeUpdates, SubscribeFlag, type BucketRef, type LogSnapshotMsg, type MemberGoneMsg, type MemberInfo, type ServerHelloMsg, type SyncUpdateMsg } from '../protocol/messages/node.js';

export const CONNECT_TIMEOUT_MS = 3000;
export const CALL_TIMEOUT_MS = 5000;
/** A log_batch carries up to thousands of updates, each up to a node's frame limit: accept large frames. */
const LOG_FRAME_BYTES_MAX = 256 * 1024 * 1024;
/** Commands of ours waiting for a reply on one link, at most (only the handshake uses them). */
const PENDING_CALLS_MAX = 16;

export interface LinkEvents {
  onMembers(list: MemberInfo[], link: MemberLink): void;
  onBatch(updates: SyncUpdateMsg[], link: MemberLink): void;
  onSnapshot(part: LogSnapshotMsg, link: MemberLink): void;
  onMemberGone(msg: MemberGoneMsg, link: MemberLink): void;
  onLeaving(addr: string, link: MemberLink): void;
  onClose(link: MemberLink, reason: CloseReason): void;
}

/** A command was refused, or got no reply: the reply code is kept for the caller to decide. */
export class LinkCallError extends Error {
  override name = 'LinkCallError';
  constructor(
    message: string,
    readonly failCode: number | undefined,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** Commands a node may send a logger that need nothing but an ack. */
const ACK_ONLY: ReadonlySet<number> = new Set([Cmd.goodbye, Cmd.tableSync, Cmd.widenMask, Cmd.serverInfo, Cmd.serverGone, Cmd.serverLeaving, Cmd.hashmask, Cmd.bucketOwner]);

export class MemberLink {
  private conn: Connection | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  batches = 0;
  updates = 0;

  constructor(
    readonly addr: string,
    private readonly hello: ServerHelloMsg,
    private readonly secret: Buffer,
    private readonly tls: ConnectionOptions | undefined,
    private readonly events: LinkEvents,
    /** The address the node must prove it is (see NodeDialParams.expectAddr); unset for a seed. */
    private readonly expectAddr?: string,
  ) {}

  get open(): boolean {
    return this.conn !== undefined && !this.conn.closed;
  }

  /** Connects, says hello as a logging node and subscribes; rejects when any step fails. */
  async start(): Promise<void> {
    const { conn } = await dialNode(this.addr, {
      secret: this.secret,
      me: this.hello,
      maxFrameBytes: LOG_FRAME_BYTES_MAX,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      handshakeTimeoutMs: CALL_TIMEOUT_MS,
      pauseReadOnOutput: true,
      tls: this.tls,
      expectAddr: this.expectAddr,
    });
    this.conn = conn;
    this.conn.start({ onFrame: (f) => this.onFrame(f), onClose: (r) => this.onClose(r) });
    await this.call(Cmd.serverHello, (w) => serverHello.encode(w, this.hello));
    await this.call(Cmd.subscribeUpdates, (w) => subscribeUpdates.encode(w, SubscribeFlag.snapshots));
  }

  /**
   * Asks the node for a snapshot of a bucket (snapshot_request); the answer is not awaited: the
   * primary acks and queues it, the others refuse, and the snapshot itself comes as log_snapshot.
   */
  requestSnapshot(ref: BucketRef): void {
    const conn = this.conn;
    if (conn === undefined || conn.closed) return;
    const w = conn.begin(Cmd.snapshotRequest, 0, this.nextId++);
    snapshotRequest.encode(w, ref);
    conn.end();
  }

  close(why: string): void {
    this.conn?.close(why);
  }

  private call(command: number, encode: ((w: Writer) => void) | null): Promise<void> {
    const conn = this.conn;
    if (conn === undefined || conn.closed) return Promise.reject(new LinkCallError('link closed', undefined));
    if (this.pending.size >= PENDING_CALLS_MAX) return Promise.reject(new LinkCallError('too many calls in flight', undefined));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LinkCallError(`no reply to command ${command} within ${CALL_TIMEOUT_MS} ms`, undefined));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      const w = conn.begin(command, 0, id);
      encode?.(w);
      conn.end();
    });
  }

  private onFrame(frame: Frame): void {
    if (frame.replyTo !== 0) return this.onReply(frame);
    try {
      this.onCommand(frame);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.replyFail(frame, ErrorCode.badRequest, e.message);
    }
  }

  private onReply(frame: Frame): void {
    const p = this.pending.get(frame.requestId);
    if (p === undefined) return;
    this.pending.delete(frame.requestId);
    clearTimeout(p.timer);
    if (frame.command === Reply.ack) return p.resolve();
    p.reject(describeRefusal(frame));
  }

  private onCommand(frame: Frame): void {
    const r = new Reader(frame.payload);
    switch (frame.command) {
      case Cmd.logBatch: {
        const list = logBatch.decode(r);
        this.batches++;
        this.updates += list.length;
        this.events.onBatch(list, this);
        return this.ack(frame);
      }
      case Cmd.logSnapshot: {
        this.events.onSnapshot(logSnapshot.decode(r), this);
        return this.ack(frame);
      }
      case Cmd.heartbeat: {
        const hb = heartbeat.decode(r);
        const w = this.conn!.begin(Reply.heartbeat, frame.command, frame.requestId);
        heartbeat.encode(w, { originMs: hb.originMs, primaries: 0, backups: 0, transferring: 0, suspects: [], viewSize: 0, fenceMs: 0 }); // a logger judges no one and grants no lease
        return this.conn!.end();
      }
      case Cmd.members:
        this.events.onMembers(members.decode(r), this);
        return this.ack(frame);
      case Cmd.memberGone:
        this.events.onMemberGone(memberGone.decode(r), this);
        return this.ack(frame);
      case Cmd.shuttingDown:
        this.events.onLeaving(addressCodec.decode(r), this);
        return this.ack(frame);
      default:
        if (ACK_ONLY.has(frame.command)) return this.ack(frame);
        return this.replyUnknown(frame);
    }
  }

  private ack(frame: Frame): void {
    this.conn?.sendEmpty(Reply.ack, frame.command, frame.requestId);
  }

  private replyFail(frame: Frame, code: number, message: string): void {
    if (this.conn === undefined) return;
    const w = this.conn.begin(Reply.failinfo, frame.command, frame.requestId);
    failinfo.encode(w, { code, message });
    this.conn.end();
  }

  private replyUnknown(frame: Frame): void {
    if (this.conn === undefined) return;
    const w = this.conn.begin(Reply.unknown, frame.command, frame.requestId);
    unknownReply.encode(w, frame.command);
    this.conn.end();
  }

  private onClose(reason: CloseReason): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new LinkCallError('link closed', undefined));
    }
    this.pending.clear();
    this.events.onClose(this, reason);
  }
}

function describeRefusal(frame: Frame): LinkCallError {
  if (frame.command === Reply.failinfo) {
    try {
      const info = failinfo.decode(new Reader(frame.payload));
      return new LinkCallError(`refused: ${errorCodeName(info.code)}: ${info.message}`, info.code);
    } catch {
      return new LinkCallError('refused with a malformed failinfo', undefined);
    }
  }
  return new LinkCallError(`refused with reply ${frame.command}`, undefined);
}
