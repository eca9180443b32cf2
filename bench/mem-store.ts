// Memory per item and the node's own memory figure against RSS (issue 12, helper S): one fresh node
// (or redis-server) per run, preloaded through the client; RSS from /proc/<pid>/status before and
// after, stats `memory.used` beside it; optionally churn (overwrite, delete, expiry) and a 10k-key
// set load (node CPU per set) after the preload. Prints one JSON line per run (bench/notes-S.md).
//   node dist/bench/mem-store.js --target ours|redis --items N [--value-bytes B] [--churn]
//     [--load-sec S] [--warmup-sec S] [--cli dist/src/cli/main.js of another build]
//     [--port P for redis] [--prof-dir DIR: the node writes a --cpu-prof profile there]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Cluster } from '../src/index.js';
import { CLI_PATH, processCpuSec } from './node-proc.js';

const BATCH = 500;
const WINDOW = 8;
const HOT_KEYS = 10_000;
const INFLIGHT = 50;
const SETTLE_MS = 3000;
const START_TIMEOUT_MS = 15_000;

const { values: a } = parseArgs({
  options: {
    target: { type: 'string', default: 'ours' },
    items: { type: 'string', default: '1000000' },
    'value-bytes': { type: 'string', default: '100' },
    churn: { type: 'boolean', default: false },
    'load-sec': { type: 'string', default: '0' },
    'warmup-sec': { type: 'string', default: '3' },
    cli: { type: 'string', default: CLI_PATH },
    port: { type: 'string', default: '6399' },
    'prof-dir': { type: 'string' },
  },
});
const items = Number(a.items);
const valueBytes = Number(a['value-bytes']);
const loadSec = Number(a['load-sec']);
if (!(items >= 0 && items <= 50_000_000 && valueBytes >= 1 && valueBytes <= 1 << 20 && loadSec >= 0 && loadSec <= 600)) throw new Error('bad arguments');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const keyOf = (i: number): string => `key:${i}`;
function valueOf(i: number, round: number): string {
  const head = `${round}:${i}:`;
  return head + 'x'.repeat(Math.max(0, valueBytes - head.length));
}

interface Target {
  pid: number;
  mset(ids: number[], round: number, expiresSec?: number): Promise<void>;
  mdelete(keys: string[]): Promise<void>;
  set(key: string, value: string): Promise<unknown>;
  /** The store's own figure of its memory (ours: memory.used; Redis: used_memory), and its items. */
  figure(): Promise<{ usedBytes: number; items: number; heap?: number[] }>;
  /** Reads the keys (ours: a lazy expiry of what the bounded sweep has not reached yet). */
  mget(keys: string[]): Promise<void>;
  stop(): Promise<void>;
}

async function ours(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'oc-mem-'));
  const prof = a['prof-dir'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', a['prof-dir']];
  const proc = spawn(process.execPath, [...prof, a.cli!, 'serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const addr = await listening(proc);
  const cluster = new Cluster({ seeds: [addr], requestTimeoutMs: 30_000 });
  await cluster.connect();
  return {
    pid: proc.pid!,
    mset: (ids, round, expiresSec) => cluster.mset(ids.map((i) => [keyOf(i), valueOf(i, round)] as const), expiresSec === undefined ? {} : { expiresSec }),
    mdelete: async (keys) => void (await cluster.mdelete(keys)),
    set: (k, v) => cluster.set(k, v),
    mget: async (keys) => void (await cluster.mget(keys)),
    figure: async () => {
      const [doc] = await cluster.stats();
      const mem = doc!['memory'] as { used: number; heapUsed: number; heapTotal: number; external: number };
      return { usedBytes: mem.used, items: doc!['items'] as number, heap: [mem.heapUsed, mem.heapTotal, mem.external].map((n) => Math.round(n / 2 ** 20)) };
    },
    stop: async () => {
      await cluster.close();
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGINT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function redis(): Promise<Target> {
  const port = Number(a.port);
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('redis did not start')), START_TIMEOUT_MS);
    createInterface({ input: proc.stdout! }).on('line', (l) => l.includes('Ready to accept') && (clearTimeout(t), resolve()));
  });
  const r = new Redis({ port, host: '127.0.0.1', enableAutoPipelining: true });
  return {
    pid: proc.pid!,
    mset: async (ids, round, expiresSec) => {
      const p = r.pipeline();
      for (const i of ids) {
        if (expiresSec === undefined) p.set(keyOf(i), valueOf(i, round));
        else p.set(keyOf(i), valueOf(i, round), 'EX', expiresSec);
      }
      await p.exec();
    },
    mdelete: async (keys) => void (await r.del(...keys)),
    set: (k, v) => r.set(k, v),
    mget: async (keys) => void (await r.mget(...keys)),
    figure: async () => {
      const info = await r.info('memory');
      const keys = await r.dbsize();
      return { usedBytes: Number(/used_memory:(\d+)/.exec(info)![1]), items: keys };
    },
    stop: async () => {
      r.disconnect();
      const exited = new Promise((res) => proc.once('exit', res));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}

function listening(proc: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('node did not start')), START_TIMEOUT_MS);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const j = JSON.parse(line) as { msg?: string; addr?: string };
        if (j.msg === 'listening' && typeof j.addr === 'string') {
          clearTimeout(t);
          resolve(j.addr);
        }
      } catch {
        /* not JSON */
      }
    });
  });
}

