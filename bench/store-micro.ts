// The store alone, in one process: CPU per operation on 10k hot keys while the store holds N other
// items (helper S, issue 12: what memory latency costs a store of millions of items).
//   node dist/bench/store-micro.js N
import { Store } from '../src/server/store.js';
import type { BucketData } from '../src/server/bucket-data.js';
import type { Value } from '../src/protocol/values.js';

const ROUNDS = 5;
const REPS = 100;
const HOT_KEYS = 10_000;
const n = Number(process.argv[2] ?? '0');
if (!(n >= 0 && n <= 50_000_000)) throw new Error('N must be 0..50M');

const store = new Store(255);
const value: Value = { t: 3, v: Buffer.alloc(100, 7) };
const put = (key: string, seq: number): void => store.put(store.bucketOf('', key), '', key, { value, expiresAtMs: 0, vEpoch: 1, vSeq: seq });
for (let i = 0; i < n; i++) put(`key:${i}`, i);
const hot: [BucketData, string, number][] = [];
for (let i = 0; i < HOT_KEYS; i++) {
  const key = `hot:${i}`;
  put(key, 1);
  const data = store.bucket(store.bucketOf('', key))!;
  hot.push([data, key, data.items.index.get(key)]);
}

/** ns of CPU per call of f over the hot keys, per round. */
function time(f: (data: BucketData, key: string, slot: number, rep: number) => void): string {
  const out: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = process.cpuUsage();
    for (let rep = 0; rep < REPS; rep++) for (const [data, key, slot] of hot) f(data, key, slot, rep);
    const d = process.cpuUsage(t0);
    out.push((((d.user + d.system) * 1000) / (REPS * hot.length)).toFixed(0));
  }
  return out.join(' ');
}

let sink = 0;
console.log(`${n} items, ns per op over ${HOT_KEYS} hot keys, ${ROUNDS} rounds:`);
console.log(`  Store.put        ${time((_d, key, _s, rep) => put(key, rep))}`);
console.log(`  index.get        ${time((d, key) => void (sink += d.items.index.get(key)))}`);
console.log(`  ItemSlots.set    ${time((d, _k, slot, rep) => d.slots.set(slot, value, 0, rep, 1, rep))}`);
console.log(`  Store.read       ${time((_d, key) => void (sink += store.read(store.bucketOf('', key), '', key, 0, null)!.vSeq))}`);
if (sink < 0) console.log(sink);
