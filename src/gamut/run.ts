// gamut end to end: the feature check, then the load rounds (ours, and Redis alternating when asked),
// chaos-mode verification, cleanup of every key, and the text / JSON / HTML outputs.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Cluster } from '../index.js';
import { checkFailed, checkTable, runCheck, type CheckResult } from './check.js';
import { runLoad, type LoadOptions, type LoadResult } from './load.js';
import { counterNames, keyNames } from './workload.js';
import { mixDescription, mixText } from './mix.js';
import { progressBar } from './progress.js';
import { redisStore } from './redis.js';
import { renderReport, type ReportTarget } from './report.js';
import { clusterFacts, machineFacts, type ClusterFacts } from './environment.js';
import { aggregate, loadTable, medianRound, ratioOf, type Aggregate, type Ratio } from './summary.js';
import { connectCluster, oursStore, type ClusterAccessOptions, type KvStore, type OursOptions } from './target.js';
import { Ledger, type ReadOutcome, type VerifyReport } from './verify.js';

export interface GamutOptions extends Pick<LoadOptions, 'keys' | 'valueBytes' | 'inflight' | 'connections' | 'getWeight' | 'setWeight' | 'incrWeight' | 'mgetWeight' | 'mgetKeys' | 'durationSec' | 'requestsMax'> {
  /** Seconds of the same load before each round, not counted (0: none). */
  warmupSec: number;
  /** Seed node, canonical "host:port". */
  cluster: string;
  compareRedis: string | null;
  rounds: number;
  json: boolean;
  skipCheck: boolean;
  skipLoad: boolean;
  report: string | null;
  verify: boolean;
  requestTimeoutMs: number;
  retries: number;
  seed: number;
  /** How the clients reach the cluster beyond its address: a login, TLS. */
  access: ClusterAccessOptions;
  /** Which round limits were given (--duration, --requests): the report shows only those, or the default duration. */
  limitsGiven: { duration: boolean; requests: boolean };
}

