// The sending side of a bucket copy (to make a new primary or a new backup): one copy out at a
// time, streamed in batches while the bucket keeps serving, then handed over (hand-over.ts).
// BACKGROUND: the source walks the bucket live while every change is also pushed to the target on
// the same ordered link (replication.ts asks copyTargetLink), so whatever the target receives last
// is the newest value. BEHAVIOR: at the end the hand-over freezes writes to the bucket for one round
// trip, sends copy_finalise with the new owners and epoch, and commits once the target acked it.
import { Cmd, ErrorCode, Reply } from '../protocol/commands.js';
import * as nodeMsg from '../protocol/messages/node.js';
import { COPY_BATCH_BYTES_MAX, COPY_BATCH_ITEMS_MAX } from '../shared/limits.js';
import { replyFailCode, replyWhy, type PeerLink } from './peer-link.js';
import type { Owners } from './table.js';
import { HAND_OVER_CALL_TIMEOUT_MS, type HandOver, type MoveDone, type MoveHostBase } from './hand-over.js';

const { CopyRole } = nodeMsg;
const BATCHES_IN_FLIGHT_MAX = 4;

/** What the copy's source needs of the node. */
export type CopySenderHost = MoveHostBase;

interface Outgoing {
  b: number;
  target: string;
  link: PeerLink;
  role: number;
  epoch: number;
  iter: Generator<nodeMsg.Item> | null;
  inFlight: number;
  items: number;
  finalising: boolean;
  onDone: MoveDone;
}

export class CopySender {
  private outgoing: Outgoing | null = null;

  constructor(
    private readonly node: CopySenderHost,
    private readonly handOver: HandOver,
  ) {}

  get busy(): boolean {
    return this.outgoing !== null;
  }

  /** The bucket being copied out, or -1. */
  get bucket(): number {
    return this.outgoing?.b ?? -1;
  }

  copyTargetLink(b: number): PeerLink | null {
    const out = this.outgoing;
    return out !== null && out.b === b ? out.link : null;
  }

  describe(): { bucket: number; to: string; role: string; items: number } | null {
    const out = this.outgoing;
    if (out === null) return null;
    return { bucket: out.b, to: out.target, role: out.role === CopyRole.primary ? 'primary' : 'backup', items: out.items };
  }

  /** Copies bucket b to `target`, which becomes its primary or its backup. The caller checked no move is busy. */
  start(b: number, target: string, role: number, onDone: MoveDone): boolean {
    const link = this.node.members.linkOf(target);
    const e = this.node.table.get(b);
    if (link === null || e.primary !== this.node.me) return false;
    const data = this.node.store.hold(b);
    const out: Outgoing = { b, target, link, role, epoch: e.epoch, iter: data.entries(), inFlight: 0, items: 0, finalising: false, onDone };
    this.outgoing = out;
    const begin = { mask: this.node.table.mask, hash: b, epoch: e.epoch, role };
    this.node.log.debug({ bucket: b, to: target, role: role === CopyRole.primary ? 'primary' : 'backup' }, 'bucket copy started');
    link.call(Cmd.copyBegin, (w) => nodeMsg.copyBegin.encode(w, begin), (reply, err) => {
      if (this.outgoing !== out) return;
      if (reply?.command !== Reply.ack) return this.abort(out, `copy_begin refused: ${err ?? replyWhy(reply)}`, reply !== null && replyFailCode(reply) === ErrorCode.busy);
      this.pump(out);
    }, HAND_OVER_CALL_TIMEOUT_MS);
    return true;
  }

  private pump(out: Outgoing): void {
    const now = this.node.clock.wallMs();
    while (this.outgoing === out && out.inFlight < BATCHES_IN_FLIGHT_MAX && out.iter !== null) {
      const items: nodeMsg.Item[] = [];
      let bytes = 0;
      let next = out.iter.next();
      while (!next.done) {
        const it = next.value;
        if (it.expiresAtMs === 0 || it.expiresAtMs > now) {
          items.push(it);
          bytes += 32 + it.key.length + it.map.length + (it.value.t >= 3 ? (it.value.v as Buffer).length : 8);
        }
        if (items.length >= COPY_BATCH_ITEMS_MAX || bytes >= COPY_BATCH_BYTES_MAX) break;
        next = out.iter.next();
      }
      if (next.done) out.iter = null;
      if (items.length === 0) break;
      out.inFlight++;
      out.items += items.length;
      const msg = { mask: this.node.table.mask, hash: out.b, items };
      out.link.call(Cmd.copyItems, (w) => nodeMsg.copyItems.encode(w, msg), (reply, err) => {
        if (this.outgoing !== out) return;
        out.inFlight--;
        if (reply?.command !== Reply.ack) return this.abort(out, `copy_items failed: ${err ?? replyWhy(reply)}`);
        this.pump(out);
      }, HAND_OVER_CALL_TIMEOUT_MS);
    }
    if (this.outgoing === out && out.iter === null && out.inFlight === 0 && !out.finalising) this.finaliseCopy(out);
  }

  private finaliseCopy(out: Outgoing): void {
    const e = this.node.table.get(out.b);
    if (e.primary !== this.node.me || e.epoch !== out.epoch) return this.abort(out, 'the bucket changed owner during the copy');
    const owners: Owners =
      out.role === CopyRole.primary
        ? { epoch: e.epoch + 1, primary: out.target, backup: e.backup === out.target ? '' : e.backup }
        : { epoch: e.epoch + 1, primary: this.node.me, backup: out.target };
    out.finalising = true;
    this.handOver.finalise(out.b, out.link, owners, (ok) => {
      if (this.outgoing !== out) return;
      this.outgoing = null;
      if (!ok) this.sendAbort(out);
      else this.handOver.moved++;
      this.node.log.debug({ bucket: out.b, to: out.target, items: out.items, ok }, 'bucket copy finished');
      out.onDone(ok, out.items);
    });
  }

  /** `expected`: an ordinary refusal (the target is busy receiving another copy): debug, not warn. */
  private abort(out: Outgoing, why: string, expected = false): void {
    if (this.outgoing !== out) return;
    this.outgoing = null;
    if (expected) this.node.log.debug({ bucket: out.b, to: out.target, why }, 'bucket copy not started: the target is busy');
    else this.node.log.warn({ bucket: out.b, to: out.target, why }, 'bucket copy aborted');
    this.sendAbort(out);
    out.onDone(false);
  }

  private sendAbort(out: Outgoing): void {
    const ref = { mask: this.node.table.mask, hash: out.b };
    out.link.call(Cmd.copyAbort, (w) => nodeMsg.bucketRef.encode(w, ref), () => undefined, HAND_OVER_CALL_TIMEOUT_MS);
  }

  // ---- events ----

  /** A link closed (possibly one replaced by a newer link to the same member). */
  onLinkClosed(link: PeerLink): void {
    if (this.outgoing?.link === link) this.abort(this.outgoing, 'link to the target closed');
  }

  onLinkLost(addr: string): void {
    if (this.outgoing?.target === addr) this.abort(this.outgoing, 'link to the target lost');
  }

  /** The table changed for b: a copy of b that no longer makes sense stops. */
  onTableChanged(b: number): void {
    const out = this.outgoing;
    if (out !== null && out.b === b && !out.finalising) {
      const e = this.node.table.get(b);
      if (e.primary !== this.node.me || e.epoch !== out.epoch) this.abort(out, 'bucket changed owner');
    }
  }

  abortAll(why: string): void {
    if (this.outgoing !== null) this.abort(this.outgoing, why);
  }
}
