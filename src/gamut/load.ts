// gamut's load phase: K connections with C requests in flight on each (a fixed window), a get/set/incr/mget mix
// over N preloaded keys, bounded by duration and by a request count, timed into an HDR histogram
// after an optional warm-up of the same mix that no figure counts.
import { performance } from 'node:perf_hooks';
import { assert } from '../shared/assert.js';
import { LatencyRecorder, TIMELINE_INTERVAL_MS, type HistogramBar, type TimelinePoint } from './latency.js';
import { isIndeterminateCode, type KvConnection, type KvStore } from './target.js';
import type { Ledger } from './verify.js';
import { Rng, counterNames, keyNames, makeValue, pickKey, warmupSeed } from './workload.js';

export const INFLIGHT_MAX = 10_000;
export const CONNECTIONS_MAX = 256;
export const KEYS_MAX = 10_000_000;
export const VALUE_BYTES_MAX = 8 * 1024 * 1024;
export const DURATION_SEC_MAX = 24 * 3600;
export const REQUESTS_MAX = 1_000_000_000;
export const MGET_KEYS_MAX = 1000;

/** A failed request waits this long before its worker issues the next (no hot loop on a dead node). */
const ERROR_BACKOFF_MS = 10;
const PROGRESS_INTERVAL_MS = 250;

export interface LoadOptions {
  keys: number;
  valueBytes: number;
  inflight: number;
  connections: number;
  /** Relative weights of get, set, incr and mget in the mix (incr: counters of their own, `counterNames`). */
  getWeight: number;
  setWeight: number;
  incrWeight: number;
  /** Weight of mget (one batch read of mgetKeys random keys; one request in the counts). */
  mgetWeight: number;
  mgetKeys: number;
  durationSec: number;
  /**
   * Seconds of the same mix run before the timed phase and not counted (absent or 0: none). A node
   * and a client are JIT-compiled as they run: the first thousands of requests of each kind are
   * slower than what a running application sees.
   */
  warmupSec?: number;
  requestsMax: number;
  /** Prefix of every key (the run's own namespace). */
  prefix: string;
  /** Seeds the per-worker random sequences: the same seed gives the same workload. */
  seed: number;
  /** Re-issues of a request after a rejection (0 = none). */
  retries: number;
  /** Chaos mode: values carry sequence numbers and every outcome is written to the ledger. */
  ledger: Ledger | null;
  onProgress?: (p: LoadProgress) => void;
  /** Called right before the timed phase starts ('load') and right after it ends ('done'). */
  onPhaseChange?: (phase: 'load' | 'done') => void;
}

export interface LoadProgress {
  phase: 'preload' | 'warmup' | 'load';
  /** 0..1 of the bound that ends the phase first. */
  fraction: number;
  completed: number;
  errors: number;
  elapsedSec: number;
}

export interface LoadResult {
  target: string;
  ops: number;
  durationSec: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
  errors: number;
  errorsByCode: Record<string, number>;
  retries: number;
  preloadSec: number;
  preloadErrors: number;
  /** Requests completed, and failed, in the warm-up (in no other figure). */
  warmupOps: number;
  warmupErrors: number;
  timeline: TimelinePoint[];
  bars: HistogramBar[];
}

export function validateLoadOptions(o: LoadOptions): void {
  assert(Number.isInteger(o.keys) && o.keys >= 1 && o.keys <= KEYS_MAX, 'keys out of range');
  assert(Number.isInteger(o.valueBytes) && o.valueBytes >= 1 && o.valueBytes <= VALUE_BYTES_MAX, 'value bytes out of range');
  assert(Number.isInteger(o.inflight) && o.inflight >= 1 && o.inflight <= INFLIGHT_MAX, 'inflight out of range');
  assert(Number.isInteger(o.connections) && o.connections >= 1 && o.connections <= CONNECTIONS_MAX, 'connections out of range');
  assert(o.getWeight >= 0 && o.setWeight >= 0 && o.incrWeight >= 0 && o.mgetWeight >= 0, 'mix weights are never negative');
  assert(o.getWeight + o.setWeight + o.incrWeight + o.mgetWeight > 0, 'mix needs a positive weight');
  assert(o.ledger === null || o.incrWeight === 0, 'verify checks gets, sets and mgets only');
  assert(Number.isInteger(o.mgetKeys) && o.mgetKeys >= 1 && o.mgetKeys <= MGET_KEYS_MAX, 'mget keys out of range');
  assert(o.durationSec > 0 && o.durationSec <= DURATION_SEC_MAX, 'duration out of range');
  assert(o.warmupSec === undefined || (o.warmupSec >= 0 && o.warmupSec <= DURATION_SEC_MAX), 'warm-up out of range');
  assert(Number.isInteger(o.requestsMax) && o.requestsMax >= 1 && o.requestsMax <= REQUESTS_MAX, 'requests out of range');
  assert(o.ledger === null || o.keys >= o.inflight * o.connections, 'verify needs at least one key per request slot');
}

