// `npm run bench:compare`: OpenCluster beside Redis on this machine, trustworthy on a noisy one.
// Every (case, system, round) runs in fresh processes (its own redis-server or `opencluster serve` and
// its own load process); rounds are interleaved, each in a seeded shuffled order; the ratio ours/redis
// is taken per round; tables give median (min-max) with the machine above each. Usage:
//   npm run bench:compare -- [--cases a,b] [--rounds N] [--duration S] [--warmup S] [--seed N] [--quick] [--json FILE]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CASES, QUICK_CASES, UsageError, pickCases } from './compare-cases.js';
import { ensureRedisServer, redisVersion } from './compare-procs.js';
import { runOne, type RunRecord } from './compare-run.js';
import { schedule, summarize, tables } from './compare-stats.js';

const ROUNDS_DEFAULT = 3;
const DURATION_SEC_DEFAULT = 3;
const QUICK_DURATION_SEC = 0.5;
/**
 * Before the timed phase, each run does the timed operation this long, not counted. Our node and
 * both clients are JIT-compiled as they run: a 100-key mget at 1 in flight takes thousands of
 * requests (2-3 s) to reach what a running application sees, and Redis itself needs none.
 */
const WARMUP_SEC_DEFAULT = 3;
const QUICK_WARMUP_SEC = 0.2;
const ROUNDS_MAX = 100;
const DURATION_SEC_MAX = 600;

export interface Settings {
  cases: string[];
  rounds: number;
  durationSec: number;
  warmupSec: number;
  seed: number;
  quick: boolean;
  jsonPath: string | null;
}

/** Digits, and for a non-integer an optional fraction: no sign, exponent, hex or spaces. */
const INTEGER_TEXT = /^\d+$/;
const DECIMAL_TEXT = /^\d+(\.\d+)?$/;

function positive(text: string | undefined, fallback: number, max: number, what: string, integer: boolean, zeroAllowed = false): number {
  if (text === undefined) return fallback;
  const n = (integer ? INTEGER_TEXT : DECIMAL_TEXT).test(text) ? Number(text) : NaN;
  const low = zeroAllowed ? n < 0 : n <= 0;
  if (!Number.isFinite(n) || low || n > max) {
    throw new UsageError(`${what} must be ${integer ? 'an integer' : 'a number'} in ${zeroAllowed ? '[' : '('}0, ${max}], got '${text}'`);
  }
  return n;
}

export function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      cases: { type: 'string' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      seed: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
    },
  });
  const quick = values.quick === true;
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positive(values.seed, 1, 2 ** 32 - 1, '--seed', true);
  return {
    cases: (values.cases ?? (quick ? QUICK_CASES : DEFAULT_CASES).join(',')).split(','),
    rounds: positive(values.rounds, quick ? 1 : ROUNDS_DEFAULT, ROUNDS_MAX, '--rounds', true),
    durationSec: positive(values.duration, quick ? QUICK_DURATION_SEC : DURATION_SEC_DEFAULT, DURATION_SEC_MAX, '--duration', false),
    warmupSec: positive(values.warmup, quick ? QUICK_WARMUP_SEC : WARMUP_SEC_DEFAULT, DURATION_SEC_MAX, '--warmup', false, true),
    seed,
    quick,
    jsonPath: values.json ?? null,
  };
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machine(): Record<string, string | number> {
  return {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    redis: redisVersion(),
    ioredis: packageVersion('ioredis'),
  };
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  const cases = pickCases(settings.cases.join(','), settings.quick);
  ensureRedisServer();
  // Our nodes share a cluster secret in a home of this run's own, never the user's real one.
  const home = mkdtempSync(join(tmpdir(), 'oc-cmp-home-'));
  process.env['OPENCLUSTER_HOME'] = home;
  process.on('exit', () => rmSync(home, { recursive: true, force: true }));
  const m = machine();
  const header = [
    `date:    ${m['date']}`,
    `machine: ${m['cpu']}, ${m['cores']} cores, ${m['os']}`,
    `versions: node ${m['node']}, redis-server ${m['redis']}, ioredis ${m['ioredis']} (auto-pipelining)`,
    `runs:    seed ${settings.seed}, ${settings.rounds} round(s) x ${settings.durationSec} s timed after ${settings.warmupSec} s of warm-up (memory cases: none), each round in shuffled order, fresh server + load process per run${settings.quick ? ' (--quick: a smoke run, keys cut to 20k)' : ''}`,
  ].join('\n');
  console.log(header + '\n');
  for (const c of cases) console.log(`  ${c.name.padEnd(16)} ${c.text}`);
  console.log('');
  const order = schedule(cases, settings.rounds, settings.seed);
  const runs: RunRecord[] = [];
  for (const [i, slot] of order.entries()) {
    const r = await runOne(slot.case, slot.system, slot.round, { durationSec: settings.durationSec, warmupSec: settings.warmupSec }, settings.seed + slot.round);
    runs.push(r);
    const what = r.ok ? (slot.case.kind === 'memory' ? `${Math.round(r.rssBytesPerItem ?? 0)} B/item RSS` : `${Math.round(r.opsPerSec).toLocaleString('en-US')} ops/s`) : `FAILED: ${r.error}`;
    console.error(`[${i + 1}/${order.length}] round ${slot.round} ${slot.case.name} ${slot.system}: ${what}`);
  }
  const summaries = cases.map((c) => summarize(c, runs));
  console.log(tables(header, summaries));
  if (settings.jsonPath !== null) {
    const doc = {
      machine: m,
      settings: { ...settings, cases: cases.map((c) => c.name) },
      order: order.map((s) => ({ round: s.round, case: s.case.name, system: s.system })),
      runs,
      cases: summaries,
    };
    writeFileSync(settings.jsonPath, JSON.stringify(doc, null, 2) + '\n');
  }
  if (runs.some((r) => !r.ok)) process.exitCode = 1;
}

process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
main().catch((e: unknown) => {
  if (e instanceof UsageError || (e instanceof Error && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
    console.error(`bench:compare: ${e.message}`);
    process.exit(2);
  }
  console.error(e);
  process.exit(1);
});
