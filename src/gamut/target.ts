// What the load phase drives: one connection to a store (ours through the client, or Redis),
// with set/get of string values, plus key cleanup and error classification per store.
import { Cluster, ClusterError } from '../index.js';
import type { ClusterOptions } from '../client/options.js';

/** The client options that say how to reach a cluster: a login and TLS. */
export type ClusterAccessOptions = Pick<ClusterOptions, 'user' | 'password' | 'tls'>;

/** One connection's worth of client: the load phase keeps C requests in flight on each. */
export interface KvConnection {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  /** Adds 1 to the counter at key (INCR). */
  incr(key: string): Promise<unknown>;
  /** One batch read of many keys (our mget; Redis MGET). */
  mget(keys: string[]): Promise<unknown[]>;
  close(): Promise<void>;
}

export interface KvStore {
  /** 'ours' or 'redis': the label in tables and JSON. */
  readonly name: string;
  open(): Promise<KvConnection>;
  /** Deletes the given keys (bounded concurrency), on a connection of its own. */
  deleteKeys(keys: readonly string[]): Promise<void>;
  /** A stable code for a rejection, for the per-code error counts. */
  errorCode(e: unknown): string;
}

/** Codes after which a write was certainly not applied; every other rejection may have been. */
const NOT_APPLIED_CODES = new Set(['QUEUE_FULL', 'BAD_REQUEST', 'WRONG_TYPE']);

/** Whether a write rejected with this code may still have been applied (unknown codes: yes). */
export function isIndeterminateCode(code: string): boolean {
  return !NOT_APPLIED_CODES.has(code);
}

export interface OursOptions {
  seed: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  /** How the client reaches the cluster beyond its address: a login, TLS. */
  access: ClusterAccessOptions;
}

const CLOSE_TIMEOUT_MS = 2000;
const DELETE_WINDOW = 256;

/** Connects a client, failing after connectTimeoutMs (the client's own connect may retry longer). */
export async function connectCluster(opts: OursOptions): Promise<Cluster> {
  const cluster = new Cluster({ seeds: [opts.seed], requestTimeoutMs: opts.requestTimeoutMs, closeTimeoutMs: CLOSE_TIMEOUT_MS, ...opts.access });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ClusterError('NOT_CONNECTED', `no answer from ${opts.seed} within ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
  });
  try {
    await Promise.race([cluster.connect(), timeout]);
  } catch (e) {
    await cluster.close().catch(() => undefined);
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return cluster;
}

class OursConnection implements KvConnection {
  constructor(private readonly cluster: Cluster) {}
  set(key: string, value: string): Promise<void> {
    return this.cluster.set(key, value);
  }
  get(key: string): Promise<unknown> {
    return this.cluster.get(key);
  }
  incr(key: string): Promise<unknown> {
    return this.cluster.incr(key);
  }
  mget(keys: string[]): Promise<unknown[]> {
    return this.cluster.mget(keys);
  }
  close(): Promise<void> {
    return this.cluster.close();
  }
}

export function oursStore(opts: OursOptions): KvStore {
  return {
    name: 'ours',
    async open() {
      return new OursConnection(await connectCluster(opts));
    },
    async deleteKeys(keys) {
      const cluster = await connectCluster(opts);
      try {
        await forEachWindowed(keys, DELETE_WINDOW, (k) => cluster.delete(k));
      } finally {
        await cluster.close();
      }
    },
    errorCode(e) {
      return e instanceof ClusterError ? e.code : 'ERROR';
    },
  };
}

/** Runs fn over items with at most `window` calls pending at once; rejects with the first error. */
export async function forEachWindowed<T>(items: readonly T[], window: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < Math.min(window, items.length); i++) workers.push(worker());
  await Promise.all(workers);
}
