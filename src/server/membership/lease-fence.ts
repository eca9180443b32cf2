// How long a write lease that this node's heartbeat answers granted may still run at a member it
// has declared dead, and when every such lease in the cluster has run out: what a take-over waits
// for before its first write (take-over-confirm.ts).
// BACKGROUND: a member's write lease runs half the dead-after time from the send time of the
// latest heartbeat each member answered (heartbeats.ts). A death is normally declared after a
// silence longer than that, so the lease is over by then. But a witness that confirmed a suspicion
// (it could not hear the suspect) takes the death report even when it hears the suspect again
// (suspicion.ts, takesReport), and it answered the suspect's heartbeats up to that moment: the
// suspect's lease from those answers still ran while the new primary wrote (the simulator's seed
// 25474: B, restarted, declared C dead for silence with A's confirmation; A had heard C again for
// 115 ms, took C's buckets over and wrote them while C, its lease held by A's answers, still did).
// BEHAVIOR: a node declaring a member dead notes when the lease its own latest answer granted
// ends (the answer's time plus half the dead-after time: the heartbeat it answered was sent no
// later), and reports in each heartbeat and reply how long that is from now. A node that took
// buckets over writes them only once its own fence and every member's latest reported one ended.
import type { Member } from './member.js';

export class LeaseFence {
  /** When the leases this node's answers granted to members it declared dead end (its clock). */
  private ownEndsMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly leaseMs: () => number) {}

  /** m was declared dead: the lease this node's latest answer gave it runs out at the latest then. */
  declared(m: Pick<Member, 'answeredToMs'>): void {
    this.ownEndsMs = Math.max(this.ownEndsMs, m.answeredToMs + this.leaseMs());
  }

  /** What this node's heartbeats report: how long, from now, the leases it granted the dead may run (0: none). */
  remainingMs(nowMs: number): number {
    const left = this.ownEndsMs - nowMs;
    return left > 0 ? Math.min(Math.ceil(left), FENCE_REPORT_MAX_MS) : 0;
  }

  /** When every lease granted to a member declared dead has ended, by this node's fence and each member's latest report. */
  endsMs(members: Iterable<Pick<Member, 'fenceEndsMs'>>): number {
    let end = this.ownEndsMs;
    for (const m of members) if (m.fenceEndsMs > end) end = m.fenceEndsMs;
    return end;
  }

  reset(): void {
    this.ownEndsMs = Number.NEGATIVE_INFINITY;
  }
}

/** The longest fence a report can say: the frame's int (a lease of half a dead-after time of over 24 days is reported as this). */
export const FENCE_REPORT_MAX_MS = 0x7fffffff;
