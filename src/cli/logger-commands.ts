// The CLI of the logging node and its tools: `logger` (run a logging node), `compact` (logs to
// the last state of every key) and `inject` (logs, compacted or save files into a running cluster).
import { Command, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import type { Logger } from 'pino';
import { createLogger } from '../server/log.js';
import { logFormat } from './serve.js';
import { addConfigSources, printConfig } from './config.js';
import { ClusterError, type Cluster, type ClusterValue } from '../index.js';
import { compactFiles, isExpired, loadFiles } from '../logger/compact.js';
import type { TornReport } from '../logger/log-reader.js';
import type { GapReport } from '../logger/bucket-history.js';
import { CLUSTER_SECRET_HELP, loadClusterSecret } from './secrets.js';
import { startLogger, type LoggerNode } from '../logger/logger-node.js';
import { DEFAULT_MAX_FILE_MB, FSYNC_POLICIES, type FsyncPolicy } from '../logger/log-writer.js';
import type { Item } from '../protocol/messages/node.js';
import { AddressError, normalizeAddress } from '../shared/address.js';
import { DEFAULT_PORT } from '../shared/limits.js';
import { EXPIRES_SEC_MAX, UsageError } from './args.js';
import { EXIT_OK, EXIT_USAGE, errorMessage, oneLine, printError, printJson, printLine } from './output.js';
import { addClusterAccessOptions, finish, runCommand } from './session.js';
import { addNodeTlsOptions, parseNodeTls, type TlsFlags } from './tls-flags.js';
import type { TlsMaterial } from '../net/tls-material.js';

/** inject: some items could not be loaded (the others were). */
export const EXIT_PARTIAL = 1;
/** inject: requests in flight at once. */
const INJECT_WINDOW = 128;
/** inject: item errors printed one by one, at most; the rest are only counted. */
const INJECT_ERRORS_SHOWN = 5;

export function registerLoggerCommands(program: Command): void {
  registerLogger(program);
  registerCompact(program);
  registerInject(program);
}

// ---- logger ----

interface LoggerCliOptions extends TlsFlags {
  cluster?: string[];
  /** The older name of --cluster, kept as an alias. */
  node?: string[];
  dir: string;
  maxFileMb: string;
  fsync: string;
  logLevel: string;
  logFormat?: string;
  clusterSecretFile?: string;
  printConfig?: boolean;
}

function registerLogger(program: Command): void {
  const cmd = program
    .command('logger')
    .description('run a logging node: subscribe to every node of the cluster and append every update to files in DIR')
    .option('--cluster <host:port>', 'a node of the cluster (repeat for more)', collect)
    .option('--node <host:port>', 'the same as --cluster (its older name; repeatable, and may be mixed with it)', collect)
    .requiredOption('--dir <dir>', 'directory of the log files (oc-000001.log, ...)')
    .option('--max-file-mb <n>', 'start a new file past this size', String(DEFAULT_MAX_FILE_MB))
    .addOption(new Option('--fsync <policy>', 'fsync after every write, every second, or never').choices(FSYNC_POLICIES).default('interval'))
    .option('--log-level <level>', 'debug|info|warn|error', 'info')
    .option('--log-format <format>', 'pretty (one readable line per entry) or json (default: pretty on a terminal, json otherwise)')
    .option('--cluster-secret-file <file>', CLUSTER_SECRET_HELP);
  addConfigSources(addNodeTlsOptions(cmd)).action((opts: LoggerCliOptions) => (opts.printConfig === true ? printConfig(cmd) : runLogger(opts)));
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseLoggerOptions(opts: LoggerCliOptions): { nodes: string[]; maxFileMb: number; fsync: FsyncPolicy; clusterSecret: Buffer; tls: TlsMaterial | undefined } {
  const given = [...(opts.cluster ?? []).map((a) => ['--cluster', a] as const), ...(opts.node ?? []).map((a) => ['--node', a] as const)];
  if (given.length === 0) throw new UsageError('--cluster HOST:PORT is required (a node of the cluster; repeat for more)');
  const nodes = [...new Set(given.map(([option, a]) => parseNodeAddress(option, a)))];
  const maxFileMb = Number(opts.maxFileMb);
  if (!Number.isInteger(maxFileMb) || maxFileMb < 1 || maxFileMb > 1024 * 1024) throw new UsageError(`--max-file-mb must be a whole number of MiB (1 or more), not "${opts.maxFileMb}"`);
  const fsync = FSYNC_POLICIES.find((p) => p === opts.fsync);
  if (fsync === undefined) throw new UsageError(`--fsync must be one of ${FSYNC_POLICIES.join('|')}`);
  const tls = parseNodeTls(opts);
  const { secret: clusterSecret } = loadClusterSecret(opts.clusterSecretFile);
  return { nodes, maxFileMb, fsync, clusterSecret, tls };
}

function parseNodeAddress(option: string, text: string): string {
  try {
    return normalizeAddress(text, DEFAULT_PORT);
  } catch (e) {
    if (e instanceof AddressError) throw new UsageError(`${option}: ${e.message}`);
    throw e;
  }
}

async function runLogger(opts: LoggerCliOptions): Promise<void> {
  const parsed = parseLoggerOptions(opts);
  const log = createLogger(opts.logLevel, undefined, logFormat(opts.logFormat, undefined));
  let node: LoggerNode;
  try {
    node = await startLogger({ ...parsed, dir: opts.dir, log });
  } catch (e) {
    printError(`logger: ${errorMessage(e)}`);
    finish(EXIT_USAGE);
    return;
  }
  process.on('SIGHUP', () => node.reloadTls());
  await waitForStopSignal(log);
  await node.stop();
  finish(EXIT_OK);
}

/** Resolves on the first SIGINT or SIGTERM; later signals only say that the stop is under way. */
function waitForStopSignal(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal: sig }, 'logger is already stopping: flushing its buffer to disk');
        return;
      }
      stopping = true;
      log.info({ signal: sig }, 'logger stopping');
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

