// Who this node suspects, what the others report, and whether a suspect may be declared dead (the
// rule itself is failure-detector.ts); also whether this node hears a majority (quorum.ts).
import { MemberState, type MemberGoneMsg } from '../../protocol/messages/node.js';
import type { MembershipHost } from './host.js';
import { isSuspect, refusedSinceHeard, suspicionConfirmed } from './failure-detector.js';
import { memberKey, type Member } from './member.js';
import { sideHasQuorum } from './quorum.js';

/** What suspicion needs of the node itself. */
export type SuspicionNode = Pick<MembershipHost, 'me' | 'incarnation' | 'log' | 'opts' | 'rejoining' | 'everServed' | 'leaving'>;

/** What suspicion needs of the membership around it. */
export interface SuspicionHost {
  dataMembers(): Member[];
  declareDead(m: Member, why: string): void;
}

const DECLARED_LATELY_MAX = 1024;

export class Suspicions {
  /** Silent members kept for want of a quorum or a confirmation (logged once each until heard again). */
  private readonly keptLogged = new Set<string>();
  /** When this node last reported each member (key) as a suspect in its heartbeats. */
  private readonly reportedSuspect = new Map<string, number>();
  /** Deaths this node declared within the dead-after time (key to when): still reported as suspects. */
  private readonly declaredLately = new Map<string, number>();

  constructor(
    private readonly node: SuspicionNode,
    private readonly host: SuspicionHost,
  ) {}

  /** Whether this node suspects data member m now (silent, or refused). */
  suspects(m: Member, now: number): boolean {
    return isSuspect(now, m.lastHeardMs, m.refusedAtMs, this.node.opts.deadAfterMs);
  }

  suspectedNow(now: number): Member[] {
    return this.host.dataMembers().filter((m) => this.suspects(m, now));
  }

  /**
   * Declares m dead if this node suspects it and a majority confirms (with --quorum off, on the
   * suspicion alone); otherwise keeps it (logged once per silence). Returns whether it was declared.
   * `suspects` are the members suspected at the start of this judgement (a death declared meanwhile
   * must not change whom the others are counted against).
   * A leaving node declares no one dead on silence (a refused dial still proves a process gone):
   * it is on its way out, and a death it declared alone would outlive it. BACKGROUND: B, the lower
   * address of two, was handing its buckets to C when the link was cut; B declared C dead by the
   * tie-break, decided the bucket whose hand-over had an unknown outcome again, wrote it and saved
   * it as the last node; C, which had taken the hand-over, wrote it too, and later found B's port
   * refused and took the rest (the simulator's seeds 24764 and 5165). Its suspicions still count
   * in its heartbeats, so the others confirm a real death as before; a leaving node that cannot
   * hand over waits, and saves at its shutdown timeout.
   */
  judge(m: Member, now: number, why: string, suspects = this.suspectedNow(now)): boolean {
    if (!this.suspects(m, now)) return false;
    if (this.node.leaving && !refusedSinceHeard(m.refusedAtMs, m.lastHeardMs)) {
      this.noteKept(m, now);
      return false;
    }
    const key = memberKey(m.addr, m.incarnation);
    const mine = memberKey(this.node.me, this.node.incarnation);
    const half = this.node.opts.deadAfterMs / 2;
    const members = this.host.dataMembers();
    const unseen = Math.max(0, ...members.map((x) => x.reportedViewSize)) - (members.length + 1);
    const confirmed =
      this.node.opts.quorum === 'off' ||
      suspicionConfirmed(
        this.node.me,
        m.addr,
        members
          .filter((x) => x !== m)
          .map((x) => ({
            addr: x.addr,
            heard: !suspects.includes(x) && unansweredMs(x, now) <= half,
            suspectsTarget: now - x.reportedAtMs <= half && x.reportedSuspects.has(key),
            suspectsMe: now - x.reportedAtMs <= half && x.reportedSuspects.has(mine),
          })),
        refusedSinceHeard(m.refusedAtMs, m.lastHeardMs),
        Math.max(0, unseen),
      );
    if (confirmed) {
      this.host.declareDead(m, why);
      return true;
    }
    this.noteKept(m, now);
    return false;
  }

  /** m was heard again: a later silence is logged anew. */
  heard(m: Member): void {
    this.keptLogged.delete(m.addr);
  }

  declared(m: Member, now: number): void {
    if (this.declaredLately.size < DECLARED_LATELY_MAX) this.declaredLately.set(memberKey(m.addr, m.incarnation), now);
  }

  /** The members this node suspects now, and those it declared dead lately: what its heartbeats report. */
  suspectList(now: number): MemberGoneMsg[] {
    for (const [key, at] of this.declaredLately) if (now - at > this.node.opts.deadAfterMs) this.declaredLately.delete(key);
    const out = this.suspectedNow(now).map((m) => ({ addr: m.addr, incarnation: m.incarnation }));
    for (const [key, at] of this.reportedSuspect) if (now - at > this.node.opts.deadAfterMs) this.reportedSuspect.delete(key);
    for (const m of out) if (this.reportedSuspect.size < DECLARED_LATELY_MAX) this.reportedSuspect.set(memberKey(m.addr, m.incarnation), now);
    for (const key of this.declaredLately.keys()) {
      const at = key.lastIndexOf('#');
      out.push({ addr: key.slice(0, at), incarnation: BigInt(key.slice(at + 1)) });
    }
    return out;
  }

