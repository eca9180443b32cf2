// `npm run bench:compare`'s cases: what each one runs (a timed load, 100-key batches, or a memory fill),
// by name, and the plan a load process receives for one run of one case against one system.

export type CaseKind = 'ops' | 'batch' | 'memory';
export type SystemName = 'ours' | 'redis';

export interface CaseSpec {
  name: string;
  kind: CaseKind;
  /** What is timed: a get, set or incr per request ('ops'), an mget or mset of BATCH_KEYS keys ('batch'). */
  op: 'get' | 'set' | 'incr' | 'mget' | 'mset' | 'fill';
  valueBytes: number;
  /** The keys the load works on (all preloaded before the timed phase; 'memory': the items filled). */
  keys: number;
  /** Requests (or batches) in flight on each connection. */
  inflight: number;
  connections: number;
  /** One line for people: what the case compares. */
  text: string;
  /** mget cases: Redis answers with a pipeline of BATCH_KEYS GETs instead of one MGET (issue 12's batch goal). */
  redisGetPipeline?: boolean;
}

export const BATCH_KEYS = 100;
const K10 = 10_000;
const M1 = 1_000_000;
const M5 = 5_000_000;
const KB10 = 10 * 1024;
const MB1 = 1024 * 1024;
/** 1 MB values: few keys (the preload holds keys x 1 MB in each server). */
const KEYS_1MB = 100;
/** 10 KB values in the memory case: fewer items than for 100 B (200 MB of values). */
const MEMORY_KEYS_10KB = 20_000;

function ops(op: 'get' | 'set' | 'incr', valueBytes: number, keys: number, inflight: number, connections: number, name: string): CaseSpec {
  const size = valueBytes >= MB1 ? '1 MB' : valueBytes >= KB10 ? '10 KB' : `${valueBytes} B`;
  const conns = connections === 1 ? '' : `, on each of ${connections} connections`;
  if (op === 'incr') return { name, kind: 'ops', op, valueBytes, keys, inflight, connections, text: `incr of ${keys.toLocaleString('en-US')} counters, ${inflight} in flight${conns}` };
  return { name, kind: 'ops', op, valueBytes, keys, inflight, connections, text: `${op} ${size} over ${keys.toLocaleString('en-US')} keys, ${inflight} in flight${conns}` };
}

export const CASES: readonly CaseSpec[] = [
  ops('set', 100, K10, 1, 1, 'set-100b-x1'),
  ops('get', 100, K10, 1, 1, 'get-100b-x1'),
  ops('set', 100, K10, 50, 1, 'set-100b-x50'),
  ops('get', 100, K10, 50, 1, 'get-100b-x50'),
  ops('set', 100, K10, 50, 4, 'set-100b-x50-c4'),
  ops('get', 100, K10, 50, 4, 'get-100b-x50-c4'),
  ops('set', KB10, K10, 50, 1, 'set-10kb-x50'),
  ops('get', KB10, K10, 50, 1, 'get-10kb-x50'),
  ops('set', MB1, KEYS_1MB, 50, 1, 'set-1mb-x50'),
  ops('get', MB1, KEYS_1MB, 50, 1, 'get-1mb-x50'),
  ops('set', 100, M1, 50, 1, 'set-100b-x50-1m'),
  ops('get', 100, M1, 50, 1, 'get-100b-x50-1m'),
  ops('set', 100, M5, 50, 1, 'set-100b-x50-5m'),
  ops('get', 100, M5, 50, 1, 'get-100b-x50-5m'),
  ops('incr', 100, K10, 1, 1, 'incr-x1'),
  ops('incr', 100, K10, 50, 1, 'incr-x50'),
  { name: 'mset-100-x1', kind: 'batch', op: 'mset', valueBytes: 100, keys: K10, inflight: 1, connections: 1, text: `our mset of ${BATCH_KEYS} keys vs an ioredis pipeline of ${BATCH_KEYS} SETs, 1 in flight` },
  { name: 'mget-100-x1', kind: 'batch', op: 'mget', valueBytes: 100, keys: K10, inflight: 1, connections: 1, text: `our mget of ${BATCH_KEYS} keys vs one MGET of ${BATCH_KEYS} keys, 1 in flight` },
  { name: 'mset-100-x8', kind: 'batch', op: 'mset', valueBytes: 100, keys: K10, inflight: 8, connections: 1, text: `our mset of ${BATCH_KEYS} keys vs an ioredis pipeline of ${BATCH_KEYS} SETs, 8 in flight` },
  { name: 'mget-100-x8', kind: 'batch', op: 'mget', valueBytes: 100, keys: K10, inflight: 8, connections: 1, text: `our mget of ${BATCH_KEYS} keys vs one MGET of ${BATCH_KEYS} keys, 8 in flight` },
  { name: 'mget-100-x8-pipe', kind: 'batch', op: 'mget', valueBytes: 100, keys: K10, inflight: 8, connections: 1, redisGetPipeline: true, text: `our mget of ${BATCH_KEYS} keys vs an ioredis pipeline of ${BATCH_KEYS} GETs, 8 in flight` },
  { name: 'mem-100b-1m', kind: 'memory', op: 'fill', valueBytes: 100, keys: M1, inflight: 64, connections: 1, text: 'server RSS growth per item, 1M items of 100 B' },
  { name: 'mem-10kb-20k', kind: 'memory', op: 'fill', valueBytes: KB10, keys: MEMORY_KEYS_10KB, inflight: 16, connections: 1, text: 'server RSS growth per item, 20k items of 10 KB' },
];

/** What a plain `npm run bench:compare` runs: every case. */
export const DEFAULT_CASES = CASES.map((c) => c.name);
/** What --quick runs unless --cases says otherwise. */
export const QUICK_CASES = ['set-100b-x50', 'get-100b-x1', 'mget-100-x1', 'mem-100b-1m'];
/** --quick shrinks key counts to at most this many (a smoke run, not a measurement). */
export const QUICK_KEYS_MAX = 20_000;

export class UsageError extends Error {
  override name = 'UsageError';
}

/** The cases named in a comma-separated list, in the list's order; an unknown name is a UsageError. */
export function pickCases(list: string, quick: boolean): CaseSpec[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UsageError('--cases names no case');
  const picked = names.map((n) => {
    const c = CASES.find((x) => x.name === n);
    if (!c) throw new UsageError(`unknown case '${n}'; the cases are: ${DEFAULT_CASES.join(', ')}`);
    return c;
  });
  if (new Set(names).size !== names.length) throw new UsageError('--cases names a case twice');
  return quick ? picked.map((c) => ({ ...c, keys: Math.min(c.keys, QUICK_KEYS_MAX) })) : picked;
}

/** What the parent hands a load process (as JSON in argv). */
export interface LoadPlan {
  system: SystemName;
  /** host:port of the server. */
  addr: string;
  spec: CaseSpec;
  durationSec: number;
  /** Seconds of the case's own operation before the timed phase, not counted (memory cases: none). */
  warmupSec: number;
  seed: number;
}
