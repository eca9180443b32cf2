// The check that for each bucket and epoch at most one node (one incarnation) accepts writes: two
// writers of one bucket at one epoch are two primaries that both believe they own it (split brain).
// Fed by the nodes' write observer (NodeEnv.observeWrite), at the moment each write is applied.

/** Distinct bucket@epoch pairs remembered at most; past it the check stops (and says so). */
const PAIRS_MAX = 1_000_000;

export class OneWriter {
  private readonly writerOf = new Map<string, string>();
  /** Violations reported (one per bucket and epoch). */
  private readonly reported = new Set<string>();
  onViolation: (detail: string) => void = () => undefined;
  /** Set once PAIRS_MAX pairs were seen: the check covers only the pairs before. */
  full = false;

  note(writer: string, b: number, epoch: number): void {
    const key = `${b}@${epoch}`;
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
