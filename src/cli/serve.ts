// `opencluster serve`: parses the node's options, starts it (save file, listener, join), and
// turns SIGINT/SIGTERM into one orderly shutdown; SIGHUP re-reads the TLS certificates.
import { join } from 'node:path';
import type { Command } from 'commander';
import { ClusterNode } from '../server/node.js';
import { createLogger, LOG_LEVELS, resolveLogFormat, type LogFormat } from '../server/log.js';
import { defaultServerOptions, type HttpSideDoorOptions, type ServerOptions } from '../server/options.js';
import { HttpSideDoor } from '../server/http/server.js';
import { Shutdown } from '../server/shutdown.js';
import { loadSaveFile } from '../server/loaded-save.js';
import { isLoopbackHost, isWildcardHost, normalizeAddress, parseAddress } from '../shared/address.js';
import { MIN_MAX_FRAME_BYTES, DEFAULT_PORT } from '../shared/limits.js';
import { SaveFileError } from '../server/savefile.js';
import { UsageError } from './args.js';
import { CLUSTER_SECRET_HELP, loadClusterSecret } from './secrets.js';
import { isValidMask } from '../shared/buckets.js';
import { loadUsersFile } from '../server/users.js';
import { addNodeTlsOptions, parseClientAuth, parseNodeTls, type TlsFlags } from './tls-flags.js';
import { addConfigSources, printConfig } from './config.js';
import { parseByteSize } from '../shared/byte-size.js';
import { EVICTION_POLICIES, type EvictionPolicy } from '../server/memory-limit.js';

/** The smallest --max-memory: below it even an empty node is over. */
const MAX_MEMORY_BYTES_MIN = 32 * 1024 * 1024;

interface ServeFlags extends TlsFlags {
  tlsClientAuth: string;
  listen: string;
  node: string[];
  maxConnections: string;
  maxFrameBytes: string;
  logLevel: string;
  verbose?: boolean;
  logFile?: string;
  logFormat?: string;
  dataDir: string;
  savefile?: string;
  ignoreBadSavefile?: boolean;
  deadAfterMs: string;
  lostBucketGraceMs: string;
  heartbeatMs: string;
  shutdownTimeoutMs: string;
  mask?: string;
  quorum: string;
  clusterSecretFile?: string;
  usersFile?: string;
  advertise?: string;
  insecure?: boolean;
  maxConnectionsPerIp: string;
  handshakeTimeoutMs: string;
  frameTimeoutMs: string;
  pushAckTimeoutMs: string;
  pendingFrameBytesMax: string;
  legacyClients: string;
  http?: string;
  httpOpenMetrics?: boolean;
  printConfig?: boolean;
  maxMemory?: string;
  eviction: string;
}

const STATS_REPORT_INTERVAL_MS = 30_000;

function positiveInt(name: string, text: string, min = 1): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} must be a whole number, got "${text}"`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${name} must be at least ${min}, got ${text}`);
  return n;
}

