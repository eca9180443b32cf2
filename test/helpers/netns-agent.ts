// Test helper run inside a test network namespace (`ip netns exec NS node netns-agent.js ...`),
// where the test process itself cannot reach: client work whose results go back on stdout.
//   write SEEDS TAG MS   full-wait writes of unique keys until SIGTERM or MS pass; prints "A key"
//                        per acknowledged write, then one JSON line with the rejections by code
//   read SEEDS           reads the keys given on stdin (one a line); prints one JSON line
//   write2 SEEDS TAG MS LOOPS  LOOPS loops each write unique keys twice (version 1, then 2), full
//                        wait, until SIGTERM or MS pass; prints "A key version" per acknowledged
//                        write, then one JSON line with the rejections by code
//   read2 SEEDS          reads "key version" lines on stdin: a key is lost if its value is missing
//                        or older than that version; prints one JSON line (lost keys: the first 1000)
//   reach ADDR MS        opens a TCP connection to ADDR; prints one JSON line: its outcome
//                        ('connected', 'timeout' after MS, or the error code)
//   goal ADDRS           prints one JSON line: whether those nodes are in the goal state
//   health ADDR          prints one JSON line: that node's own serving and quorum flags (stats)
// SEEDS and ADDRS are comma-separated host:port lists. The value of key k is always `${k}=v`
// (write/read), or `${k}=vN` for its version N (write2/read2).
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { Cluster, ClusterError } from '../../src/index.js';
import { inGoalState } from './cluster.js';

const WRITERS = 4;
const KEYS_MAX = 1_000_000;
const LOOPS_MAX = 64;
const VERSIONS = 2;
const READ_TRIES = 3;
const LOST_KEYS_LISTED = 1000;

export function valueOf(key: string): string {
  return `${key}=v`;
}

async function write(seeds: string[], tag: string, ms: number): Promise<void> {
  const c = new Cluster({ seeds, requestTimeoutMs: 2000 });
  await c.connect();
  let stopped = false;
  const stop = (): void => {
    stopped = true;
  };
  process.once('SIGTERM', stop);
  const timer = setTimeout(stop, ms);
  const rejections: Record<string, number> = {};
  let next = 0;
  const loop = async (): Promise<void> => {
    while (!stopped && next < KEYS_MAX) {
      const key = `${tag}-${next++}`;
      try {
        await c.set(key, valueOf(key));
        process.stdout.write(`A ${key}\n`);
      } catch (e) {
        const code = e instanceof ClusterError ? e.code : 'OTHER';
        rejections[code] = (rejections[code] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 20)); // no busy loop while nothing answers
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, loop));
  clearTimeout(timer);
  await c.close();
  process.stdout.write(`${JSON.stringify({ done: true, tried: next, rejections })}\n`);
}

