// A progress bar for the load phase (cli-progress), shown only when the output is a terminal.
import cliProgress from 'cli-progress';
import type { LoadProgress } from './load.js';

const BAR_UNITS = 1000;

export interface ProgressSink {
  update(p: LoadProgress): void;
  stop(): void;
}

const silent: ProgressSink = { update: () => undefined, stop: () => undefined };

/** A bar on stderr-free stdout when it is a TTY (and not --json); otherwise a sink that does nothing. */
export function progressBar(label: string, enabled: boolean): ProgressSink {
  if (!enabled || !process.stdout.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} {phase} [{bar}] {percentage}% | {ops} ops | {rate} ops/s | {errors} errors`,
      hideCursor: true,
      clearOnComplete: true,
      stream: process.stdout,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(BAR_UNITS, 0, { phase: 'preload', ops: 0, rate: 0, errors: 0 });
  return {
    update(p) {
      const rate = p.elapsedSec > 0 ? Math.round(p.completed / p.elapsedSec) : 0;
      bar.update(Math.round(p.fraction * BAR_UNITS), { phase: p.phase, ops: p.completed, rate, errors: p.errors });
    },
    stop() {
      bar.stop();
    },
  };
}
