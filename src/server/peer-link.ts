// A link to another member (node or logger): commands both ways on one connection, replies matched
// by request id, every call bounded by a deadline; a closed link fails its pending calls once.
// Also the small readers of replies (replyWhy, replyFailCode) and refusals (refuseOtherMask).
import { Connection, type CloseReason } from '../net/connection.js';
import { Reader, type Writer } from '../protocol/codec.js';
import type { Frame } from '../protocol/header.js';
import { ErrorCode, Reply } from '../protocol/commands.js';
import { failinfo } from '../protocol/messages/legacy.js';

export type ReplyHandler = (reply: Frame | null, error: string | null) => void;

interface PendingCall {
  command: number;
  deadlineMs: number;
  onReply: ReplyHandler;
}

export interface PeerLinkEvents {
  onCommand(link: PeerLink, frame: Frame): void;
  onClose(link: PeerLink, reason: CloseReason): void;
}

/** Calls in flight on one link at most; past it a call fails at once (the peer is not keeping up). */
const MAX_PENDING_CALLS = 200_000;

export class PeerLink {
  private nextId = 1;
  private readonly pending = new Map<number, PendingCall>();
  /** The peer's listen address, once it said hello (or we dialled it). */
  addr = '';
  incarnation = 0n;
  role = 0;
  /** Monotonic ms when anything was last received. */
  lastHeardMs: number;
  closedFlag = false;
  /** True once the handshake is through and the link serves its member. */
  established = false;

  constructor(
    readonly conn: Connection,
    private readonly events: PeerLinkEvents,
    readonly outbound: boolean,
  ) {
    this.lastHeardMs = this.conn.clock.nowMs();
    conn.start({
      onFrame: (frame) => this.onFrame(frame),
      onClose: (reason) => this.onClose(reason),
    });
  }

  get pendingCalls(): number {
    return this.pending.size;
  }

  /** Sends a command; onReply runs exactly once: with the reply, or with null and an error. */
  call(command: number, encode: ((w: Writer) => void) | null, onReply: ReplyHandler, timeoutMs: number): void {
    if (this.closedFlag) {
      onReply(null, 'link closed');
      return;
    }
    if (this.pending.size >= MAX_PENDING_CALLS) {
      onReply(null, 'too many calls in flight');
      return;
    }
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    const w = this.conn.begin(command, 0, id);
    if (encode !== null) encode(w);
    this.conn.end();
    this.pending.set(id, { command, deadlineMs: this.conn.clock.nowMs() + timeoutMs, onReply });
  }

  /** Sends a command and resolves with its reply frame's number and a copy of its payload. */
  request(command: number, encode: ((w: Writer) => void) | null, timeoutMs: number): Promise<{ reply: number; payload: Buffer }> {
    return new Promise((resolve, reject) => {
      this.call(
        command,
        encode,
        (f, err) => {
          if (f === null) reject(new Error(err ?? 'no reply'));
          else resolve({ reply: f.command, payload: Buffer.from(f.payload) });
        },
        timeoutMs,
      );
    });
  }

  ack(frame: Frame): void {
    this.conn.sendEmpty(Reply.ack, frame.command, frame.requestId);
  }

  fail(frame: Frame, code: number, message: string): void {
    const w = this.conn.begin(Reply.failinfo, frame.command, frame.requestId);
    failinfo.encode(w, { code, message });
    this.conn.end();
  }

  replyWith(frame: Frame, reply: number, encode: (w: Writer) => void): void {
    const w = this.conn.begin(reply, frame.command, frame.requestId);
    encode(w);
    this.conn.end();
  }

  /** Fails calls whose deadline passed; called by the node's periodic tick. */
  sweep(nowMs: number): void {
    for (const [id, call] of this.pending) {
      if (call.deadlineMs <= nowMs) {
        this.pending.delete(id);
        call.onReply(null, `no reply to command ${call.command} in time`);
      }
    }
  }

  close(why: string): void {
    this.conn.close(why);
  }

  abort(why: string): void {
    this.conn.abort(new Error(why));
  }

  private onFrame(frame: Frame): void {
    this.lastHeardMs = this.conn.clock.nowMs();
    if (frame.replyTo !== 0) {
      const call = this.pending.get(frame.requestId);
      if (call === undefined) return; // a reply that answers nothing: dropped
      this.pending.delete(frame.requestId);
      call.onReply(frame, null);
      return;
    }
    this.events.onCommand(this, frame);
  }

  private onClose(reason: CloseReason): void {
    this.closedFlag = true;
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const c of calls) c.onReply(null, 'link closed');
    this.events.onClose(this, reason);
  }
}

/** What a reply to a call said, for logs: 'no reply', the failinfo's code and message, or the reply number. */
export function replyWhy(reply: Frame | null): string {
  if (reply === null) return 'no reply';
  if (reply.command !== Reply.failinfo) return `reply ${reply.command}`;
  try {
    const info = failinfo.decode(new Reader(reply.payload));
    return `failinfo ${info.code}: ${info.message}`;
  } catch {
    return 'a malformed failinfo';
  }
}

/** The failinfo code of a reply (0: not a failinfo, or a malformed one). */
export function replyFailCode(reply: Frame): number {
  if (reply.command !== Reply.failinfo) return 0;
  try {
    return failinfo.decode(new Reader(reply.payload)).code;
  } catch {
    return 0;
  }
}

/** A bucket command for another mask than ours is refused staleEpoch; true if it was. */
export function refuseOtherMask(link: PeerLink, frame: Frame, mask: number, ourMask: number): boolean {
  if (mask === ourMask) return false;
  link.fail(frame, ErrorCode.staleEpoch, `mask 0x${mask.toString(16)} differs from 0x${ourMask.toString(16)}`);
  return true;
}
