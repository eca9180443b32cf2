// The check that each bucket has one writer at a time: for each bucket and epoch at most one node
// (one incarnation) accepts writes, and no node writes at an epoch below one already written (a
// primary that goes on after another took the bucket at a higher epoch). Either is two primaries
// that both believe they own the bucket (split brain). Fed by the nodes' write observer
// (node-env.ts NodeEnv.observeWrite), at the moment each write is applied, in the simulator's one timeline.

/** Distinct bucket@epoch pairs remembered at most; past it the check stops (and says so). */
const PAIRS_MAX = 1_000_000;

export class OneWriter {
  private readonly writerOf = new Map<string, string>();
  /** Per bucket, the highest epoch written so far and by whom. */
  private readonly latest = new Map<number, { epoch: number; writer: string }>();
  /** Violations reported (one per bucket and epoch). */
  private readonly reported = new Set<string>();
  onViolation: (detail: string) => void = () => undefined;
  /** Set once PAIRS_MAX pairs were seen: the check covers only the pairs before. */
  full = false;

  note(writer: string, b: number, epoch: number): void {
    const key = `${b}@${epoch}`;
    const top = this.latest.get(b);
    if (top !== undefined && epoch < top.epoch && !this.reported.has(key)) {
      this.reported.add(key);
      this.onViolation(`bucket ${b}: written at epoch ${epoch} by ${writer} after epoch ${top.epoch} by ${top.writer}`);
    }
    if (top === undefined || epoch > top.epoch) this.latest.set(b, { epoch, writer });
    const first = this.writerOf.get(key);
    if (first === undefined) {
      if (this.writerOf.size >= PAIRS_MAX) {
        this.full = true;
        return;
      }
      this.writerOf.set(key, writer);
      return;
    }
    if (first === writer || this.reported.has(key)) return;
    this.reported.add(key);
    this.onViolation(`bucket ${b} at epoch ${epoch}: written by ${first} and by ${writer}`);
  }
}
