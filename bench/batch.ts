// `npm run bench:batch`: 100-key batches, ours beside Redis. Starts one OpenCluster node and a
// redis-server on loopback, then times, in alternating rounds: our mset of 100 keys against an ioredis
// pipeline() of 100 SETs, and our mget of 100 keys against an ioredis pipeline() of 100 GETs and
// against one MGET of 100 keys, at 1 and at 8 batches in flight. Prints batches/s, keys/s, p50/p99
// per batch and the server's CPU per batch (node and redis-server, from /proc); stops both by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { connectCluster } from '../src/gamut/target.js';
import { Rng } from '../src/gamut/workload.js';
import { processCpuSec, startBenchNode, stopAllBenchNodes } from './node-proc.js';

const BATCH_KEYS = 100;
const KEYS = 10_000;
const VALUE = 'v'.repeat(100);
const START_WAIT_MS = 15_000;

interface RedisLike {
  set(k: string, v: string): Promise<unknown>;
  mget(...keys: string[]): Promise<unknown[]>;
  pipeline(): { set(k: string, v: string): unknown; get(k: string): unknown; exec(): Promise<unknown> };
  connect(): Promise<void>;
  quit(): Promise<unknown>;
}

type BatchFn = (keys: string[]) => Promise<unknown>;

interface Figures {
  batchesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU of the server process (node or redis-server) per batch, in microseconds. */
  serverUsPerBatch: number;
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** `inflight` loops issuing one batch after another for durationSec; latency of each batch; the CPU of process `serverPid`. */
async function measure(fn: BatchFn, inflight: number, durationSec: number, seed: number, serverPid: number): Promise<Figures> {
  const stopAt = performance.now() + durationSec * 1000;
  const lat: number[] = [];
  const rng = new Rng(seed);
  const rnd = (): number => Math.floor(rng.next() * KEYS);
  const cpu0 = processCpuSec(serverPid);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < stopAt) {
        const keys = Array.from({ length: BATCH_KEYS }, () => `bb:${rnd()}`);
        const s = performance.now();
        await fn(keys);
        lat.push(performance.now() - s);
      }
    }),
  );
  const sec = (performance.now() - t0) / 1000;
  const serverUsPerBatch = ((processCpuSec(serverPid) - cpu0) * 1e6) / Math.max(1, lat.length);
  lat.sort((a, b) => a - b);
  return { batchesPerSec: lat.length / sec, p50Ms: pct(lat, 50), p99Ms: pct(lat, 99), serverUsPerBatch };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function startRedis(port: number): Promise<{ proc: ChildProcess; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'oc-bench-redis-'));
  const proc = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  return { proc, dir };
}

async function redisClient(port: number): Promise<RedisLike> {
  const specifier = 'ioredis';
  const mod = (await import(specifier)) as { Redis?: unknown; default?: unknown };
  const Ctor = (typeof mod.Redis === 'function' ? mod.Redis : mod.default) as new (o: object) => RedisLike;
  const deadline = Date.now() + START_WAIT_MS;
  for (;;) {
    const c = new Ctor({ host: '127.0.0.1', port, lazyConnect: true, enableAutoPipelining: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    try {
      await c.connect();
      return c;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: 'string' }, rounds: { type: 'string' }, 'redis-port': { type: 'string' } } });
  const durationSec = Number(values.duration ?? '3');
  const rounds = Number(values.rounds ?? '3');
  const port = Number(values['redis-port'] ?? '16380');
  const node = await startBenchNode();
  const redis = await startRedis(port);
  try {
    const ours = await connectCluster({ seed: node.addr, requestTimeoutMs: 5000, connectTimeoutMs: 5000, access: {} });
    const r = await redisClient(port);
    const all = Array.from({ length: KEYS }, (_, i) => `bb:${i}`);
    for (let i = 0; i < KEYS; i += 1000) await ours.mset(all.slice(i, i + 1000).map((k) => [k, VALUE] as const));
    for (let i = 0; i < KEYS; i += 1000) {
      const p = r.pipeline();
      for (const k of all.slice(i, i + 1000)) p.set(k, VALUE);
      await p.exec();
    }
    const cases: { name: string; ours: BatchFn; redis: BatchFn }[] = [
      {
        name: 'set 100',
        ours: (keys) => ours.mset(keys.map((k) => [k, VALUE] as const)),
        redis: (keys) => {
          const p = r.pipeline();
          for (const k of keys) p.set(k, VALUE);
          return p.exec();
        },
      },
      {
        name: 'get 100 vs pipeline',
        ours: (keys) => ours.mget(keys),
        redis: (keys) => {
          const p = r.pipeline();
          for (const k of keys) p.get(k);
          return p.exec();
        },
      },
      { name: 'get 100 vs MGET', ours: (keys) => ours.mget(keys), redis: (keys) => r.mget(...keys) },
    ];
    const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? 'unknown CPU';
    console.log(`machine: ${process.platform} ${process.arch}, ${cpu}; node ${process.version}`);
    console.log(`load:    batches of ${BATCH_KEYS} random keys of ${KEYS}, 100-byte values, one connection each, ${durationSec} s per round, ${rounds} rounds alternating`);
    console.log('ours: mset / mget of 100 keys; redis: ioredis pipeline() of 100 SETs / pipeline() of 100 GETs / one MGET of 100 keys\n');
    const rows: string[][] = [['case', 'ours batches/s', 'redis batches/s', 'ratio', 'ours keys/s', 'ours p50 ms', 'redis p50 ms', 'ours p99 ms', 'redis p99 ms', 'node us/batch', 'redis us/batch']];
    for (const inflight of [1, 8]) {
      for (const c of cases) {
        const o: Figures[] = [];
        const rr: Figures[] = [];
        for (let i = 0; i < rounds; i++) {
          o.push(await measure(c.ours, inflight, durationSec, i + 1, node.proc.pid!));
          rr.push(await measure(c.redis, inflight, durationSec, i + 1, redis.proc.pid!));
        }
        const ob = median(o.map((f) => f.batchesPerSec));
        const rb = median(rr.map((f) => f.batchesPerSec));
        rows.push([
          `${c.name} x${inflight}`,
          Math.round(ob).toLocaleString('en-US'),
          Math.round(rb).toLocaleString('en-US'),
          (ob / rb).toFixed(2),
          Math.round(ob * BATCH_KEYS).toLocaleString('en-US'),
          median(o.map((f) => f.p50Ms)).toFixed(3),
          median(rr.map((f) => f.p50Ms)).toFixed(3),
          median(o.map((f) => f.p99Ms)).toFixed(3),
          median(rr.map((f) => f.p99Ms)).toFixed(3),
          median(o.map((f) => f.serverUsPerBatch)).toFixed(0),
          median(rr.map((f) => f.serverUsPerBatch)).toFixed(0),
        ]);
      }
    }
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    for (const row of rows) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(w[i]!) : cell.padStart(w[i]!))).join('  '));
    console.log('\nmedians over rounds; ratio = ours / redis batches per second (above 1: ours faster); us/batch: the server process\'s CPU (user + system, /proc) per batch');
    await ours.close();
    await r.quit();
  } finally {
    redis.proc.kill('SIGTERM');
    await new Promise((resolve) => (redis.proc.exitCode !== null ? resolve(undefined) : redis.proc.once('exit', resolve)));
    rmSync(redis.dir, { recursive: true, force: true });
    await stopAllBenchNodes();
  }
}

await main();
