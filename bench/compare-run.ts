// One run of `npm run bench:compare`: one case against one system in one round, in fresh processes
// (its own server and its own load process, both stopped by PID whatever happens); the server's CPU
// is read from /proc over the timed phase only, its RSS around a memory fill.
import type { CaseSpec, LoadPlan, SystemName } from './compare-cases.js';
import type { RunResult } from './compare-load.js';
import { processCpuSec, processRssBytes, startLoad, startServer, stopServer, type LoadProc, type Server } from './compare-procs.js';

/** Preloads of 1M keys (or a memory fill) take a while on a busy machine; a dead server does not hold the run forever (the warm-up comes on top). */
const PRELOAD_TIMEOUT_MS = 600_000;
/** The timed phase may overrun its duration by this much (requests in flight at the end, a slow machine). */
const TIMED_SLACK_MS = 60_000;

export interface RunRecord {
  case: string;
  system: SystemName;
  round: number;
  ok: boolean;
  /** Why the run failed (ok false). */
  error?: string;
  serverPid: number;
  loadPid: number;
  /** Requests (batch cases: batches) completed in the timed phase. */
  ops: number;
  durationSec: number;
  opsPerSec: number;
  /** Value bytes moved per second (opsPerSec x value size; batches: x 100 keys; incr: 0). */
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU of the server process per request over the timed phase, microseconds (/proc/<pid>/stat). */
  serverCpuUsPerOp: number;
  /** CPU of the load process per request over the timed phase, microseconds (process.cpuUsage). */
  loadCpuUsPerOp: number;
  preloadSec: number;
  /** Memory cases: the server's RSS growth per item over the fill, and its own figure per item. */
  rssBytesPerItem?: number;
  statsBytesPerItem?: number;
}

function expectEvent(msg: Record<string, unknown> | null, event: string): Record<string, unknown> {
  if (msg === null) throw new Error(`the load process exited before '${event}'`);
  if (msg['event'] === 'error') throw new Error(`load process: ${String(msg['message'])}`);
  if (msg['event'] !== event) throw new Error(`the load process said '${String(msg['event'])}', expected '${event}'`);
  return msg;
}

/** How long one run's timed phase lasts, and the warm-up before it (as its load process is told). */
export type RunTimes = Pick<LoadPlan, 'durationSec' | 'warmupSec'>;

async function timed(spec: CaseSpec, server: Server, load: LoadProc, { durationSec, warmupSec }: RunTimes): Promise<Partial<RunRecord>> {
  // The warm-up may overrun its time as the timed phase may (requests in flight at its end).
  expectEvent(await load.next(PRELOAD_TIMEOUT_MS + warmupSec * 1000 + TIMED_SLACK_MS), 'timed-start');
  const cpu0 = processCpuSec(server.pid);
  expectEvent(await load.next(durationSec * 1000 + TIMED_SLACK_MS), 'timed-end');
  const cpu1 = processCpuSec(server.pid);
  const r = expectEvent(await load.next(TIMED_SLACK_MS), 'result') as unknown as RunResult;
  const ops = Math.max(r.ops, 1);
  const bytesPerOp = spec.op === 'incr' ? 0 : spec.valueBytes * (spec.kind === 'batch' ? 100 : 1);
  return {
    ops: r.ops,
    durationSec: r.durationSec,
    opsPerSec: r.opsPerSec,
    mbPerSec: (r.opsPerSec * bytesPerOp) / 1e6,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errors,
    serverCpuUsPerOp: ((cpu1 - cpu0) * 1e6) / ops,
    loadCpuUsPerOp: r.loadCpuUs / ops,
    preloadSec: r.preloadSec,
  };
}

async function memory(server: Server, load: LoadProc): Promise<Partial<RunRecord>> {
  expectEvent(await load.next(PRELOAD_TIMEOUT_MS), 'connected');
  const rss0 = processRssBytes(server.pid);
  load.send('go');
  const r = expectEvent(await load.next(PRELOAD_TIMEOUT_MS), 'result') as unknown as RunResult;
  const rss1 = processRssBytes(server.pid);
  const items = Math.max(r.items ?? 0, 1);
  return {
    ops: r.ops,
    durationSec: r.durationSec,
    errors: r.errors,
    preloadSec: r.preloadSec,
    rssBytesPerItem: (rss1 - rss0) / items,
    statsBytesPerItem: (r.statsBytes ?? NaN) / items,
  };
}

export async function runOne(spec: CaseSpec, system: SystemName, round: number, times: RunTimes, seed: number): Promise<RunRecord> {
  const record: RunRecord = {
    case: spec.name, system, round, ok: false, serverPid: 0, loadPid: 0, ops: 0, durationSec: 0, opsPerSec: 0, mbPerSec: 0,
    p50Ms: 0, p99Ms: 0, errors: 0, serverCpuUsPerOp: 0, loadCpuUsPerOp: 0, preloadSec: 0,
  };
  let server: Server | null = null;
  let load: LoadProc | null = null;
  try {
    server = await startServer(system);
    record.serverPid = server.pid;
    const plan: LoadPlan = { system, addr: server.addr, spec, ...times, seed };
    load = startLoad(JSON.stringify(plan));
    record.loadPid = load.pid;
    Object.assign(record, spec.kind === 'memory' ? await memory(server, load) : await timed(spec, server, load, times));
    record.ok = true;
  } catch (e) {
    record.error = e instanceof Error ? e.message : String(e);
  } finally {
    if (load) await load.stop();
    if (server) await stopServer(server);
  }
  return record;
}