function address(name: string, text: string): string {
  try {
    return normalizeAddress(text, DEFAULT_PORT);
  } catch (error) {
    throw new UsageError(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** --log-format, or the default for where the logs go; a usage error when unknown. */
export function logFormat(given: string | undefined, file: string | undefined): LogFormat {
  try {
    return resolveLogFormat(given, file !== undefined, process.stdout.isTTY === true);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export function toServerOptions(f: ServeFlags): ServerOptions {
  const o = defaultServerOptions();
  o.listen = address('--listen', f.listen);
  o.nodes = f.node.map((n) => address('--node', n));
  o.maxConnections = positiveInt('--max-connections', f.maxConnections);
  o.maxFrameBytes = positiveInt('--max-frame-bytes', f.maxFrameBytes, MIN_MAX_FRAME_BYTES);
  o.logLevel = f.verbose ? 'debug' : f.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  o.logFile = f.logFile;
  o.logFormat = logFormat(f.logFormat, f.logFile);
  o.dataDir = f.dataDir;
  o.savefile = f.savefile ?? join(f.dataDir, 'opencluster.save');
  o.ignoreBadSavefile = f.ignoreBadSavefile === true;
  o.deadAfterMs = positiveInt('--dead-after-ms', f.deadAfterMs, 200);
  o.heartbeatIntervalMs = positiveInt('--heartbeat-ms', f.heartbeatMs, 10);
  o.lostBucketGraceMs = positiveInt('--lost-bucket-grace-ms', f.lostBucketGraceMs, 0);
  if (o.heartbeatIntervalMs * 3 > o.deadAfterMs) throw new UsageError('--heartbeat-ms must be at most a third of --dead-after-ms');
  o.shutdownTimeoutMs = positiveInt('--shutdown-timeout-ms', f.shutdownTimeoutMs, 100);
  if (f.mask !== undefined) {
    const mask = /^0x[0-9a-f]+$/i.test(f.mask) ? Number.parseInt(f.mask, 16) : /^\d+$/.test(f.mask) ? Number(f.mask) : NaN;
    if (!isValidMask(mask) || mask > 0xfff) throw new UsageError(`--mask must be 2^n-1 between 0x1 and 0xfff, got "${f.mask}"`);
    o.mask = mask;
    o.maskGiven = true;
  }
  if (f.quorum !== 'majority' && f.quorum !== 'off') throw new UsageError(`--quorum must be majority or off, got "${f.quorum}"`);
  o.quorum = f.quorum;
  o.maxConnectionsPerIp = positiveInt('--max-connections-per-ip', f.maxConnectionsPerIp, 0);
  o.handshakeTimeoutMs = positiveInt('--handshake-timeout-ms', f.handshakeTimeoutMs, 100);
  o.frameTimeoutMs = positiveInt('--frame-timeout-ms', f.frameTimeoutMs, 100);
  o.pushAckTimeoutMs = positiveInt('--push-ack-timeout-ms', f.pushAckTimeoutMs, 100);
  o.pendingFrameBytesMax = positiveInt('--pending-frame-bytes-max', f.pendingFrameBytesMax, MIN_MAX_FRAME_BYTES);
  o.insecure = f.insecure === true;
  o.advertise = f.advertise === undefined ? undefined : address('--advertise', f.advertise);
  checkExposure(o.listen, o.advertise, f.usersFile !== undefined, o.insecure);
  o.tls = parseNodeTls(f);
  o.tlsClientAuth = parseClientAuth(f.tlsClientAuth, o.tls);
  o.clusterSecret = loadClusterSecret(f.clusterSecretFile).secret;
  if (f.legacyClients !== 'allow' && f.legacyClients !== 'refuse') throw new UsageError(`--legacy-clients must be allow or refuse, got "${f.legacyClients}"`);
  o.legacyClients = f.legacyClients;
  o.http = f.http === undefined ? null : httpSideDoor(f.http, f.httpOpenMetrics === true);
  if (o.http !== null) checkHttpExposure(o.http, f.usersFile !== undefined, o.insecure);
  else if (f.httpOpenMetrics === true) throw new UsageError('--http-open-metrics needs --http HOST:PORT');
  o.maxMemoryBytes = f.maxMemory === undefined ? 0 : maxMemory(f.maxMemory);
  if (!(EVICTION_POLICIES as readonly string[]).includes(f.eviction)) throw new UsageError(`--eviction must be one of ${EVICTION_POLICIES.join(', ')}, got "${f.eviction}"`);
  o.eviction = f.eviction as EvictionPolicy;
  if (f.usersFile !== undefined) {
    try {
      o.users = loadUsersFile(f.usersFile);
    } catch (error) {
      throw new UsageError(`--users-file: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return o;
}

/** --max-memory: a size (512mb, 1gb, bytes); 0 or none: no limit. */
function maxMemory(text: string): number {
  if (/^(0|none)$/i.test(text.trim())) return 0;
  let bytes: number;
  try {
    bytes = parseByteSize(text);
  } catch (error) {
    throw new UsageError(`--max-memory: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (bytes < MAX_MEMORY_BYTES_MIN) throw new UsageError(`--max-memory must be at least 32mb (an empty node uses about 75mb), got "${text}"`);
  return bytes;
}

/** --http: HOST:PORT, or a bare PORT on 127.0.0.1 (0: any free port). */
function httpSideDoor(text: string, openMetrics: boolean): HttpSideDoorOptions {
  const full = /^\d+$/.test(text.trim()) ? `127.0.0.1:${text.trim()}` : text;
  try {
    const { host, port } = parseAddress(full);
    return { host, port, openMetrics };
  } catch (error) {
    throw new UsageError(`--http: ${error instanceof Error ? error.message : String(error)} (give HOST:PORT, or a PORT on 127.0.0.1)`);
  }
}

/** The HTTP side door shows the cluster and its metrics: beyond loopback it follows the client port's rule. */
function checkHttpExposure(http: HttpSideDoorOptions, hasUsers: boolean, insecure: boolean): void {
  if (!isLoopbackHost(http.host) && !hasUsers && !insecure) {
    throw new UsageError(`refusing to serve HTTP on ${http.host}:${http.port} without --users-file: anyone who can reach it could watch the cluster; add --users-file FILE (the dashboard then asks for an admin login), or --insecure on a network you trust`);
  }
}

/**
 * Protected by default: a node reachable beyond this machine must know its users (or be told the
 * network is trusted), and a wildcard listen needs the address others should dial.
 */
function checkExposure(listen: string, advertise: string | undefined, hasUsers: boolean, insecure: boolean): void {
  const { host } = parseAddress(listen);
  if (isWildcardHost(host) && advertise === undefined) {
    throw new UsageError(`--listen ${listen} binds every interface: add --advertise HOST:PORT, the address peers and clients should dial`);
  }
  if (!isLoopbackHost(host) && !hasUsers && !insecure) {
    throw new UsageError(`refusing to listen on ${listen} without --users-file: anyone who can reach it could read and write every key; add --users-file FILE (see opencluster passwd), or --insecure on a network you trust`);
  }
  if (advertise !== undefined && isWildcardHost(parseAddress(advertise).host)) throw new UsageError(`--advertise ${advertise}: give an address others can dial, not a wildcard`);
}

export function registerServe(program: Command): void {
  const d = defaultServerOptions();
  const cmd = program
    .command('serve')
    .description('run a node')
    .option('--listen <host:port>', 'address to bind (port 0: any free port)', d.listen)
    .option('--node <host:port>', 'a node of the cluster to join (repeatable, tried in order)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--max-connections <n>', 'most client and node connections at once', String(d.maxConnections))
    .option('--max-frame-bytes <n>', 'largest frame payload accepted', String(d.maxFrameBytes))
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', d.logLevel)
    .option('-v, --verbose', 'same as --log-level debug')
    .option('--log-file <path>', 'write logs to this file instead of stdout')
    .option('--log-format <format>', 'pretty (one readable line per entry) or json (default: pretty on a terminal, json otherwise)')
    .option('--data-dir <dir>', 'where the save file lives', d.dataDir)
    .option('--savefile <path>', 'save file path (default <data-dir>/opencluster.save)')
    .option('--ignore-bad-savefile', 'start even if the save file cannot be read (it is left untouched)')
    .option('--dead-after-ms <ms>', 'a node silent this long is declared dead', String(d.deadAfterMs))
    .option('--lost-bucket-grace-ms <ms>', 'a bucket with no live copy waits this long for one to come back before it is taken over empty', String(d.lostBucketGraceMs))
    .option('--heartbeat-ms <ms>', 'heartbeat interval between nodes', String(d.heartbeatIntervalMs))
    .option('--shutdown-timeout-ms <ms>', 'bound on the hand-over at shutdown', String(d.shutdownTimeoutMs))
    .option('--mask <mask>', 'bucket mask of a new cluster (2^n-1, default 0xff; widened automatically as nodes join; a joining node takes the cluster\'s)')
    .option('--quorum <mode>', 'majority: only a side that hears most of the cluster declares silent nodes dead; off: any side does', d.quorum)
    .option('--cluster-secret-file <file>', CLUSTER_SECRET_HELP)
    .option('--advertise <host:port>', 'the address given to peers and clients (required with a wildcard --listen; NAT, containers)')
    .option('--insecure', 'allow listening beyond loopback without --users-file (a network you trust)')
    .option('--max-connections-per-ip <n>', 'unproven and client connections from one address at once (0: no bound)', '0')
    .option('--handshake-timeout-ms <ms>', 'close a connection that has not said hello (or logged in) by then', String(d.handshakeTimeoutMs))
    .option('--frame-timeout-ms <ms>', 'close a connection whose frame is not whole this long after its first byte', String(d.frameTimeoutMs))
    .option('--push-ack-timeout-ms <ms>', 'close a hello (original protocol) client that leaves a push unacknowledged this long while pushes wait', String(d.pushAckTimeoutMs))
    .option('--pending-frame-bytes-max <n>', 'bytes of unfinished frames of all connections together; past it the largest holders are closed', String(d.pendingFrameBytesMax))
    .option('--users-file <file>', 'users and their roles (mode 0600; lines from `opencluster passwd`): every client must log in')
    .option('--http <host:port>', 'serve /metrics, /health/* and the dashboard over HTTP here (a bare port: 127.0.0.1; 0: any free port)')
    .option('--http-open-metrics', 'with --users-file: /metrics and /health/* answer without a login (the dashboard still asks for an admin)')
    .option('--max-memory <size>', 'bound on the node\'s memory (512mb, 1gb, bytes; backups count); default none: memory grows until the process fails')
    .option('--eviction <policy>', `what a write past --max-memory does: ${EVICTION_POLICIES.join(', ')}`, d.eviction)
    .option('--legacy-clients <mode>', 'with --users-file: allow lets hello-only (legacy) clients use the legacy commands without a login; refuse closes them', d.legacyClients);
  addNodeTlsOptions(cmd).option('--tls-client-auth <mode>', 'none: clients need no certificate; require: clients must show one the CA signed', 'none');
  addConfigSources(cmd).action(async (flags: ServeFlags) => {
      if (flags.printConfig === true) return printConfig(cmd);
      const opts = toServerOptions(flags);
      await serve(opts);
    });
}

export async function serve(opts: ServerOptions): Promise<void> {
  const log = createLogger(opts.logLevel, opts.logFile, opts.logFormat);
  const node = new ClusterNode(opts, log);
  const shutdown = new Shutdown(node);
  let statsTimer: NodeJS.Timeout | undefined;
  // Signals are taken from the first moment: one that comes before the node listens waits for it.
  let listening = false;
  let pendingSignal: string | null = null;
  let exiting = false;
  const stop = (): void => {
    if (exiting) {
      void shutdown.run().catch(() => undefined);
      return;
    }
    exiting = true;
    void shutdown.run().catch((error: unknown) => log.error({ err: error instanceof Error ? error.stack : String(error) }, 'shutdown failed; exiting')).then(() => {
      clearInterval(statsTimer);
      log.info({ stats: node.statsDoc() }, 'final stats');
      // The exit waits for the log to be written, but not forever (a closed stdout never flushes).
      setTimeout(() => process.exit(0), 2000);
      log.flush(() => process.exit(0));
    });
  };
  const onSignal = (signal: string): void => {
    log.info({ signal }, 'signal received');
    if (listening) stop();
    else pendingSignal = signal;
  };
  // A promise rejected with nobody to catch it is a programmer error: logged loudly, not a crash.
  process.on('unhandledRejection', (reason) => log.error({ err: reason instanceof Error ? reason.stack : String(reason) }, 'unhandled rejection'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // SIGHUP: new certificates for new connections and dials; open connections keep theirs.
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'signal received');
    if (node.tls === null) log.warn('SIGHUP ignored: the node runs without TLS');
    else node.tls.reload();
  });
  const alone = opts.nodes.length === 0;
  if (alone && !(await loadSaveFileOrRefuse(node))) return;
  // The side door binds first: a port it cannot have stops the start before the node is anywhere.
  if (opts.http !== null && !(await startHttp(node, opts.http, log))) return;
  await node.listen();
  log.info({ addr: node.me, incarnation: String(node.incarnation) }, 'listening');
  node.startTimers();
  statsTimer = setInterval(() => log.info({ stats: node.statsDoc() }, 'stats'), STATS_REPORT_INTERVAL_MS);
  listening = true;
  if (pendingSignal !== null) {
    if (alone) node.startAlone();
    stop();
    return;
  }
  const joined = alone ? (node.startAlone(), true) : await node.join(opts.nodes);
  if (joined) log.info({ addr: node.me, alone }, 'ready');
}

/** Starts the HTTP side door; false (exit code 2 set) when its address cannot be bound. */
async function startHttp(node: ClusterNode, http: HttpSideDoorOptions, log: ClusterNode['log']): Promise<boolean> {
  const door = new HttpSideDoor(node, { ...http, users: node.opts.users }, log);
  try {
    const port = await door.start();
    log.info({ host: http.host, port }, 'http listening');
    return true;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    log.fatal({ host: http.host, port: http.port, err: why }, 'cannot start: the --http address cannot be bound');
    process.stderr.write(`opencluster: --http ${http.host}:${http.port}: ${why}\n`);
    log.flush();
    process.exitCode = 2;
    return false;
  }
}

/** Loads the save file; false (exit code 3 set) when it is unreadable and not to be ignored. */
async function loadSaveFileOrRefuse(node: ClusterNode): Promise<boolean> {
  const { opts, log } = node;
  try {
    node.loadedSave = await loadSaveFile({ log, savefile: opts.savefile, incarnation: node.incarnation, store: node.store });
    return true;
  } catch (error) {
    const why = error instanceof SaveFileError ? error.message : String(error);
    if (!opts.ignoreBadSavefile) {
      log.fatal({ file: opts.savefile, err: why }, 'cannot start: the save file is unreadable (left untouched; --ignore-bad-savefile to start anyway)');
      process.stderr.write(`opencluster: ${why} (left untouched; use --ignore-bad-savefile to start anyway)\n`);
      log.flush();
      process.exitCode = 3;
      return false;
    }
    node.badSavefileIgnored = true;
    log.error({ file: opts.savefile, err: why }, 'save file unreadable; starting without it (file left untouched)');
    return true;
  }
}
