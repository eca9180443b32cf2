// Requests the node answered on its client port: a count by command and outcome and a latency
// histogram per command (dispatch to reply written), in plain counters on the hot path. /metrics
// and the stats document read them; nothing here allocates per request after a command's first.
import { Cmd, ErrorCode, Reply } from '../protocol/commands.js';

/** How a request ended, as the reply said. */
export const Outcome = { ok: 0, miss: 1, redirect: 2, retry: 3, denied: 4, error: 5 } as const;
export type OutcomeNumber = (typeof Outcome)[keyof typeof Outcome];
export const OUTCOME_NAMES: readonly string[] = ['ok', 'miss', 'redirect', 'retry', 'denied', 'error'];

/** Upper bounds of the latency buckets, in milliseconds (the last bucket, +Inf, is implied). */
export const LATENCY_BOUNDS_MS: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

/** Commands outside Cmd are counted together under this name (a client may send any number). */
export const OTHER_COMMAND = 'other';

const COMMAND_NAMES = new Map<number, string>(Object.entries(Cmd).map(([name, n]) => [n, name]));

/** Counts of one command. */
export class CommandMeter {
  /** Requests by outcome (index: OutcomeNumber). */
  readonly outcomes = new Float64Array(OUTCOME_NAMES.length);
  /** Requests per latency bucket, not cumulative (index i: at most LATENCY_BOUNDS_MS[i]; last: above all). */
  readonly latencyCounts = new Float64Array(LATENCY_BOUNDS_MS.length + 1);
  latencySumMs = 0;
  count = 0;

  observe(outcome: OutcomeNumber, ms: number): void {
    this.outcomes[outcome]!++;
    this.latencyCounts[bucketOf(ms)]!++;
    this.latencySumMs += ms;
    this.count++;
  }
}

function bucketOf(ms: number): number {
  const bounds = LATENCY_BOUNDS_MS;
  for (let i = 0; i < bounds.length; i++) if (ms <= bounds[i]!) return i;
  return bounds.length;
}

export class RequestMeter {
  /** By command name (Cmd's, or OTHER_COMMAND): bounded by the size of Cmd plus one. */
  private readonly byName = new Map<string, CommandMeter>();
  /** Every command together (the dashboard's requests/s and p99). */
  readonly all = new CommandMeter();

  record(command: number, outcome: OutcomeNumber, ms: number): void {
    const name = COMMAND_NAMES.get(command) ?? OTHER_COMMAND;
    let m = this.byName.get(name);
    if (m === undefined) {
      m = new CommandMeter();
      this.byName.set(name, m);
    }
    m.observe(outcome, ms);
    this.all.observe(outcome, ms);
  }

  /** The commands seen so far, by name. */
  commands(): IterableIterator<[string, CommandMeter]> {
    return this.byName.entries();
  }
}

/** The outcome a reply of this number means (failinfo: see outcomeOfError). */
export function outcomeOfReply(reply: number): OutcomeNumber {
  switch (reply) {
    case Reply.tryelsewhere:
      return Outcome.redirect;
    case Reply.fail:
      return Outcome.miss;
    case Reply.failinfo:
    case Reply.unknown:
      return Outcome.error;
    default:
      return Outcome.ok;
  }
}

/** The outcome a failinfo with this error code means. */
export function outcomeOfError(code: number): OutcomeNumber {
  switch (code) {
    case ErrorCode.notFound:
      return Outcome.miss;
    case ErrorCode.retryLater:
    case ErrorCode.noOwner:
    case ErrorCode.shuttingDown:
    case ErrorCode.overloaded:
    case ErrorCode.busy:
      return Outcome.retry;
    case ErrorCode.notAllowed:
    case ErrorCode.authFailed:
      return Outcome.denied;
    default:
      return Outcome.error;
  }
}

/**
 * The latency below which `q` (0..1) of the counted requests fall, as the upper bound of the bucket
 * that holds it (ms); null when nothing was counted. counts: per bucket, as CommandMeter keeps them.
 */
export function quantileMs(counts: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i]! : Infinity;
  }
  return Infinity;
}
