// The load's workload, the same for ours and for Redis: its key and counter names, its value, and
// its deterministic random sequences (which key each worker asks for next).

/** The load's key names, index i -> prefix + i. */
export function keyNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_v, i) => `${prefix}${i}`);
}

/** The counters incr works on, index i -> prefix + 'n' + i (apart from the string keys: no WRONG_TYPE). */
export function counterNames(prefix: string, count: number): string[] {
  return keyNames(`${prefix}n`, count);
}

/** A value of exactly `bytes` ASCII bytes, the same for every run of the same size. */
export function makeValue(bytes: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let out = '';
  for (let i = 0; i < bytes; i++) out += alphabet[(i * 7 + 3) % alphabet.length];
  return out;
}

/** Turns a load's seed into its warm-up's (any constant that changes every bit pattern would do). */
const WARMUP_SEED_XOR = 0x5bd1e995;

/** The warm-up's own seed: the timed phase then does not replay the keys the warm-up just touched. */
export function warmupSeed(seed: number): number {
  return (seed ^ WARMUP_SEED_XOR) >>> 0;
}

/** xorshift32: a small deterministic generator so that both stores see the same sequence. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
}

/** Worker w of W: in chaos mode it owns keys w, w+W, ... so that writes to one key never overlap. */
export function pickKey(rng: Rng, w: number, workers: number, keyCount: number, partitioned: boolean): number {
  if (!partitioned) return Math.floor(rng.next() * keyCount);
  const owned = Math.floor((keyCount - 1 - w) / workers) + 1;
  return w + workers * Math.floor(rng.next() * owned);
}
