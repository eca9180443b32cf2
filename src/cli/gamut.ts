// `opencluster gamut`: option parsing and validation for the feature check and load tool; the work
// itself lives in src/gamut/. Exit codes: 0 ok, 1 a check failed or writes were lost, 2 usage/connection.
import { addClusterAccessOptions, clusterAccess, type CommonOptions } from './session.js';
import type { Command } from 'commander';
import { CONNECTIONS_MAX, DURATION_SEC_MAX, INFLIGHT_MAX, KEYS_MAX, MGET_KEYS_MAX, REQUESTS_MAX, VALUE_BYTES_MAX } from '../gamut/load.js';
import { runGamut, type GamutOptions } from '../gamut/run.js';
import { DEFAULT_LISTEN } from '../shared/limits.js';
import { AddressError, normalizeAddress } from '../shared/address.js';
import { ClusterError } from '../index.js';
import { parseClusterAddress, UsageError } from './args.js';
import { EXIT_USAGE, errorMessage, printError } from './output.js';
import { finish } from './session.js';

interface RawOptions extends CommonOptions {
  cluster: string;
  keys: string;
  valueBytes: string;
  inflight: string;
  connections: string;
  mix: string;
  batchKeys: string;
  duration?: string;
  warmup: string;
  requests?: string;
  compareRedis?: string;
  rounds?: string;
  json?: boolean;
  skipCheck?: boolean;
  skipLoad?: boolean;
  report?: string;
  verify?: boolean;
  timeoutMs: string;
  retries: string;
  seed?: string;
}

const DEFAULT_DURATION_SEC = 10;
const DEFAULT_REQUESTS_MAX = 100_000_000;
const ROUNDS_MAX = 100;
const RETRIES_MAX = 10;
const TIMEOUT_MS_MAX = 600_000;

function intOption(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} must be a whole number, not "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}`);
  return n;
}

function secondsOption(name: string, text: string, zeroAllowed = false): number {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new UsageError(`--${name} must be a number of seconds, not "${text}"`);
  const n = Number(text);
  if ((zeroAllowed ? n < 0 : n <= 0) || n > DURATION_SEC_MAX) throw new UsageError(`--${name} must be ${zeroAllowed ? 'at least 0' : 'above 0'} and at most ${DURATION_SEC_MAX}`);
  return n;
}

/** Operations --mix can weigh, by name. */
const MIX_OPS = ['get', 'set', 'incr', 'mget'] as const;

export interface MixWeights {
  getWeight: number;
  setWeight: number;
  incrWeight: number;
  mgetWeight: number;
}

/**
 * Positional "get:set[:incr]" weights, e.g. 1:1, 90:10, 0:1 (sets only), 0:0:1 (increments only);
 * or named weights, e.g. get=1,set=1,mget=1 (an operation not named weighs 0; incr works on counters
 * of its own; mget reads --batch-keys keys in one request).
 */
export function parseMix(text: string): MixWeights {
  const bad = (): UsageError =>
    new UsageError(`--mix must be GET:SET or GET:SET:INCR weights such as 1:1, 90:10 or 1:1:2, or named weights such as get=1,set=1,mget=1 (${MIX_OPS.join(', ')}), not "${text}"`);
  const w: Record<(typeof MIX_OPS)[number], number> = { get: 0, set: 0, incr: 0, mget: 0 };
  const m = /^(\d+):(\d+)(?::(\d+))?$/.exec(text);
  if (m) {
    w.get = Number(m[1]);
    w.set = Number(m[2]);
    w.incr = Number(m[3] ?? 0);
  } else {
    const seen = new Set<string>();
    for (const part of text.split(',')) {
      const named = /^([a-z]+)=(\d+)$/.exec(part.trim());
      const op = MIX_OPS.find((o) => o === named?.[1]);
      if (!named || op === undefined) throw bad();
      if (seen.has(op)) throw new UsageError(`--mix names ${op} twice: "${text}"`);
      seen.add(op);
      w[op] = Number(named[2]);
    }
  }
  if (w.get + w.set + w.incr + w.mget === 0) throw new UsageError('--mix needs a weight above 0');
  return { getWeight: w.get, setWeight: w.set, incrWeight: w.incr, mgetWeight: w.mget };
}

function redisAddress(text: string | undefined): string | null {
  if (text === undefined) return null;
  try {
    return normalizeAddress(text);
  } catch (e) {
    if (e instanceof AddressError) throw new UsageError(`--compare-redis: ${e.message}`);
    throw e;
  }
}

