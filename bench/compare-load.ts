// The load process of one `npm run bench:compare` run: connects to one server (ours through our
// client, Redis through ioredis with auto-pipelining), preloads, warms up, runs the timed phase and
// reports on stdout in JSON lines; its own CPU is read over the timed phase only (process.cpuUsage).
// Lines: {"event":"timed-start"|"timed-end"} around a timed phase; {"event":"connected"} then it waits
// for "go" on stdin (memory cases: the parent reads the server's RSS first); {"event":"result",...}.
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { runLoad } from '../src/gamut/load.js';
import { Rng, keyNames, makeValue, warmupSeed } from '../src/gamut/workload.js';
import { redisStore } from '../src/gamut/redis.js';
import { connectCluster, forEachWindowed, oursStore, type KvStore } from '../src/gamut/target.js';
import type { Cluster } from '../src/index.js';
import { BATCH_KEYS, type LoadPlan } from './compare-cases.js';

const REQUEST_TIMEOUT_MS = 20_000;
const CONNECT_TIMEOUT_MS = 10_000;
const PRELOAD_CHUNK_KEYS = 1000;
/** Batch latencies kept (a bound; a run of a few seconds stays far below it). */
const LATENCIES_MAX = 2_000_000;

export interface RunResult {
  ops: number;
  durationSec: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** User + system CPU of this load process over the timed phase, in microseconds. */
  loadCpuUs: number;
  preloadSec: number;
  /** Memory cases: the items written, and the server's own figure of its data (ours: stats memoryBytes.data; Redis: used_memory). */
  items?: number;
  statsBytes?: number;
}

interface RedisRaw {
  set(k: string, v: string): Promise<unknown>;
  mget(...keys: string[]): Promise<unknown[]>;
  info(section: string): Promise<string>;
  pipeline(): { set(k: string, v: string): unknown; get(k: string): unknown; exec(): Promise<unknown> };
  connect(): Promise<void>;
  quit(): Promise<unknown>;
}

function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

const stdinLines = createInterface({ input: process.stdin });
function waitForGo(): Promise<void> {
  return new Promise((resolve, reject) => {
    stdinLines.once('line', (l) => (l.trim() === 'go' ? resolve() : reject(new Error(`expected 'go' on stdin, got '${l}'`))));
    stdinLines.once('close', () => reject(new Error('stdin closed before go')));
  });
}