async function read(seeds: string[]): Promise<void> {
  const keys: string[] = [];
  for await (const line of createInterface({ input: process.stdin })) if (line !== '') keys.push(line);
  const c = new Cluster({ seeds, requestTimeoutMs: 10_000 });
  await c.connect();
  const lost: string[] = [];
  let i = 0;
  const reader = async (): Promise<void> => {
    while (i < keys.length) {
      const key = keys[i++]!;
      const got = await c.get(key);
      if (got !== valueOf(key)) lost.push(`${key}=${String(got)}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, reader));
  await c.close();
  process.stdout.write(`${JSON.stringify({ checked: keys.length, lostCount: lost.length, lost: lost.slice(0, 10) })}\n`);
}

export function versionedValue(key: string, version: number): string {
  return `${key}=v${version}`;
}

/** The version in a value written by write2, or undefined if it is not one of this key's. */
function versionOf(key: string, value: unknown): number | undefined {
  if (typeof value !== 'string' || !value.startsWith(`${key}=v`)) return undefined;
  const n = Number(value.slice(key.length + 2));
  return Number.isInteger(n) && n >= 1 && n <= VERSIONS ? n : undefined;
}

/**
 * Each key is written VERSIONS times in a row, so that a value that goes back to an older version
 * (an older copy winning after a cut) shows, and never again after: no later write can hide a loss.
 */
async function write2(seeds: string[], tag: string, ms: number, loops: number): Promise<void> {
  if (!Number.isInteger(loops) || loops < 1 || loops > LOOPS_MAX) throw new Error(`LOOPS must be 1..${LOOPS_MAX} (got ${loops})`);
  const c = new Cluster({ seeds, requestTimeoutMs: 2000 });
  await c.connect();
  let stopped = false;
  const stop = (): void => {
    stopped = true;
  };
  process.once('SIGTERM', stop);
  const timer = setTimeout(stop, ms);
  const rejections: Record<string, number> = {};
  let tried = 0;
  const loop = async (id: number): Promise<void> => {
    for (let i = 0; !stopped && tried < KEYS_MAX; i++) {
      const key = `${tag}-${id}-${i}`;
      for (let version = 1; version <= VERSIONS && !stopped; version++) {
        tried++;
        try {
          await c.set(key, versionedValue(key, version));
          process.stdout.write(`A ${key} ${version}\n`);
        } catch (e) {
          const code = e instanceof ClusterError ? e.code : 'OTHER';
          rejections[code] = (rejections[code] ?? 0) + 1;
          await new Promise((r) => setTimeout(r, 20)); // no busy loop while nothing answers
        }
      }
    }
  };
  await Promise.all(Array.from({ length: loops }, (_, id) => loop(id)));
  clearTimeout(timer);
  await c.close();
  process.stdout.write(`${JSON.stringify({ done: true, tried, rejections })}\n`);
}

async function read2(seeds: string[]): Promise<void> {
  const expected: [string, number][] = [];
  for await (const line of createInterface({ input: process.stdin })) {
    const [key, version] = line.split(' ');
    if (key !== undefined && key !== '') expected.push([key, Number(version)]);
  }
  const c = new Cluster({ seeds, requestTimeoutMs: 5000 });
  await c.connect();
  const lost: string[] = [];
  const lostKeys: string[] = [];
  const unreadable: string[] = [];
  let i = 0;
  const reader = async (): Promise<void> => {
    while (i < expected.length) {
      const [key, version] = expected[i++]!;
      let got: unknown;
      for (let t = 0; t < READ_TRIES && got === undefined; t++) got = await c.get(key).catch(() => undefined);
      if (got === undefined) unreadable.push(key);
      else if ((versionOf(key, got) ?? 0) < version) {
        lost.push(`${key}=${String(got)} (acknowledged v${version})`);
        lostKeys.push(key);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, reader));
  await c.close();
  const out = { checked: expected.length, lostCount: lost.length, lost: lost.slice(0, 10), lostKeys: lostKeys.slice(0, LOST_KEYS_LISTED), unreadableCount: unreadable.length, unreadable: unreadable.slice(0, 10) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** Whether a TCP connection to addr opens: a silent cut shows as a timeout, not as a refusal. */
function reach(addr: string, ms: number): Promise<void> {
  const at = addr.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = connect(Number(addr.slice(at + 1)), addr.slice(0, at));
    const done = (outcome: string): void => {
      clearTimeout(timer);
      s.destroy();
      process.stdout.write(`${JSON.stringify({ outcome })}\n`);
      resolve();
    };
    const timer = setTimeout(() => done('timeout'), ms);
    s.once('connect', () => done('connected'));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'));
  });
}

async function main(): Promise<void> {
  const [mode, list, tag, ms] = process.argv.slice(2);
  const addrs = (list ?? '').split(',').filter((a) => a !== '');
  if (mode === 'write' && tag !== undefined) return write(addrs, tag, Number(ms ?? 60_000));
  if (mode === 'read') return read(addrs);
  if (mode === 'write2' && tag !== undefined) return write2(addrs, tag, Number(ms ?? 60_000), Number(process.argv[6] ?? WRITERS));
  if (mode === 'read2') return read2(addrs);
  if (mode === 'reach' && addrs.length === 1) return reach(addrs[0]!, Number(tag ?? 1000));
  if (mode === 'health') {
    const c = new Cluster({ seeds: addrs, requestTimeoutMs: 2000 });
    await c.connect();
    const own = (await c.stats()).find((x) => x['addr'] === addrs[0]) as Record<string, unknown> | undefined;
    await c.close();
    process.stdout.write(`${JSON.stringify({ serving: own?.['serving'] ?? null, quorum: own?.['quorum'] ?? null })}\n`);
    return;
  }
  if (mode === 'goal') {
    process.stdout.write(`${JSON.stringify({ goal: await inGoalState(addrs).catch(() => false) })}\n`);
    return;
  }
  throw new Error(`usage: netns-agent write SEEDS TAG MS | read SEEDS | write2 SEEDS TAG MS LOOPS | read2 SEEDS | reach ADDR MS | goal ADDRS | health ADDR (got ${process.argv.slice(2).join(' ')})`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(2);
  },
);