  /**
   * Whether this node takes another's report that member m died. BEHAVIOR: taken by a side with a
   * quorum, and not about a member this node still hears (a cut of the link between two nodes must
   * not make a third evict both), unless this node reported m a suspect within the dead-after
   * time: then it may have been one of the witnesses that confirmed the death, and must take it
   * though it hears m again now (a member back from a long pause, say), or the two views part (the
   * simulator's seed 479).
   */
  takesReport(m: Member, now: number): boolean {
    const at = this.reportedSuspect.get(memberKey(m.addr, m.incarnation));
    if (at !== undefined && now - at <= this.node.opts.deadAfterMs) return true;
    return unansweredMs(m, now) >= this.node.opts.deadAfterMs / 2 && this.hasQuorum(now);
  }

  /** A member's report of whom it suspects, and of how many data nodes it knows. */
  noteReport(m: Member, list: readonly MemberGoneMsg[], viewSize: number, now: number): void {
    m.reportedSuspects = new Set(list.map((x) => memberKey(x.addr, x.incarnation)));
    m.reportedAtMs = now;
    m.reportedViewSize = viewSize;
  }

  /** Data nodes in this node's view, itself included: what its heartbeats report. */
  viewSize(): number {
    return this.host.dataMembers().length + 1;
  }

  /**
   * BACKGROUND: silence alone cannot tell a dead member from a network cut. BEHAVIOR: with --quorum
   * majority and three or more data nodes, this node has a quorum while it hears (within half the
   * dead-after time) more than half of the data nodes it knows, itself included, or exactly half
   * when that half holds the lowest address. Without one it declares no one dead, its lease stays
   * invalid, and a probe finds it on the side that rejoins.
   */
  hasQuorum(now: number, heardWithinMs = this.node.opts.deadAfterMs / 2): boolean {
    if (this.node.opts.quorum === 'off') return true;
    return sideHasQuorum(this.node.me, this.host.dataMembers().map((m) => ({ addr: m.addr, silentMs: unansweredMs(m, now) })), heardWithinMs);
  }

  /**
   * Why this node may not admit a new data member now, or null if it may. BACKGROUND: a view changed
   * by one side alone can give two sides a quorum each: nodes B and C (B lower) lose A; C, cut off
   * from B, admits a restarted A as a new member, and {A, C} declare B dead while B, in the view
   * {B, C}, declares C dead as the lower address of two (the simulator's seeds 2112 and 6201).
   * BEHAVIOR: with two data nodes, only the lower address admits (it alone may act on the other's
   * silence, quorum.ts): the higher one sends the joiner to it (joinThrough), unless the lower one
   * is leaving (it takes nothing over, and refuses joiners: seed 1733). Otherwise a join is
   * admitted only by a node whose side has a quorum of its current view (a member added lately
   * counts as heard: it was); if not, the joiner is told to retry, and joins through another.
   * A node that is joining, or rejoining, admits no one: the cluster it joins goes on, and a joiner
   * it took would found a second cluster with it that never learns of the first (the simulator's
   * seed 5832: a node restarted with seeds took in a node that was rejoining after a cut).
   */
  admissionRefusal(now: number, members: readonly Member[]): { code: 'joinThrough' | 'retryLater'; message: string } | null {
    if (this.node.rejoining || !this.node.everServed) return { code: 'retryLater', message: 'this node has not joined the cluster yet; join through another' };
    if (this.node.opts.quorum === 'off') return null;
    const other = members.length === 1 ? members[0]! : undefined;
    const lower = other !== undefined && other.addr < this.node.me && other.state === MemberState.alive ? other : undefined;
    if (lower !== undefined) return { code: 'joinThrough', message: lower.addr };
    const bound = this.node.opts.deadAfterMs / 2;
    if (sideHasQuorum(this.node.me, members.map((m) => ({ addr: m.addr, silentMs: now - Math.max(m.addedMs, m.answeredOriginMs) })), bound)) return null;
    return { code: 'retryLater', message: 'this node has no quorum to admit a new member now; join through another' };
  }

  /** This side's size: this node and the data members it hears (not merely knows). */
  sideSize(now: number): number {
    return 1 + this.host.dataMembers().filter((m) => unansweredMs(m, now) <= this.node.opts.deadAfterMs / 2).length;
  }

  reset(): void {
    this.keptLogged.clear();
    this.declaredLately.clear();
    this.reportedSuspect.clear();
  }

  /** Logged once per silence of a member (not every tick): it is kept, this side waits. */
  private noteKept(m: Member, now: number): void {
    if (this.keptLogged.has(m.addr)) return;
    this.keptLogged.add(m.addr);
    const fields = { peer: m.addr, silentMs: Math.round(now - m.lastHeardMs), members: this.host.dataMembers().length + 1 };
    if (this.node.leaving) {
      this.node.log.warn(fields, 'member silent: this node is leaving, so it declares no one dead on silence; its buckets wait for the member or for the shutdown timeout');
    } else if (!this.hasQuorum(now)) {
      this.node.log.warn(fields, 'no quorum: this node hears at most half of the cluster, so it declares no one dead and serves nothing until the others are heard again');
    } else {
      this.node.log.warn(fields, 'suspect not confirmed: a majority still hears this member (a cut of one link?), so it is kept; this node serves nothing until it hears it again');
    }
  }
}

/**
 * How long ago this node sent the latest heartbeat the member answered: what "hearing" a member
 * means. BACKGROUND: any frame would not do: after a cut heals, frames a peer sent before it
 * declared this node dead can still arrive (its kernel kept sending them), and would look like
 * news from a live peer. A reply names the send time of its heartbeat.
 */
export function unansweredMs(m: Member, now: number): number {
  return now - m.answeredOriginMs;
}