async function rawRedis(addr: string): Promise<RedisRaw> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  const specifier = 'ioredis';
  const mod = (await import(specifier)) as { Redis?: unknown; default?: unknown };
  const Ctor = (typeof mod.Redis === 'function' ? mod.Redis : mod.default) as new (o: object) => RedisRaw;
  const c = new Ctor({ host, port, lazyConnect: true, enableAutoPipelining: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  await c.connect();
  return c;
}

function storeOf(plan: LoadPlan): Promise<KvStore> {
  if (plan.system === 'redis') return redisStore(plan.addr);
  return Promise.resolve(oursStore({ seed: plan.addr, requestTimeoutMs: REQUEST_TIMEOUT_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS, access: {} }));
}

/** get/set/incr cases: gamut's load (it preloads every key first, then times the phase). */
async function runOps(plan: LoadPlan): Promise<RunResult> {
  const s = plan.spec;
  const store = await storeOf(plan);
  let cpuAtStart = 0;
  let cpuUsed = 0;
  const r = await runLoad(store, {
    keys: s.keys,
    valueBytes: s.valueBytes,
    inflight: s.inflight,
    connections: s.connections,
    getWeight: s.op === 'get' ? 1 : 0,
    setWeight: s.op === 'set' ? 1 : 0,
    incrWeight: s.op === 'incr' ? 1 : 0,
    mgetWeight: 0,
    mgetKeys: 1,
    durationSec: plan.durationSec,
    warmupSec: plan.warmupSec,
    requestsMax: 1_000_000_000,
    prefix: 'cmp:',
    seed: plan.seed,
    retries: 0,
    ledger: null,
    onPhaseChange: (phase) => {
      if (phase === 'load') {
        say({ event: 'timed-start' });
        cpuAtStart = cpuUs();
      } else {
        cpuUsed = cpuUs() - cpuAtStart;
        say({ event: 'timed-end' });
      }
    },
  });
  return { ops: r.ops, durationSec: r.durationSec, opsPerSec: r.opsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errors, loadCpuUs: cpuUsed, preloadSec: r.preloadSec };
}

type BatchFn = (keys: string[]) => Promise<unknown>;

/** The two sides of a batch case: our mset/mget against an ioredis pipeline of SETs / one MGET. */
async function batchSides(plan: LoadPlan, value: string): Promise<{ write: BatchFn; read: BatchFn; close: () => Promise<unknown> }> {
  if (plan.system === 'ours') {
    const c: Cluster = await connectCluster({ seed: plan.addr, requestTimeoutMs: REQUEST_TIMEOUT_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS, access: {} });
    return { write: (keys) => c.mset(keys.map((k) => [k, value] as const)), read: (keys) => c.mget(keys), close: () => c.close() };
  }
  const r = await rawRedis(plan.addr);
  const write: BatchFn = (keys) => {
    const p = r.pipeline();
    for (const k of keys) p.set(k, value);
    return p.exec();
  };
  const pipelineRead: BatchFn = (keys) => {
    const p = r.pipeline();
    for (const k of keys) p.get(k);
    return p.exec();
  };
  return { write, read: plan.spec.redisGetPipeline === true ? pipelineRead : (keys) => r.mget(...keys), close: () => r.quit() };
}

function pct(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Batch cases: preload every key in batches, warm up, then `inflight` loops of one batch of random keys after another. */
async function runBatch(plan: LoadPlan): Promise<RunResult> {
  const s = plan.spec;
  const value = makeValue(s.valueBytes);
  const all = keyNames('cmp:', s.keys);
  const sides = await batchSides(plan, value);
  try {
    const t0 = performance.now();
    for (let i = 0; i < all.length; i += PRELOAD_CHUNK_KEYS) await sides.write(all.slice(i, i + PRELOAD_CHUNK_KEYS));
    const preloadSec = (performance.now() - t0) / 1000;
    const fn = s.op === 'mset' ? sides.write : sides.read;
    // Slots of `inflight` loops, each one batch of random keys after another until stopAtMs; the
    // timed phase's sequence comes from the seed alone, whatever the warm-up did.
    const lat = new Float64Array(LATENCIES_MAX);
    let n = 0;
    let errors = 0;
    const loops = (rng: Rng, stopAtMs: number, timed: boolean): Promise<void[]> =>
      Promise.all(
        Array.from({ length: s.inflight * s.connections }, async () => {
          while (performance.now() < stopAtMs && n < LATENCIES_MAX) {
            const keys = Array.from({ length: BATCH_KEYS }, () => all[Math.floor(rng.next() * all.length)]!);
            const t = performance.now();
            try {
              await fn(keys);
              if (timed) lat[n++] = performance.now() - t;
            } catch {
              if (timed) errors++;
            }
          }
        }),
      );
    if (plan.warmupSec > 0) await loops(new Rng(warmupSeed(plan.seed)), performance.now() + plan.warmupSec * 1000, false);
    say({ event: 'timed-start' });
    const cpu0 = cpuUs();
    const start = performance.now();
    await loops(new Rng(plan.seed), start + plan.durationSec * 1000, true);
    const sec = (performance.now() - start) / 1000;
    const loadCpuUs = cpuUs() - cpu0;
    say({ event: 'timed-end' });
    const sorted = lat.subarray(0, n).sort();
    return { ops: n, durationSec: sec, opsPerSec: Math.round(n / sec), p50Ms: pct(sorted, 50), p99Ms: pct(sorted, 99), errors, loadCpuUs, preloadSec };
  } finally {
    await sides.close();
  }
}

/** Memory cases: connect, let the parent read the server's RSS, fill every key, read the server's own figure. */
async function runMemory(plan: LoadPlan): Promise<RunResult> {
  const s = plan.spec;
  const store = await storeOf(plan);
  const conn = await store.open();
  say({ event: 'connected' });
  await waitForGo();
  const value = makeValue(s.valueBytes);
  const t0 = performance.now();
  let errors = 0;
  await forEachWindowed(keyNames('cmp:', s.keys), s.inflight, (k) => conn.set(k, value).catch(() => errors++));
  const preloadSec = (performance.now() - t0) / 1000;
  await conn.close();
  let statsBytes: number;
  if (plan.system === 'ours') {
    const c = await connectCluster({ seed: plan.addr, requestTimeoutMs: REQUEST_TIMEOUT_MS, connectTimeoutMs: CONNECT_TIMEOUT_MS, access: {} });
    const doc = (await c.stats())[0] as { memoryBytes?: { data?: unknown } } | undefined;
    statsBytes = Number(doc?.memoryBytes?.data ?? NaN);
    await c.close();
  } else {
    const r = await rawRedis(plan.addr);
    statsBytes = Number(/^used_memory:(\d+)/m.exec(await r.info('memory'))?.[1] ?? NaN);
    await r.quit();
  }
  return { ops: s.keys - errors, durationSec: preloadSec, opsPerSec: 0, p50Ms: 0, p99Ms: 0, errors, loadCpuUs: 0, preloadSec, items: s.keys - errors, statsBytes };
}

async function main(): Promise<void> {
  const plan = JSON.parse(process.argv[2] ?? '') as LoadPlan;
  const kind = plan.spec.kind;
  const result = kind === 'ops' ? await runOps(plan) : kind === 'batch' ? await runBatch(plan) : await runMemory(plan);
  say({ event: 'result', ...result });
  stdinLines.close();
  process.exit(0); // stdout is a pipe (written synchronously on Linux): nothing is lost; no client socket holds the process open
}

main().catch((e: unknown) => {
  say({ event: 'error', message: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