export interface GamutOutput {
  settings: Record<string, string | number | boolean>;
  check: CheckResult[];
  load?: { ours: Aggregate; redis?: Aggregate; ratio?: Ratio };
  verify?: VerifyReport;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
const CONNECT_TIMEOUT_MS = 5000;
const VERIFY_READ_ATTEMPTS = 5;
const VERIFY_RETRY_DELAY_MS = 200;
const VERIFY_WINDOW = 256;

function say(o: GamutOptions, text: string): void {
  if (!o.json) process.stdout.write(`${text}\n`);
}

function settingsOf(o: GamutOptions, prefix: string): GamutOutput['settings'] {
  const s: GamutOutput['settings'] = {
    cluster: o.cluster,
    prefix,
    keys: o.keys,
    valueBytes: o.valueBytes,
    inflight: o.inflight,
    connections: o.connections,
    mix: mixText(o),
    durationSec: o.durationSec,
    warmupSec: o.warmupSec,
    requestsMax: o.requestsMax,
    rounds: o.rounds,
    verify: o.verify,
  };
  if (o.compareRedis) s['compareRedis'] = o.compareRedis;
  return s;
}

/** Runs everything gamut was asked for; returns the exit code (0 ok, 1 a check failed or writes were lost). */
export async function runGamut(o: GamutOptions): Promise<number> {
  const prefix = `gamut:${randomBytes(4).toString('hex')}:`;
  const oursOpts: OursOptions = { seed: o.cluster, requestTimeoutMs: o.requestTimeoutMs, connectTimeoutMs: CONNECT_TIMEOUT_MS, access: o.access };
  const redis = o.compareRedis && !o.skipLoad ? await redisStore(o.compareRedis) : null;
  if (redis) await (await redis.open()).close(); // an unreachable Redis fails now, not after the check
  const control = await connectCluster(oursOpts);
  const output: GamutOutput = { settings: settingsOf(o, prefix), check: [] };
  say(o, `gamut: cluster ${o.cluster} (${control.nodes().length} node(s) known), key prefix ${prefix}`);
  let loads: Map<string, LoadResult[]> | null = null;
  let facts: ClusterFacts | null = null;
  try {
    if (o.report) facts = await clusterFacts(control);
    if (!o.skipCheck) output.check = await checkPhase(o, control, prefix);
    if (!o.skipLoad) {
      const ledger = o.verify ? new Ledger(o.valueBytes) : null;
      loads = await loadPhase(o, oursOpts, redis, `${prefix}load:`, ledger);
      output.load = summarize(o, loads);
      if (ledger) output.verify = await verifyPhase(o, control, ledger, `${prefix}load:`);
    }
  } finally {
    await control.close().catch(() => undefined);
  }
  if (o.json) process.stdout.write(`${JSON.stringify(output)}\n`);
  if (o.report) writeReport(o, output, loads, facts);
  const lost = output.verify ? output.verify.lost + output.verify.unreadable : 0;
  return checkFailed(output.check) || lost > 0 ? EXIT_FAILED : EXIT_OK;
}

async function checkPhase(o: GamutOptions, cluster: Cluster, prefix: string): Promise<CheckResult[]> {
  say(o, '\n== feature check ==');
  const results = await runCheck(cluster, { prefix: `${prefix}check:` });
  say(o, checkTable(results));
  return results;
}

function loadOptions(o: GamutOptions, prefix: string, round: number, ledger: Ledger | null): LoadOptions {
  return {
    keys: o.keys,
    valueBytes: o.valueBytes,
    inflight: o.inflight,
    connections: o.connections,
    getWeight: o.getWeight,
    setWeight: o.setWeight,
    incrWeight: o.incrWeight,
    mgetWeight: o.mgetWeight,
    mgetKeys: o.mgetKeys,
    durationSec: o.durationSec,
    warmupSec: o.warmupSec,
    requestsMax: o.requestsMax,
    prefix,
    seed: o.seed + round,
    retries: o.retries,
    ledger,
  };
}

async function runOne(o: GamutOptions, store: KvStore, prefix: string, round: number, ledger: Ledger | null): Promise<LoadResult> {
  const label = `${store.name} ${round + 1}/${o.rounds}`;
  const bar = progressBar(label, !o.json);
  const opts: LoadOptions = { ...loadOptions(o, prefix, round, ledger), onProgress: (p) => bar.update(p) };
  try {
    return await runLoad(store, opts);
  } finally {
    bar.stop();
  }
}

async function loadPhase(o: GamutOptions, oursOpts: OursOptions, redis: KvStore | null, prefix: string, ledger: Ledger | null): Promise<Map<string, LoadResult[]>> {
  const mix = mixDescription(o);
  say(o, `\n== load: ${o.keys} keys, ${o.valueBytes} B values, ${o.connections} connection(s) x ${o.inflight} in flight, ${mix}, ${o.durationSec} s or ${o.requestsMax} requests${o.warmupSec > 0 ? ` after ${o.warmupSec} s of warm-up` : ''} ==`);
  const stores: KvStore[] = [oursStore(oursOpts)];
  if (redis) stores.push(redis);
  const results = new Map<string, LoadResult[]>(stores.map((s) => [s.name, []]));
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const store of stores) {
        const r = await runOne(o, store, prefix, round, store.name === 'ours' ? ledger : null);
        results.get(store.name)!.push(r);
        say(o, `round ${round + 1}/${o.rounds} ${store.name}: ${r.opsPerSec.toLocaleString('en-US')} ops/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, errors ${r.errors}`);
      }
    }
  } finally {
    if (!ledger) await cleanupStores(o, stores, [...keyNames(prefix, o.keys), ...(o.incrWeight > 0 ? counterNames(prefix, o.keys) : [])]);
  }
  return results;
}