// ---- compact ----

interface CompactCliOptions {
  out: string;
  json?: boolean;
}

function registerCompact(program: Command): void {
  program
    .command('compact')
    .description('keep the last state of every key of log (or compacted, or save) files, oldest first, in one compacted file')
    .argument('<files...>', 'log files, oldest first (oc-000001.log oc-000002.log ...)')
    .requiredOption('--out <file>', 'the compacted file to write (atomically)')
    .option('--json', 'print the summary as JSON')
    .action((files: string[], opts: CompactCliOptions) => runCompact(files, opts));
}

async function runCompact(files: string[], opts: CompactCliOptions): Promise<void> {
  try {
    const r = await compactFiles(files, opts.out, { onTorn: (t) => printWarning(tornMessage(t)) });
    if (r.missingLogFiles.length > 0) printWarning(`log files missing from the series: #${r.missingLogFiles.join(', #')}`);
    const c = r.counters;
    const snapshots = { applied: c.snapshots, items: c.snapshotItems, incomplete: c.incompleteSnapshots, coveredUpdates: c.coveredBySnapshot };
    if (opts.json === true) {
      printJson({ out: opts.out, files: r.files, records: r.records, items: r.itemsWritten, expiredDropped: r.expiredDropped, bytes: r.bytes, torn: r.torn, missingLogFiles: r.missingLogFiles, snapshots, gaps: r.gaps });
    } else {
      printLine(`compacted ${r.files} files (${r.records} records) into ${opts.out}: ${r.itemsWritten} items, ${r.expiredDropped} expired dropped, ${r.bytes} bytes${r.torn.length > 0 ? `, ${r.torn.length} torn tail skipped` : ''}, ${c.snapshots} snapshots applied${c.incompleteSnapshots > 0 ? ` (${c.incompleteSnapshots} incomplete, not applied)` : ''}, ${r.gaps.length === 0 ? 'no gap' : `${r.gaps.length} gaps not closed`}`);
      for (const g of r.gaps.slice(0, GAP_LINES_MAX)) printLine(gapLine(g));
      if (r.gaps.length > GAP_LINES_MAX) printLine(`... and ${r.gaps.length - GAP_LINES_MAX} more gaps (--json lists them all)`);
    }
    finish(EXIT_OK);
  } catch (e) {
    printError(`compact: ${errorMessage(e)}`);
    finish(EXIT_USAGE);
  }
}