export function toGamutOptions(raw: RawOptions): GamutOptions {
  const compareRedis = redisAddress(raw.compareRedis);
  const durationSec = raw.duration !== undefined ? secondsOption('duration', raw.duration) : raw.requests !== undefined ? DURATION_SEC_MAX : DEFAULT_DURATION_SEC;
  const o: GamutOptions = {
    cluster: parseClusterAddress(raw.cluster),
    keys: intOption('keys', raw.keys, 1, KEYS_MAX),
    valueBytes: intOption('value-bytes', raw.valueBytes, 1, VALUE_BYTES_MAX),
    inflight: intOption('inflight', raw.inflight, 1, INFLIGHT_MAX),
    connections: intOption('connections', raw.connections, 1, CONNECTIONS_MAX),
    ...parseMix(raw.mix),
    mgetKeys: intOption('batch-keys', raw.batchKeys, 1, MGET_KEYS_MAX),
    durationSec,
    warmupSec: secondsOption('warmup', raw.warmup, true),
    requestsMax: raw.requests !== undefined ? intOption('requests', raw.requests, 1, REQUESTS_MAX) : DEFAULT_REQUESTS_MAX,
    compareRedis,
    rounds: raw.rounds !== undefined ? intOption('rounds', raw.rounds, 1, ROUNDS_MAX) : compareRedis ? 3 : 1,
    json: raw.json === true,
    skipCheck: raw.skipCheck === true,
    skipLoad: raw.skipLoad === true,
    report: raw.report ?? null,
    verify: raw.verify === true,
    requestTimeoutMs: intOption('timeout-ms', raw.timeoutMs, 1, TIMEOUT_MS_MAX),
    retries: intOption('retries', raw.retries, 0, RETRIES_MAX),
    seed: raw.seed !== undefined ? intOption('seed', raw.seed, 0, 2 ** 31 - 1) : 1,
    access: clusterAccess(raw),
    limitsGiven: { duration: raw.duration !== undefined, requests: raw.requests !== undefined },
  };
  if (o.skipCheck && o.skipLoad) throw new UsageError('--skip-check and --skip-load leave nothing to do');
  if (o.verify && o.skipLoad) throw new UsageError('--verify needs the load phase');
  if (o.verify && o.incrWeight > 0) throw new UsageError('--verify checks gets, sets and mgets: give --mix without an INCR weight');
  if (o.verify && o.keys < o.inflight * o.connections) throw new UsageError('--verify needs --keys of at least --inflight times --connections');
  return o;
}

function describe(e: unknown): string {
  if (e instanceof UsageError) return e.message;
  if (e instanceof ClusterError) return `gamut: ${e.code}: ${e.message}${e.node ? ` (node ${e.node})` : ''}`;
  return `gamut: ${errorMessage(e)}`;
}

export function registerGamut(program: Command): void {
  const cmd = program
    .command('gamut')
    .description('check every client feature against a live cluster, then measure it under load (optionally beside Redis)')
    .option('--cluster <host:port>', 'a node of the cluster', DEFAULT_LISTEN)
    .option('--keys <n>', 'keys in the load phase (preloaded first)', '10000')
    .option('--value-bytes <n>', 'value size in bytes', '100')
    .option('--inflight <n>', 'requests in flight per connection', '50')
    .option('--connections <n>', 'client connections (one client each)', '1')
    .option('--mix <weights>', 'relative weights: GET:SET or GET:SET:INCR (1:1, 1:1:2), or named: get=1,set=1,incr=1,mget=1 (INCR and MGET against Redis)', '1:1')
    .option('--batch-keys <n>', 'keys per mget in the mix', '100')
    .option('--duration <s>', `seconds per load round (default ${DEFAULT_DURATION_SEC}; with --requests, until they are done)`)
    .option('--warmup <s>', 'seconds of the same load before each round, not counted (the node and the client are JIT-compiled as they run)', '0')
    .option('--requests <n>', 'requests per load round at most')
    .option('--compare-redis <host:port>', 'run the identical load through ioredis against this Redis server')
    .option('--rounds <n>', 'load rounds, alternating ours and Redis (default 3 with --compare-redis, else 1)')
    .option('--json', 'print one JSON object on stdout')
    .option('--skip-check', 'run the load phase alone')
    .option('--skip-load', 'run the feature check alone')
    .option('--report <file.html>', 'write a self-contained HTML report with charts')
    .option('--verify', 'chaos mode: keep a ledger of acknowledged writes and read every key back at the end')
    .option('--timeout-ms <ms>', 'per-request deadline of the client', '5000')
    .option('--retries <n>', 're-issues of a rejected load request', '1')
    .option('--seed <n>', 'seed of the load sequence (same seed, same workload)');
  addClusterAccessOptions(cmd).action(async (raw: RawOptions) => {
      let code: number;
      try {
        code = await runGamut(toGamutOptions(raw));
      } catch (e) {
        printError(describe(e));
        code = EXIT_USAGE;
      }
      finish(code);
    });
}