async function cleanupStores(o: GamutOptions, stores: readonly KvStore[], keys: readonly string[]): Promise<void> {
  for (const s of stores) {
    try {
      await s.deleteKeys(keys);
    } catch (e) {
      process.stderr.write(`gamut: cleanup of ${keys.length} ${s.name} keys failed: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  say(o, `deleted the ${keys.length} load keys${stores.length > 1 ? ' from both stores' : ''}`);
}

function summarize(o: GamutOptions, loads: Map<string, LoadResult[]>): NonNullable<GamutOutput['load']> {
  const ours = aggregate(loads.get('ours')!);
  const redisResults = loads.get('redis');
  const out: NonNullable<GamutOutput['load']> = { ours };
  if (redisResults && redisResults.length > 0) {
    out.redis = aggregate(redisResults);
    out.ratio = ratioOf(ours, out.redis);
  }
  say(o, `\n${loadTable(ours, out.redis, out.ratio)}`);
  for (const [name, a] of [['ours', ours], ['redis', out.redis]] as const) {
    if (a && Object.keys(a.errorsByCode).length > 0) say(o, `${name} errors by code: ${JSON.stringify(a.errorsByCode)}`);
  }
  if (out.ratio) say(o, 'ratio = ours / redis (ops/s: higher is better for ours; latencies: lower is better for ours)');
  return out;
}

async function readBack(cluster: Cluster, key: string): Promise<ReadOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, value: await cluster.get(key) };
    } catch {
      if (attempt >= VERIFY_READ_ATTEMPTS) return { ok: false };
      await new Promise((r) => setTimeout(r, VERIFY_RETRY_DELAY_MS));
    }
  }
}

async function verifyPhase(o: GamutOptions, cluster: Cluster, ledger: Ledger, prefix: string): Promise<VerifyReport> {
  say(o, '\n== verify ==');
  const report = await ledger.finalCheck((key) => readBack(cluster, key), VERIFY_WINDOW);
  say(o, `read back ${report.checked} keys: lost ${report.lost}, stale reads ${report.stale}, indeterminate writes ${report.indeterminate} (found applied ${report.indeterminateApplied}), unreadable ${report.unreadable}, acknowledged writes ${report.acked}`);
  for (const line of report.lostSample) say(o, `  lost: ${line}`);
  await cleanupStores(o, [oursStore({ seed: o.cluster, requestTimeoutMs: o.requestTimeoutMs, connectTimeoutMs: CONNECT_TIMEOUT_MS, access: o.access })], keyNames(prefix, o.keys));
  return report;
}

/** The settings as the report shows them: readable names, only those given or that shape the figures. */
export function reportSettings(o: GamutOptions): [string, string][] {
  const rows: [string, string][] = [['cluster', o.cluster]];
  if (o.compareRedis) rows.push(['compared with Redis at', o.compareRedis]);
  if (o.skipLoad) return rows;
  rows.push(['keys', o.keys.toLocaleString('en-US')], ['value size', `${o.valueBytes} B`], ['connections', String(o.connections)], ['requests in flight per connection', String(o.inflight)], ['mix', mixDescription(o)]);
  const limits: string[] = [];
  if (o.limitsGiven.duration || !o.limitsGiven.requests) limits.push(`${o.durationSec} s`);
  if (o.limitsGiven.requests) limits.push(`${o.requestsMax.toLocaleString('en-US')} requests`);
  rows.push(['each round runs', limits.join(' or ')], ['rounds', String(o.rounds)]);
  if (o.warmupSec > 0) rows.push(['warm-up before each round (not counted)', `${o.warmupSec} s`]);
  if (o.verify) rows.push(['verify (read every key back)', 'on']);
  return rows;
}

function writeReport(o: GamutOptions, output: GamutOutput, loads: Map<string, LoadResult[]> | null, cluster: ClusterFacts | null): void {
  const targets: ReportTarget[] = [];
  const aggregates: Record<string, Aggregate | undefined> = { ours: output.load?.ours, redis: output.load?.redis };
  for (const [name, results] of loads ?? []) {
    const mid = medianRound(results);
    const agg = aggregates[name];
    if (mid && agg) targets.push({ name, aggregate: agg, rounds: results.map((r) => r.timeline), bars: mid.bars });
  }
  const html = renderReport({
    title: `gamut report: ${o.cluster}`,
    generatedAt: new Date().toISOString(),
    settings: reportSettings(o),
    cluster,
    machine: machineFacts(),
    check: o.skipCheck ? null : output.check,
    targets,
    ratio: output.load?.ratio ?? null,
  });
  writeFileSync(o.report!, html);
  say(o, `report written to ${o.report}`);
}