/** Gap lines compact prints in its text output; --json lists every gap. */
const GAP_LINES_MAX = 100;

function gapLine(g: GapReport): string {
  const seqs = g.fromSeq === g.toSeq ? `seq ${g.fromSeq}` : `seqs ${g.fromSeq}-${g.toSeq}`;
  return g.kind === 'missing'
    ? `gap: bucket ${g.bucket} ${seqs} missing from the files (no later snapshot of the bucket closed it)`
    : `gap: bucket ${g.bucket} ${seqs} are in the files but a later owner went back below them (rewind; no later snapshot closed it)`;
}

function tornMessage(t: TornReport): string {
  return `${t.file}: torn record at offset ${t.offset} (${t.haveBytes} of ${t.needBytes} bytes, a crash while writing): skipped`;
}

/** A problem that does not stop the command: one line on stderr. */
function printWarning(message: string): void {
  process.stderr.write(`warning: ${oneLine(message)}\n`);
}

// ---- inject ----

interface InjectCliOptions extends TlsFlags {
  cluster: string;
  json?: boolean;
  user?: string;
  passwordFile?: string;
}

function registerInject(program: Command): void {
  const cmd = program
    .command('inject')
    .description('load log, compacted or save files into a running cluster (remaining expiry kept, expired items skipped)')
    .argument('<files...>', 'files, oldest first; logs are replayed to their last state first')
    .requiredOption('--cluster <host:port>', 'any node of the cluster')
    .option('--json', 'print the summary as JSON');
  addClusterAccessOptions(cmd).action((files: string[], opts: InjectCliOptions) => runInject(files, opts));
}

async function runInject(files: string[], opts: InjectCliOptions): Promise<void> {
  let items: Item[];
  try {
    parseNodeAddress('--cluster', opts.cluster);
    const { state, report } = await loadFiles(files, (t) => printWarning(tornMessage(t)));
    if (report.gaps.length > 0) printWarning(`${report.gaps.length} gaps in the bucket histories of the files were not closed by a snapshot (compact --json lists them): the data may differ from the cluster's there`);
    items = [];
    for (const { item } of state.all()) items.push(item);
  } catch (e) {
    printError(`inject: ${errorMessage(e)}`);
    finish(EXIT_USAGE);
    return;
  }
  await runCommand(
    { cluster: opts.cluster, json: opts.json, user: opts.user, passwordFile: opts.passwordFile, tlsCa: opts.tlsCa, tlsCert: opts.tlsCert, tlsKey: opts.tlsKey },
    () => items,
    async (cluster, list) => {
      const s = await injectItems(cluster, list);
      printInjectSummary(s, files.length, opts);
      return s.errors > 0 ? EXIT_PARTIAL : EXIT_OK;
    },
  );
}

/** What one item becomes for the client: where it goes, its value, its remaining expiry. */
export type InjectCall = { kind: 'set'; map: string; key: string; value: ClusterValue; expiresSec: number } | { kind: 'expired' } | { kind: 'invalid'; why: string };

/**
 * Turns a stored item (byte strings held as latin1) into a client call (UTF-8 text): the
 * remaining expiry in whole seconds, rounded up; an item expired at nowMs is skipped; a key or
 * string value that is not valid UTF-8 cannot go through the client and is reported.
 */