/** What one load request does. */
const Op = { get: 0, set: 1, incr: 2 } as const;
type OpCode = (typeof Op)[keyof typeof Op];

/** State shared by every worker of one phase. */
class Phase {
  issued = 0;
  completed = 0;
  errors = 0;
  retries = 0;
  readonly errorsByCode: Record<string, number> = {};
  readonly startMs = performance.now();

  constructor(
    readonly store: KvStore,
    readonly opts: LoadOptions,
    readonly keys: readonly string[],
    readonly counters: readonly string[],
    readonly value: string,
    readonly recorder: LatencyRecorder | null,
    readonly stopAtMs: number,
    readonly requestsMax: number,
  ) {}

  /** Claims the next request, if the bounds allow one. */
  take(): boolean {
    if (this.issued >= this.requestsMax || performance.now() >= this.stopAtMs) return false;
    this.issued++;
    return true;
  }

  elapsedSec(): number {
    return (performance.now() - this.startMs) / 1000;
  }

  fraction(): number {
    const byTime = (performance.now() - this.startMs) / (this.stopAtMs - this.startMs);
    return Math.min(1, Math.max(byTime, this.issued / this.requestsMax));
  }

  countError(code: string): void {
    this.errors++;
    this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
  }

  /** After a failed attempt: back off, then re-issue up to `retries` times while the phase lasts. */
  async retry(conn: KvConnection, op: OpCode, key: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await sleep(ERROR_BACKOFF_MS);
      if (attempt > this.opts.retries || performance.now() >= this.stopAtMs) return;
      this.retries++;
      if (await this.once(conn, op, key)) return;
    }
  }

  once(conn: KvConnection, op: OpCode, key: string): Promise<boolean> {
    return op === Op.get ? this.getOnce(conn, key) : op === Op.set ? this.setOnce(conn, key) : this.incrOnce(conn, key);
  }

  /** One request, with its re-issues; latency is recorded for each attempt that succeeds. */
  async execute(conn: KvConnection, op: OpCode, key: string): Promise<void> {
    const ok = await this.once(conn, op, key);
    if (!ok) await this.retry(conn, op, key);
  }

  async incrOnce(conn: KvConnection, key: string): Promise<boolean> {
    const t0 = performance.now();
    try {
      await conn.incr(key);
      this.recorder?.record(performance.now() - t0);
      this.completed++;
      return true;
    } catch (e) {
      this.countError(this.store.errorCode(e));
      return false;
    }
  }

  async getOnce(conn: KvConnection, key: string): Promise<boolean> {
    const t0 = performance.now();
    try {
      const value = await conn.get(key);
      this.recorder?.record(performance.now() - t0);
      this.completed++;
      this.opts.ledger?.onRead(key, value);
      return true;
    } catch (e) {
      this.countError(this.store.errorCode(e));
      return false;
    }
  }

  /** One mget of `keys` (a read: in chaos mode each value is checked like a get's). */
  async mgetOnce(conn: KvConnection, keys: string[]): Promise<boolean> {
    const t0 = performance.now();
    try {
      const values = await conn.mget(keys);
      this.recorder?.record(performance.now() - t0);
      this.completed++;
      const ledger = this.opts.ledger;
      if (ledger) keys.forEach((k, i) => ledger.onRead(k, values[i]));
      return true;
    } catch (e) {
      this.countError(this.store.errorCode(e));
      return false;
    }
  }

  async setOnce(conn: KvConnection, key: string): Promise<boolean> {
    const ledger = this.opts.ledger;
    const next = ledger ? ledger.nextValue() : null;
    const t0 = performance.now();
    try {
      await conn.set(key, next ? next.value : this.value);
      this.recorder?.record(performance.now() - t0);
      this.completed++;
      if (ledger && next) ledger.onAck(key, next.seq);
      return true;
    } catch (e) {
      const code = this.store.errorCode(e);
      this.countError(code);
      if (ledger && next && isIndeterminateCode(code)) ledger.onIndeterminate(key, next.seq);
      return false;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function loadWorker(phase: Phase, conn: KvConnection, w: number, workers: number): Promise<void> {
  const o = phase.opts;
  const rng = new Rng(o.seed + Math.imul(w + 1, 0x9e3779b1));
  const total = o.getWeight + o.setWeight + o.incrWeight + o.mgetWeight;
  const getBelow = o.getWeight / total;
  const setBelow = (o.getWeight + o.setWeight) / total;
  const incrBelow = (o.getWeight + o.setWeight + o.incrWeight) / total;
  const partitioned = o.ledger !== null;
  while (phase.take()) {
    const r = rng.next();
    if (r >= incrBelow && o.mgetWeight > 0) {
      // A batch read of random keys (in chaos mode of this worker's own keys, as for a get).
      const keys = Array.from({ length: o.mgetKeys }, () => phase.keys[pickKey(rng, w, workers, phase.keys.length, partitioned)]!);
      if (!(await phase.mgetOnce(conn, keys))) await sleep(ERROR_BACKOFF_MS);
      continue;
    }
    const op = r < getBelow ? Op.get : r < setBelow ? Op.set : Op.incr;
    const i = pickKey(rng, w, workers, phase.keys.length, partitioned);
    const key = op === Op.incr ? phase.counters[i]! : phase.keys[i]!;
    // The hot path: one attempt inline; only a failure goes through the retry path.
    const ok = await phase.once(conn, op, key);
    if (!ok) await phase.retry(conn, op, key);
  }
}

async function preloadWorker(phase: Phase, conn: KvConnection, w: number, workers: number): Promise<void> {
  for (let i = w; i < phase.keys.length && performance.now() < phase.stopAtMs; i += workers) {
    phase.issued++;
    await phase.execute(conn, Op.set, phase.keys[i]!);
  }
}

type WorkerFn = (phase: Phase, conn: KvConnection, w: number, workers: number) => Promise<void>;

/** Runs C workers per connection until each returns; reports progress meanwhile. */
async function runWorkers(phase: Phase, conns: readonly KvConnection[], fn: WorkerFn, label: LoadProgress['phase'], perConn: number): Promise<void> {
  const workers = conns.length * perConn;
  const report = (): void =>
    phase.opts.onProgress?.({ phase: label, fraction: phase.fraction(), completed: phase.completed, errors: phase.errors, elapsedSec: phase.elapsedSec() });
  const progressTimer = setInterval(report, PROGRESS_INTERVAL_MS);
  // One timeline point per TIMELINE_INTERVAL_MS of the phase; a late timer catches up, and so
  // does the end of the phase (a last tick that came late would otherwise lose its interval).
  let ticks = 0;
  const tickSec = TIMELINE_INTERVAL_MS / 1000;
  const catchUp = (): void => {
    const due = Math.floor(phase.elapsedSec() / tickSec);
    while (ticks < due) phase.recorder!.tick(Math.round(++ticks * TIMELINE_INTERVAL_MS) / 1000);
  };
  const tickTimer = phase.recorder ? setInterval(catchUp, TIMELINE_INTERVAL_MS) : undefined;
  try {
    const all: Promise<void>[] = [];
    for (let w = 0; w < workers; w++) all.push(fn(phase, conns[Math.floor(w / perConn)]!, w, workers));
    await Promise.all(all);
  } finally {
    clearInterval(progressTimer);
    clearInterval(tickTimer);
  }
  if (phase.recorder) {
    catchUp();
    // The last, partial interval (only if it is not a sliver).
    if (phase.elapsedSec() > ticks * tickSec + tickSec / 4) phase.recorder.tick(Math.round(phase.elapsedSec() * 1000) / 1000);
  }
  report();
}

async function openAll(store: KvStore, count: number): Promise<KvConnection[]> {
  const settled = await Promise.allSettled(Array.from({ length: count }, () => store.open()));
  const conns = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await closeAll(conns);
    throw failed.reason;
  }
  return conns;
}

async function closeAll(conns: readonly KvConnection[]): Promise<void> {
  await Promise.allSettled(conns.map((c) => c.close()));
}

/** Requests in flight per connection while preloading, whatever the load's own window. */
const PRELOAD_INFLIGHT = 64;
/** Preload bound: generous, but a dead store cannot hold the preload forever. */
const PRELOAD_SEC_MAX = 600;

export async function runLoad(store: KvStore, opts: LoadOptions): Promise<LoadResult> {
  validateLoadOptions(opts);
  const keys = keyNames(opts.prefix, opts.keys);
  const value = makeValue(opts.valueBytes);
  const conns = await openAll(store, opts.connections);
  try {
    const preloadOpts = { ...opts, retries: Math.max(opts.retries, 2) };
    const counters = opts.incrWeight > 0 ? counterNames(opts.prefix, opts.keys) : [];
    const preload = new Phase(store, preloadOpts, keys, counters, value, null, performance.now() + PRELOAD_SEC_MAX * 1000, keys.length);
    await runWorkers(preload, conns, preloadWorker, 'preload', Math.max(opts.inflight, PRELOAD_INFLIGHT));
    if (preload.completed === 0) throw new Error(`preload of ${keys.length} keys failed: ${JSON.stringify(preload.errorsByCode)}`);
    // Read now: the preload's own time, not counting the timed phase that follows.
    const preloadSec = preload.elapsedSec();
    const warmup = await warmUp(store, opts, conns, keys, counters, value);
    const recorder = new LatencyRecorder();
    opts.onPhaseChange?.('load');
    const phase = new Phase(store, opts, keys, counters, value, recorder, performance.now() + opts.durationSec * 1000, opts.requestsMax);
    await runWorkers(phase, conns, loadWorker, 'load', opts.inflight);
    const elapsedSec = phase.elapsedSec();
    opts.onPhaseChange?.('done');
    const result = { ...resultOf(store.name, phase, recorder, elapsedSec, preloadSec, preload.errors), ...warmup };
    recorder.destroy();
    return result;
  } finally {
    await closeAll(conns);
  }
}

/** The warm-up: the load's own mix for opts.warmupSec (time alone bounds it), nothing recorded. */
async function warmUp(store: KvStore, opts: LoadOptions, conns: readonly KvConnection[], keys: readonly string[], counters: readonly string[], value: string): Promise<{ warmupOps: number; warmupErrors: number }> {
  const sec = opts.warmupSec ?? 0;
  if (sec === 0) return { warmupOps: 0, warmupErrors: 0 };
  const phase = new Phase(store, { ...opts, seed: warmupSeed(opts.seed) }, keys, counters, value, null, performance.now() + sec * 1000, REQUESTS_MAX);
  await runWorkers(phase, conns, loadWorker, 'warmup', opts.inflight);
  return { warmupOps: phase.completed, warmupErrors: phase.errors };
}

function resultOf(target: string, phase: Phase, recorder: LatencyRecorder, elapsedSec: number, preloadSec: number, preloadErrors: number): Omit<LoadResult, 'warmupOps' | 'warmupErrors'> {
  const s = recorder.summary();
  return {
    target,
    ops: phase.completed,
    durationSec: round3(elapsedSec),
    opsPerSec: Math.round(phase.completed / Math.max(elapsedSec, 1e-3)),
    p50Ms: s.p50Ms,
    p99Ms: s.p99Ms,
    p999Ms: s.p999Ms,
    maxMs: s.maxMs,
    meanMs: s.meanMs,
    errors: phase.errors,
    errorsByCode: phase.errorsByCode,
    retries: phase.retries,
    preloadSec: round3(preloadSec),
    preloadErrors,
    timeline: recorder.timeline,
    bars: recorder.bars(),
  };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
