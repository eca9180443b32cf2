// One CLI command's client session: the login (--user, the password from OPENCLUSTER_PASSWORD or
// --password-file), connect with a short bound, run the command, close the client, and turn every
// failure into an exit code with a one-line message.
import { Cluster, ClusterError } from '../index.js';
import { PrivateFileError, readPrivateFile } from '../shared/private-file.js';
import { parseClusterSeeds, UsageError } from './args.js';
import { EXIT_USAGE, errorMessage, printError, printJson } from './output.js';
import { stripOneNewline } from './passwd.js';
import type { Command } from 'commander';
import { addClientTlsOptions, parseClientTls, type TlsFlags } from './tls-flags.js';
import type { ClusterTlsOptions } from '../client/options.js';

/** A wrong address must fail fast: connect() gets this long before the CLI gives up. */
export const CONNECT_TIMEOUT_MS = 3000;
export const REQUEST_TIMEOUT_MS = 5000;
export const CLOSE_TIMEOUT_MS = 1000;
/** After the exit code is set, a handle the client left open may hold the process this long at most. */
const EXIT_GRACE_MS = 2000;

export interface CommonOptions extends TlsFlags {
  cluster: string;
  json?: boolean;
  /** Log in as this user (nodes with --users-file). */
  user?: string;
  /** The password of --user, in a file others cannot read (else OPENCLUSTER_PASSWORD). */
  passwordFile?: string;
}

/** The environment variable holding the password of --user. */
export const PASSWORD_ENV = 'OPENCLUSTER_PASSWORD';

export interface Login {
  user: string;
  password: string;
}

/** The login the options ask for, or null; a usage error when --user has no password or the file is readable by others. */
export function resolveLogin(opts: CommonOptions, env: NodeJS.ProcessEnv = process.env): Login | null {
  if (opts.user === undefined) {
    if (opts.passwordFile !== undefined) throw new UsageError('--password-file needs --user');
    return null;
  }
  if (opts.user === '') throw new UsageError('--user must not be empty');
  let password: string;
  if (opts.passwordFile !== undefined) {
    try {
      password = stripOneNewline(readPrivateFile(opts.passwordFile, 'password file'));
    } catch (e) {
      throw new UsageError(`--password-file: ${e instanceof PrivateFileError ? e.message : errorMessage(e)}`);
    }
  } else {
    const fromEnv = env[PASSWORD_ENV];
    if (fromEnv === undefined || fromEnv === '') throw new UsageError(`--user ${opts.user} needs a password: set ${PASSWORD_ENV} or give --password-file FILE`);
    password = fromEnv;
  }
  if (password === '') throw new UsageError(`the password of --user ${opts.user} is empty`);
  return { user: opts.user, password };
}

/** What a client needs to reach a cluster beyond its address: a login and TLS, from the common flags. */
export type ClusterAccess = Partial<Login> & { tls?: ClusterTlsOptions };

/** The access the flags ask for (usage errors first, before any connection). */
export function clusterAccess(opts: CommonOptions): ClusterAccess {
  const login = resolveLogin(opts);
  const tls = parseClientTls(opts);
  return { ...(login ?? {}), ...(tls === undefined ? {} : { tls }) };
}

/** The flags of clusterAccess(): --user, --password-file and the client's TLS flags. */
export function addClusterAccessOptions(cmd: Command): Command {
  cmd
    .option('--user <name>', `log in as this user (nodes with --users-file); the password from ${PASSWORD_ENV} or --password-file`)
    .option('--password-file <file>', 'the password of --user, in a file only you can read (mode 0600)');
  return addClientTlsOptions(cmd);
}

/** Runs a command that needs the admin role; a refusal says so in one clear line. */
export async function asAdmin<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ClusterError && e.code === 'NOT_ALLOWED') {
      throw new UsageError(`${what} needs a user with role admin (--user NAME): NOT_ALLOWED: ${e.message}`);
    }
    throw e;
  }
}

/** The command body: returns the exit code (0 ok, 1 not found). */
export type SessionBody = (cluster: Cluster) => Promise<number>;

/**
 * Runs a command against the cluster at --cluster. `validate` runs first, before any connection,
 * so that usage errors never wait on the network.
 */
export async function runCommand<T>(opts: CommonOptions, validate: () => T, body: (cluster: Cluster, args: T) => Promise<number>): Promise<void> {
  const code = await runGuarded(async () => {
    const seeds = parseClusterSeeds(opts.cluster);
    const access = clusterAccess(opts);
    const args = validate();
    return withCluster(seeds, access, (cluster) => body(cluster, args));
  }, opts.json === true);
  finish(code);
}

async function runGuarded(fn: () => Promise<number>, json: boolean): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    printError(describeError(e));
    // --json: the error as JSON on stdout too, for scripts that read only stdout.
    if (json) printJson({ ok: false, error: e instanceof ClusterError ? e.code : e instanceof UsageError ? 'USAGE' : e instanceof ConnectError ? 'NOT_CONNECTED' : 'ERROR', message: errorMessage(e) });
    return EXIT_USAGE;
  }
}

function describeError(e: unknown): string {
  if (e instanceof UsageError) return e.message;
  if (e instanceof ClusterError) return `${e.code}: ${e.message}${e.node ? ` (node ${e.node})` : ''}`;
  return errorMessage(e);
}

async function withCluster(seeds: string[], access: ClusterAccess, body: SessionBody): Promise<number> {
  const seed = seeds.join(',');
  const cluster = new Cluster({ seeds, requestTimeoutMs: REQUEST_TIMEOUT_MS, closeTimeoutMs: CLOSE_TIMEOUT_MS, ...access });
  try {
    await connectBounded(cluster, seed);
    return await body(cluster);
  } finally {
    await cluster.close().catch(() => undefined);
  }
}

/** No seed could be reached within the bound. */
class ConnectError extends Error {
  override name = 'ConnectError';
}

async function connectBounded(cluster: Cluster, seed: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ConnectError(`cannot connect to ${seed}: no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([cluster.connect(), timeout]);
  } catch (e) {
    if (e instanceof ClusterError) throw new ConnectError(`cannot connect to ${seed}: ${e.code}: ${e.message}`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Sets the exit code; a leftover handle cannot keep the process alive past a short grace. */
export function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
}
