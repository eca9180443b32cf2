// `npm run sim -- [--seeds N] [--seed S] [--nodes K] [--quorum majority|off] [--json]`: runs the
// simulator over seeds (S, S+1, ... N of them; default 100 from 1), prints progress on stderr and
// a summary (seeds run, violations with their seeds; each failing seed with its schedule and trace
// tail). Bounded: at most SEEDS_MAX seeds and --max-minutes of wall time. Exit 1 on a violation.
import { SingleBar, Presets } from 'cli-progress';
import { describeRun, runSeed, type RunResult } from './run.js';
import { FAULT_KINDS, type FaultKind } from './schedule.js';

const SEEDS_MAX = 1_000_000;
const FAILURES_SHOWN_MAX = 5;

interface Args {
  seeds: number;
  seed: number;
  nodes: number;
  quorum: 'majority' | 'off';
  json: boolean;
  maxMinutes: number;
  faults: FaultKind[];
  /** The nodes' log lines in the trace, at this level and above (to read a failing seed). */
  nodeLog: string;
  traceLines: number;
}

function usage(why: string): never {
  process.stderr.write(`${why}\nusage: npm run sim -- [--seeds N] [--seed S] [--nodes K] [--quorum majority|off] [--faults cut,cutOneWay,isolate,stall,kill,leave] [--max-minutes M] [--json] [--node-log LEVEL] [--trace-lines N]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seeds: 100, seed: 1, nodes: 3, quorum: 'majority', json: false, maxMinutes: 60, faults: [...FAULT_KINDS], nodeLog: 'silent', traceLines: 80 };
  let seedGiven = false;
  let seedsGiven = false;
  const int = (name: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min || n > max) usage(`${name} needs an integer in ${min}..${max}, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    switch (arg) {
      case '--seeds':
        a.seeds = int(arg, argv[++i], 1, SEEDS_MAX);
        seedsGiven = true;
        break;
      case '--seed':
        a.seed = int(arg, argv[++i], 0, 0xffffffff);
        seedGiven = true;
        break;
      case '--nodes':
        a.nodes = int(arg, argv[++i], 1, 9);
        break;
      case '--max-minutes':
        a.maxMinutes = int(arg, argv[++i], 1, 24 * 60);
        break;
      case '--quorum': {
        const q = argv[++i];
        if (q !== 'majority' && q !== 'off') usage(`--quorum is majority or off, got ${q ?? 'nothing'}`);
        a.quorum = q;
        break;
      }
      case '--faults': {
        const list = (argv[++i] ?? '').split(',');
        for (const f of list) if (!(FAULT_KINDS as readonly string[]).includes(f)) usage(`unknown fault ${f} (${FAULT_KINDS.join(', ')})`);
        a.faults = list as FaultKind[];
        break;
      }
      case '--json':
        a.json = true;
        break;
      case '--node-log': {
        const level = argv[++i];
        if (level === undefined || !['silent', 'error', 'warn', 'info', 'debug'].includes(level)) usage(`--node-log is silent, error, warn, info or debug, got ${level ?? 'nothing'}`);
        a.nodeLog = level;
        break;
      }
      case '--trace-lines':
        a.traceLines = int(arg, argv[++i], 1, 100_000);
        break;
      default:
        usage(`unknown argument ${arg}`);
    }
  }
  // --seed alone replays that one seed.
  if (seedGiven && !seedsGiven) a.seeds = 1;
  if (a.seed + a.seeds - 1 > 0xffffffff) usage('the seeds run past 2^32 - 1');
  return a;
}

/** A progress bar on stderr (cli-progress), only on a terminal. */
function progressBar(total: number): { update(done: number, failed: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar({ stream: process.stderr, format: '[{bar}] {value}/{total} seeds, {failed} failing, eta {eta_formatted}', hideCursor: true }, Presets.legacy);
  bar.start(total, 0, { failed: 0 });
  return { update: (done, failed) => bar.update(done, { failed }), stop: () => bar.stop() };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const startedMs = performance.now();
  const deadlineMs = startedMs + a.maxMinutes * 60_000;
  const failures: RunResult[] = [];
  const kinds = new Map<string, number>();
  let run = 0;
  let acked = 0;
  const bar = progressBar(a.seeds);
  for (let i = 0; i < a.seeds && performance.now() < deadlineMs; i++) {
    const r = await runSeed({ seed: a.seed + i, nodes: a.nodes, quorum: a.quorum, faults: a.faults, nodeLogLevel: a.nodeLog });
    run++;
    acked += r.writes.ack;
    if (!r.ok) {
      failures.push(r);
      for (const v of r.violations) kinds.set(v.kind, (kinds.get(v.kind) ?? 0) + 1);
      if (!a.json && failures.length <= FAILURES_SHOWN_MAX) process.stdout.write(`${process.stderr.isTTY ? '\n' : ''}${describeRun(r, a.traceLines)}\n\n`);
    }
    bar.update(run, failures.length);
  }
  bar.stop();
  const wallMs = performance.now() - startedMs;
  const summary = {
    seedsRun: run,
    seedsAsked: a.seeds,
    firstSeed: a.seed,
    nodes: a.nodes,
    quorum: a.quorum,
    acknowledgedWrites: acked,
    failingSeeds: failures.map((r) => r.seed),
    violations: Object.fromEntries(kinds),
    wallMs: Math.round(wallMs),
    msPerSeed: run > 0 ? Math.round(wallMs / run) : 0,
  };
  if (a.json) {
    const detail = failures.slice(0, FAILURES_SHOWN_MAX).map((r) => ({ seed: r.seed, schedule: r.schedule, violations: r.violations }));
    process.stdout.write(`${JSON.stringify({ ...summary, failures: detail }, null, 2)}\n`);
  } else {
    process.stdout.write(
      `${run} seeds run (${a.seed}..${a.seed + run - 1}, ${a.nodes} nodes, --quorum ${a.quorum}) in ${(wallMs / 1000).toFixed(1)} s, ${summary.msPerSeed} ms per seed; ${acked} acknowledged writes\n` +
        (failures.length === 0
          ? 'no violation\n'
          : `${failures.length} failing seed(s): ${summary.failingSeeds.slice(0, 50).join(' ')}${failures.length > 50 ? ' ...' : ''}\nviolations: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}\n`),
    );
  }
  if (run < a.seeds) process.stdout.write(`stopped after --max-minutes ${a.maxMinutes}: ${a.seeds - run} seeds not run\n`);
  process.exitCode = failures.length > 0 ? 1 : 0;
}

await main();
