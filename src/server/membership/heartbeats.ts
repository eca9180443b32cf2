// Heartbeats between members and the write lease they feed: what a heartbeat and its reply carry
// (load levels, suspects), what is noted of a member from them, and whether this node may write.
import { Reader } from '../../protocol/codec.js';
import type { Frame } from '../../protocol/header.js';
import { Cmd, Reply } from '../../protocol/commands.js';
import * as nodeMsg from '../../protocol/messages/node.js';
import type { Clock } from '../../shared/clock.js';
import type { PeerLink } from '../peer-link.js';
import type { Member } from './member.js';
import type { Suspicions } from './suspicion.js';
import type { LeaseFence } from './lease-fence.js';

export interface HeartbeatHost {
  readonly clock: Clock;
  loadLevels(originMs: number): nodeMsg.HeartbeatLoad;
}

/** What a member's heartbeat or reply says of it: its load, whom it suspects, how many nodes it knows, its lease fence. */
function note(m: Member, hb: nodeMsg.HeartbeatMsg, suspicion: Suspicions, now: number): void {
  m.primaries = hb.primaries;
  m.backups = hb.backups;
  m.transferring = hb.transferring;
  m.fenceEndsMs = now + hb.fenceMs;
  suspicion.noteReport(m, hb.suspects, hb.viewSize, now);
}

/** What this node's heartbeats and replies say besides its load. */
function reportOf(suspicion: Suspicions, fence: LeaseFence, now: number): Pick<nodeMsg.HeartbeatMsg, 'suspects' | 'viewSize' | 'fenceMs'> {
  return { suspects: suspicion.suspectList(now), viewSize: suspicion.viewSize(), fenceMs: fence.remainingMs(now) };
}

/** Answers a member's heartbeat with this node's own load and suspects, the origin echoed; the answer extends the member's lease (lease-fence.ts). */
export function answerHeartbeat(host: HeartbeatHost, suspicion: Suspicions, fence: LeaseFence, m: Member | undefined, link: PeerLink, frame: Frame, hb: nodeMsg.HeartbeatMsg): void {
  const now = host.clock.nowMs();
  if (m !== undefined) {
    note(m, hb, suspicion, now);
    m.answeredToMs = now;
  }
  const mine = { ...host.loadLevels(hb.originMs), ...reportOf(suspicion, fence, now) };
  link.replyWith(frame, Reply.heartbeat, (w) => nodeMsg.heartbeat.encode(w, mine));
}

/** Sends a heartbeat; its reply says the member heard one sent at `now` (see leaseValid). */
export function sendHeartbeat(host: HeartbeatHost, suspicion: Suspicions, fence: LeaseFence, m: Member, link: PeerLink, now: number, timeoutMs: number): void {
  const hb = { ...host.loadLevels(now), ...reportOf(suspicion, fence, now) };
  link.call(
    Cmd.heartbeat,
    (w) => nodeMsg.heartbeat.encode(w, hb),
    (reply) => {
      if (reply === null || reply.command !== Reply.heartbeat) return;
      const back = nodeMsg.heartbeat.decode(new Reader(reply.payload));
      if (back.originMs > m.answeredOriginMs) m.answeredOriginMs = back.originMs;
      note(m, back, suspicion, host.clock.nowMs());
    },
    timeoutMs,
  );
}

/**
 * Writes are allowed while every data member answered a heartbeat sent less than half the
 * dead-after time ago (or this node is alone). A member that stops hearing from this node stops
 * answering it, so this node stops writing before that member can declare it dead. A lost link
 * alone does not end it: the member's lease from us ends as ours from it does, and it declares us
 * dead no sooner than that (a refused dial waits for half the dead-after time of silence), so the
 * other nodes' buckets keep serving while a crashed node is judged. A member added lately counts
 * as answered (its link was just made). `strict`: only answers count, as for changing the table:
 * a node cut off that learns new members (new incarnations, by gossip) must not pass for one that
 * hears everyone (the simulator's seed 5165).
 */
export function leaseValid(members: Iterable<Member>, now: number, deadAfterMs: number, strict = false): boolean {
  const bound = deadAfterMs / 2;
  for (const m of members) {
    if (m.role !== nodeMsg.NodeRole.data) continue;
    if (now - (strict ? m.answeredOriginMs : Math.max(m.addedMs, m.answeredOriginMs)) >= bound) return false;
  }
  return true;
}
