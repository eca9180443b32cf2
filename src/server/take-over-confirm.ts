// Buckets this node took over lately, and whether every member has heard of it since: until then
// the new primary accepts no writes there (routing.ts, retry reason `unconfirmed`).
// BACKGROUND: a take-over is one node's decision from its own view. Node A declared B dead with C's
// confirmation and took B's buckets at epoch e + 1, but its table_sync never reached C (a one-way
// cut); B came back, B and C declared A dead, and B handed the same buckets to C at e + 1. Both A
// and C accepted writes at one epoch (the simulator's seed 7590). BEHAVIOR: after a take-over the
// new primary writes only once every data member has answered a heartbeat sent after the take-over
// was broadcast. A link delivers in order, so such an answer means that member holds the new entry
// and will decide above its epoch; a member that cannot answer (the cut) keeps the bucket unwritten
// here until the failure detector settles who is gone. It also waits until no write lease that
// members' heartbeat answers granted to the dead can still run (membership/lease-fence.ts: seed
// 25474), which is already over unless a witness heard the dead member lately. A member learnt
// after the take-over needs no answer: its new link carried the whole table first (a restarted
// node rejoining at once must not hold the take-overs of its own old incarnation's buckets). Reads
// are served at once: this node holds the data. The wait is one heartbeat interval in the
// ordinary case.
import type { Clock } from '../shared/clock.js';

/** What confirming needs of a member: when this node learnt of it, and the send time of the latest heartbeat it answered. */
export interface Answerer {
  readonly addedMs: number;
  readonly answeredOriginMs: number;
}

export class TakeOverConfirmations {
  /** Bucket -> this node's clock when it broadcast taking it over (at most one entry per bucket). */
  private readonly takenAtMs = new Map<number, number>();

  constructor(
    private readonly clock: Pick<Clock, 'nowMs'>,
    private readonly dataMembers: () => readonly Answerer[],
    /** When every lease a member declared dead may still hold has ended (this node's clock). */
    private readonly deadLeasesEndMs: () => number,
  ) {}

  /** These buckets were just taken over (and the entries broadcast). */
  note(buckets: readonly number[]): void {
    const now = this.clock.nowMs();
    for (const b of buckets) this.takenAtMs.set(b, now);
  }

  /** Whether every data member answered a heartbeat sent after b was taken over, and the dead's leases ended (true if it was not taken over lately). */
  confirmed(b: number): boolean {
    const at = this.takenAtMs.get(b);
    if (at === undefined) return true;
    // A member learnt after the take-over, or in the same step (a new incarnation whose hello ended
    // its predecessor: the take-over ran first), was sent the whole table when its link was made.
    for (const m of this.dataMembers()) if (m.addedMs < at && m.answeredOriginMs <= at) return false;
    if (this.clock.nowMs() < this.deadLeasesEndMs()) return false;
    this.takenAtMs.delete(b);
    return true;
  }

  /** Buckets still waiting (for stats and tests). */
  get waiting(): number {
    return this.takenAtMs.size;
  }

  clear(): void {
    this.takenAtMs.clear();
  }
}
