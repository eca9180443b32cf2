// Benchmark: connect time of an original-style (2012 C library) client, from its hello to the ack
// of the last hashmask push, against a node of 256 and of 4,096 buckets; pushes are paced one at a
// time (docs/protocol.md, Pacing after hello). `npm run bench:legacy [-- --rounds N]`.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { OriginalClient } from '../test/helpers/original-client.js';
import { startBenchNode, stopAllBenchNodes } from './node-proc.js';

const ROUNDS_DEFAULT = 20;
const ROUNDS_MAX = 1000;

async function connectOnce(addr: string, buckets: number): Promise<number> {
  const c = await OriginalClient.connect(addr);
  try {
    const start = performance.now();
    await c.hello();
    await c.until(`${buckets} hashmasks acked`, () => c.hashmasksSeen >= buckets && c.pushesOverlapping === 0, 60_000);
    // The last ack leaves on the client's next turn: the connect is over when it is written.
    await new Promise((resolve) => setImmediate(resolve));
    const ms = performance.now() - start;
    if (c.faults.length > 0) throw new Error(`the original client failed: ${c.faults.join('; ')}`);
    return ms;
  } finally {
    c.destroy();
    await c.closed;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: String(ROUNDS_DEFAULT) } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > ROUNDS_MAX) throw new Error(`--rounds must be 1..${ROUNDS_MAX}`);
  console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores), node ${process.version}`);
  console.log('buckets  rounds  median ms  p90 ms  max ms');
  for (const [mask, buckets] of [['0xff', 256], ['0xfff', 4096]] as const) {
    const node = await startBenchNode(undefined, ['--mask', mask]);
    const times: number[] = [];
    await connectOnce(node.addr, buckets); // warm-up, not counted
    for (let i = 0; i < rounds; i++) times.push(await connectOnce(node.addr, buckets));
    times.sort((a, b) => a - b);
    const f = (x: number): string => x.toFixed(1).padStart(9);
    console.log(`${String(buckets).padStart(7)}  ${String(rounds).padStart(6)} ${f(percentile(times, 50))} ${f(percentile(times, 90)).slice(2)} ${f(times[times.length - 1]!).slice(2)}`);
  }
}

main()
  .catch((e: unknown) => {
    console.error(`bench:legacy: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => stopAllBenchNodes());
