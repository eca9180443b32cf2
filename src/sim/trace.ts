// Trace: what happened in a simulation, one line per event, stamped with virtual time. Two runs of
// the same seed must give the same text, byte for byte; a failing seed prints it. Bounded.
import type { Clock } from '../shared/clock.js';

const DEFAULT_LINES_MAX = 200_000;

export class Trace {
  private readonly lines: string[] = [];
  /** Lines not kept once linesMax was reached. */
  dropped = 0;

  constructor(
    private readonly clock: Clock,
    private readonly linesMax = DEFAULT_LINES_MAX,
  ) {}

  add(text: string): void {
    if (this.lines.length >= this.linesMax) {
      this.dropped++;
      return;
    }
    this.lines.push(`${this.clock.nowMs().toFixed(3)} ${text}`);
  }

  get length(): number {
    return this.lines.length;
  }

  text(): string {
    const tail = this.dropped > 0 ? `... ${this.dropped} more lines not kept\n` : '';
    return this.lines.join('\n') + (this.lines.length > 0 ? '\n' : '') + tail;
  }
}
