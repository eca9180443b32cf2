// A bound on how often something happens (a log line a peer can provoke): at most `perWindow`
// passes per window; the rest are counted, and the count is handed to the next pass.
export class RateGate {
  private windowStartMs = -Infinity;
  private passed = 0;
  private suppressed = 0;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
  ) {}

  /** null: suppressed; else the number suppressed since the last pass (to be reported with it). */
  pass(nowMs: number): number | null {
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.windowStartMs = nowMs;
      this.passed = 0;
    }
    if (this.passed >= this.perWindow) {
      this.suppressed++;
      return null;
    }
    this.passed++;
    const before = this.suppressed;
    this.suppressed = 0;
    return before;
  }
}
