// The Redis side of `--compare-redis`: ioredis (a dev dependency, loaded only when asked for) with
// auto-pipelining, behind the same KvStore interface as our client.
import { parseAddress } from '../shared/address.js';
import { forEachWindowed, type KvConnection, type KvStore } from './target.js';

/** The slice of ioredis gamut uses. */
interface RedisClient {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
  incr(key: string): Promise<number>;
  mget(...keys: string[]): Promise<(string | null)[]>;
  del(...keys: string[]): Promise<number>;
  connect(): Promise<void>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: 'error', listener: (e: Error) => void): unknown;
}

interface RedisClientOptions {
  host: string;
  port: number;
  enableAutoPipelining: boolean;
  lazyConnect: boolean;
  maxRetriesPerRequest: number;
  connectTimeout: number;
  retryStrategy: (times: number) => number | null;
}

type RedisConstructor = new (opts: RedisClientOptions) => RedisClient;

/** ioredis is missing or unusable: a usage problem, reported in one line. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

const DELETE_BATCH_KEYS = 1000;
const CONNECT_TIMEOUT_MS = 3000;
const RECONNECT_ATTEMPTS_MAX = 3;

async function loadRedisConstructor(): Promise<RedisConstructor> {
  // A variable specifier keeps the build independent of the optional package.
  const specifier = 'ioredis';
  let mod: unknown;
  try {
    mod = await import(specifier);
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new RedisUnavailableError(`--compare-redis needs the ioredis package (npm install --save-dev ioredis): ${why}`);
  }
  const m = mod as { Redis?: unknown; default?: unknown };
  const ctor = typeof m.Redis === 'function' ? m.Redis : m.default;
  if (typeof ctor !== 'function') throw new RedisUnavailableError('the installed ioredis exports no Redis client class');
  return ctor as RedisConstructor;
}

class RedisConnection implements KvConnection {
  constructor(private readonly client: RedisClient) {}
  set(key: string, value: string): Promise<unknown> {
    return this.client.set(key, value);
  }
  get(key: string): Promise<unknown> {
    return this.client.get(key);
  }
  incr(key: string): Promise<unknown> {
    return this.client.incr(key);
  }
  mget(keys: string[]): Promise<unknown[]> {
    return this.client.mget(...keys);
  }
  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

async function openClient(ctor: RedisConstructor, host: string, port: number): Promise<RedisClient> {
  const client = new ctor({
    host,
    port,
    enableAutoPipelining: true,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => (times > RECONNECT_ATTEMPTS_MAX ? null : 50 * times),
  });
  let lastError: Error | null = null;
  client.on('error', (e) => (lastError = e)); // failures surface as rejected commands
  try {
    await client.connect();
  } catch (e) {
    client.disconnect();
    const why = (lastError as Error | null)?.message ?? (e instanceof Error ? e.message : String(e));
    throw new RedisUnavailableError(`cannot connect to Redis at ${host}:${port}: ${why}`);
  }
  return client;
}

/** A KvStore for the Redis server at "host:port"; rejects if ioredis cannot be loaded. */
export async function redisStore(address: string): Promise<KvStore> {
  const { host, port } = parseAddress(address);
  const ctor = await loadRedisConstructor();
  return {
    name: 'redis',
    async open() {
      return new RedisConnection(await openClient(ctor, host, port));
    },
    async deleteKeys(keys) {
      const client = await openClient(ctor, host, port);
      const batches: string[][] = [];
      for (let i = 0; i < keys.length; i += DELETE_BATCH_KEYS) batches.push(keys.slice(i, i + DELETE_BATCH_KEYS));
      try {
        await forEachWindowed(batches, 4, (b) => client.del(...b));
      } finally {
        await new RedisConnection(client).close();
      }
    },
    errorCode(e) {
      return e instanceof Error && e.name.length > 0 ? e.name : 'ERROR';
    },
  };
}