/** Calls fn on batches [from, to) of BATCH keys, WINDOW batches at once. */
async function batches(from: number, to: number, fn: (f: number, t: number) => Promise<void>): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const f = next;
      next = Math.min(to, next + BATCH);
      await fn(f, next);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
}

async function main(): Promise<void> {
  const t = a.target === 'redis' ? await redis() : await ours();
  try {
    // The 10k-key set load first, so that what serving costs by itself (V8's young generation
    // grown to its working size, socket buffers) is in the baseline, not in the items' figure.
    if (Number(a['warmup-sec']) > 0) await load(t, Number(a['warmup-sec']));
    await sleep(SETTLE_MS);
    const rss0 = rssOf(t.pid);
    const f0 = await t.figure();
    const out: Record<string, unknown> = { target: a.target, cli: a.target === 'ours' ? a.cli : undefined, items, valueBytes, rss0 };
    const measure = async (phase: string, itemsNow: number): Promise<void> => {
      await sleep(SETTLE_MS);
      const rss = rssOf(t.pid);
      const f = await t.figure();
      const rssGrowth = rss - rss0;
      const figGrowth = f.usedBytes - f0.usedBytes;
      out[phase] = { items: f.items, rssPerItem: Math.round(rssGrowth / itemsNow), figurePerItem: Math.round(figGrowth / itemsNow), figureOverRss: Number((figGrowth / rssGrowth).toFixed(3)), rssMiB: Math.round(rss / 2 ** 20), heapUsedTotalExtMiB: f.heap };
    };
    const t0 = Date.now();
    await batches(0, items, (f, to) => t.mset(range(f, to), 0));
    out['preloadSec'] = (Date.now() - t0) / 1000;
    await measure('fill', items);
    if (a.churn) {
      await batches(0, items, (f, to) => t.mset(range(f, to), 1));
      await measure('overwrite', items);
      await batches(0, items / 2, async (f, to) => t.mdelete(range(f, to).map((i) => keyOf(i * 2))));
      await measure('delete', items / 2);
      // The deleted keys again, half of them, with a 1 s expiry; measured once the node has expired them.
      await batches(0, items / 4, (f, to) => t.mset(range(f, to).map((i) => i * 2), 2, 1));
      await sleep(2000);
      await batches(0, items / 4, (f, to) => t.mget(range(f, to).map((i) => keyOf(i * 2))));
      await measure('expired', items / 2);
    }
    if (loadSec > 0) {
      // Twice: the first window may still pay for the collection of the preload's garbage.
      out['load'] = await load(t, loadSec);
      out['load2'] = await load(t, loadSec);
    }
    console.log(JSON.stringify(out));
  } finally {
    await t.stop();
  }
}

/** Sets of 100-byte values over HOT_KEYS keys, INFLIGHT at once, for loadSec: sets/s and node CPU per set. */
async function load(t: Target, sec: number): Promise<Record<string, number>> {
  const v = 'y'.repeat(100);
  let sets = 0;
  const cpu0 = processCpuSec(t.pid);
  const start = Date.now();
  const end = start + sec * 1000;
  const worker = async (w: number): Promise<void> => {
    let i = w;
    while (Date.now() < end) {
      await t.set(`hot:${i % HOT_KEYS}`, v);
      sets++;
      i += INFLIGHT;
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, (_, w) => worker(w)));
  const tookSec = (Date.now() - start) / 1000;
  const cpu = processCpuSec(t.pid) - cpu0;
  return { setsPerSec: Math.round(sets / tookSec), nodeCpuUsPerSet: Number(((cpu * 1e6) / sets).toFixed(2)) };
}

await main();
