// One CLI command's client session: connect with a short bound, run the command, close the client,
// and turn every failure into an exit code with a one-line message.
import { Cluster, ClusterError } from '../index.js';
import { parseClusterAddress, UsageError } from './args.js';
import { EXIT_USAGE, errorMessage, printError } from './output.js';
import { parseClientTls, type TlsFlags } from './tls-flags.js';
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
}

/** The command body: returns the exit code (0 ok, 1 not found). */
export type SessionBody = (cluster: Cluster) => Promise<number>;

/**
 * Runs a command against the cluster at --cluster. `validate` runs first, before any connection,
 * so that usage errors never wait on the network.
 */
export async function runCommand<T>(opts: CommonOptions, validate: () => T, body: (cluster: Cluster, args: T) => Promise<number>): Promise<void> {
  const code = await runGuarded(async () => {
    const seed = parseClusterAddress(opts.cluster);
    const tls = parseClientTls(opts);
    const args = validate();
    return withCluster(seed, tls, (cluster) => body(cluster, args));
  });
  finish(code);
}

async function runGuarded(fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    printError(describeError(e));
    return EXIT_USAGE;
  }
}

function describeError(e: unknown): string {
  if (e instanceof UsageError) return e.message;
  if (e instanceof ClusterError) return `${e.code}: ${e.message}${e.node ? ` (node ${e.node})` : ''}`;
  return errorMessage(e);
}

async function withCluster(seed: string, tls: ClusterTlsOptions | undefined, body: SessionBody): Promise<number> {
  const cluster = new Cluster({ seeds: [seed], requestTimeoutMs: REQUEST_TIMEOUT_MS, closeTimeoutMs: CLOSE_TIMEOUT_MS, ...(tls === undefined ? {} : { tls }) });
  try {
    await connectBounded(cluster, seed);
    return await body(cluster);
  } finally {
    await cluster.close().catch(() => undefined);
  }
}

async function connectBounded(cluster: Cluster, seed: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`cannot connect to ${seed}: no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([cluster.connect(), timeout]);
  } catch (e) {
    if (e instanceof ClusterError) throw new Error(`cannot connect to ${seed}: ${e.code}: ${e.message}`);
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