export function toInjectCall(item: Item, nowMs: number): InjectCall {
  if (isExpired(item.expiresAtMs, nowMs)) return { kind: 'expired' };
  const map = bytesToText(item.map);
  const key = bytesToText(item.key);
  if (map === null || key === null) return { kind: 'invalid', why: 'the key or map name is not valid UTF-8' };
  const value = toClusterValue(item);
  if (value === null) return { kind: 'invalid', why: 'the string value is not valid UTF-8' };
  const expiresSec = item.expiresAtMs === 0 ? 0 : Math.min(EXPIRES_SEC_MAX, Math.ceil((item.expiresAtMs - nowMs) / 1000));
  return { kind: 'set', map, key, value, expiresSec };
}

function toClusterValue(item: Item): ClusterValue | null {
  const v = item.value;
  switch (v.t) {
    case 1:
      return v.v;
    case 2:
      return v.v;
    case 3:
      return utf8OrNull(v.v);
    case 4:
      return Buffer.from(v.v);
  }
}

/** A latin1-held byte string as text, or null when the bytes are not valid UTF-8. */
function bytesToText(s: string): string | null {
  return utf8OrNull(Buffer.from(s, 'latin1'));
}

function utf8OrNull(bytes: Buffer): string | null {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : null;
}

export interface InjectSummary {
  total: number;
  loaded: number;
  skippedExpired: number;
  errors: number;
}

/** Sends every item, INJECT_WINDOW at a time; a lost cluster connection aborts (thrown). */
async function injectItems(cluster: Cluster, items: Item[]): Promise<InjectSummary> {
  const s: InjectSummary = { total: items.length, loaded: 0, skippedExpired: 0, errors: 0 };
  const bar = process.stdout.isTTY ? new SingleBar({ format: 'inject [{bar}] {percentage}% {value}/{total} items, {errors} errors', hideCursor: true }, Presets.shades_classic) : null;
  bar?.start(items.length, 0, { errors: 0 });
  const inFlight = new Set<Promise<void>>();
  let fatal: unknown;
  for (const item of items) {
    if (fatal !== undefined) break;
    while (inFlight.size >= INJECT_WINDOW) await Promise.race(inFlight);
    const p = injectOne(cluster, item, s)
      .catch((e: unknown) => {
        if (isConnectionLoss(e)) fatal ??= e;
      })
      .finally(() => {
        inFlight.delete(p);
        bar?.update(s.loaded + s.skippedExpired + s.errors, { errors: s.errors });
      });
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  bar?.stop();
  if (fatal !== undefined) throw fatal;
  return s;
}

async function injectOne(cluster: Cluster, item: Item, s: InjectSummary): Promise<void> {
  const call = toInjectCall(item, Date.now());
  if (call.kind === 'expired') {
    s.skippedExpired++;
    return;
  }
  if (call.kind === 'invalid') return noteError(s, item, call.why);
  const opts = call.expiresSec > 0 ? { expiresSec: call.expiresSec } : {};
  try {
    if (call.map === '') await cluster.set(call.key, call.value, opts);
    else await cluster.map(call.map).set(call.key, call.value, opts);
    s.loaded++;
  } catch (e) {
    if (isConnectionLoss(e)) throw e;
    noteError(s, item, e instanceof ClusterError ? `${e.code}: ${e.message}` : errorMessage(e));
  }
}

function noteError(s: InjectSummary, item: Item, why: string): void {
  s.errors++;
  if (s.errors <= INJECT_ERRORS_SHOWN) printError(`inject: ${item.map === '' ? '' : `map ${JSON.stringify(item.map)} `}key ${JSON.stringify(item.key)}: ${why}`);
}

function isConnectionLoss(e: unknown): boolean {
  return e instanceof ClusterError && (e.code === 'NOT_CONNECTED' || e.code === 'CLOSED');
}

function printInjectSummary(s: InjectSummary, files: number, opts: InjectCliOptions): void {
  if (opts.json === true) printJson({ files, ...s });
  else printLine(`injected ${s.loaded} of ${s.total} items from ${files} files into ${opts.cluster}: ${s.skippedExpired} skipped as expired, ${s.errors} errors`);
}
