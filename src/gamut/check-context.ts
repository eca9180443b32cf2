// What every check case works with: the client, names under the run's prefix (remembered for cleanup),
// expectation helpers, and the two outcomes other than a pass (skipped, failed).
import type { Cluster } from '../index.js';

/** Thrown by a case that does not apply to this cluster (e.g. routing on one node). */
export class CheckSkipped extends Error {
  override name = 'CheckSkipped';
}

/** Thrown by a case whose expectation failed. */
export class CheckFailed extends Error {
  override name = 'CheckFailed';
}

const CLEANUP_WINDOW = 128;
export const CLEANUP_TIMEOUT_MS = 30_000;

/** What a case gets: the client, and key/map names under the run's prefix that are cleaned afterwards. */
export class CheckContext {
  readonly keys = new Set<string>();
  readonly maps = new Set<string>();
  constructor(
    readonly cluster: Cluster,
    readonly prefix: string,
  ) {}

  key(name: string): string {
    const k = `${this.prefix}${name}`;
    this.keys.add(k);
    return k;
  }

  mapName(name: string): string {
    const m = `${this.prefix}map:${name}`;
    this.maps.add(m);
    return m;
  }

  /** Deletes every key and map a case registered; returns how many deletes failed. */
  async cleanup(): Promise<number> {
    const ops: (() => Promise<unknown>)[] = [...this.keys].map((k) => () => this.cluster.delete(k));
    for (const m of this.maps) ops.push(() => this.cluster.map(m).clear());
    let failed = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ops.length) {
        const op = ops[next++]!;
        await op().catch(() => failed++);
      }
    };
    await withTimeout(Promise.all(Array.from({ length: Math.min(CLEANUP_WINDOW, ops.length) }, worker)), CLEANUP_TIMEOUT_MS, 'cleanup');
    this.keys.clear();
    this.maps.clear();
    return failed;
  }
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new CheckFailed(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}


/** Text form of any value for failure messages (bigint with n, Buffer by length and head). */
export function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `<${v.length} bytes ${Buffer.from(v.subarray(0, 8)).toString('hex')}...>`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v instanceof Map) return `Map(${[...v.entries()].map(([k, x]) => `${k}=${show(x)}`).join(', ')})`;
  return String(v);
}

/** Equality of stored values: same type and content (binary by bytes). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  return a === b;
}

export function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (!sameValue(actual, expected)) throw new CheckFailed(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

export function expectTrue(cond: boolean, what: string): void {
  if (!cond) throw new CheckFailed(what);
}

/** Expects the call to fail (throw or reject) with an error carrying `code`. */
export async function expectRejects(call: () => Promise<unknown>, code: string, what: string): Promise<void> {
  let result: unknown;
  try {
    result = await call();
  } catch (e) {
    const got = (e as { code?: unknown }).code;
    if (got === code) return;
    throw new CheckFailed(`${what}: expected ${code}, got ${e instanceof Error ? `${e.name} ${String(got)}: ${e.message}` : String(e)}`);
  }
  throw new CheckFailed(`${what}: expected ${code}, got a result ${show(result)}`);
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until fn() is true; false when the bound passes first. */
export async function pollUntil(fn: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(everyMs);
  }
  return fn();
}
