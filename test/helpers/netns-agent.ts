// Test helper run inside a test network namespace (`ip netns exec NS node netns-agent.js ...`),
// where the test process itself cannot reach: client work whose results go back on stdout.
//   write SEEDS TAG MS   full-wait writes of unique keys until SIGTERM or MS pass; prints "A key"
//                        per acknowledged write, then one JSON line with the rejections by code
//   read SEEDS           reads the keys given on stdin (one a line); prints one JSON line
//   goal ADDRS           prints one JSON line: whether those nodes are in the goal state
//   health ADDR          prints one JSON line: that node's own serving and quorum flags (stats)
// SEEDS and ADDRS are comma-separated host:port lists. The value of key k is always `${k}=v`.
import { createInterface } from 'node:readline';
import { Cluster, ClusterError } from '../../src/index.js';
import { inGoalState } from './cluster.js';

const WRITERS = 4;
const KEYS_MAX = 1_000_000;

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

async function main(): Promise<void> {
  const [mode, list, tag, ms] = process.argv.slice(2);
  const addrs = (list ?? '').split(',').filter((a) => a !== '');
  if (mode === 'write' && tag !== undefined) return write(addrs, tag, Number(ms ?? 60_000));
  if (mode === 'read') return read(addrs);
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
  throw new Error(`usage: netns-agent write SEEDS TAG MS | read SEEDS | goal ADDRS | health ADDR (got ${process.argv.slice(2).join(' ')})`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(2);
  },
);
