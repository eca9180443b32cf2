// SeededRandom: the simulator's Random, xoshiro128** seeded through splitmix32. The same seed gives
// the same numbers on every run and platform (32-bit integer arithmetic only).
import { assert } from '../shared/assert.js';
import type { Random } from '../shared/random.js';

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    assert(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff, `seed ${seed} is not a 32-bit unsigned integer`);
    const st = { s: seed };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
  }

  /** The next 32 random bits, as an unsigned integer. */
  next32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A float in [0, 1), with 53 random bits. */
  float(): number {
    const hi = this.next32() >>> 5; // 27 bits
    const lo = this.next32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** An integer in [minIncl, maxExcl), unbiased (rejection sampling); the range at most 2^32 wide. */
  int(minIncl: number, maxExcl: number): number {
    assert(Number.isInteger(minIncl) && Number.isInteger(maxExcl) && maxExcl > minIncl, `bad range [${minIncl}, ${maxExcl})`);
    const range = maxExcl - minIncl;
    assert(range <= 2 ** 32, `range ${range} is wider than 2^32`);
    const limit = 2 ** 32 - (2 ** 32 % range);
    for (;;) {
      const x = this.next32();
      if (x < limit) return minIncl + (x % range);
    }
  }

  /** A float in [minIncl, maxExcl). */
  between(minIncl: number, maxExcl: number): number {
    return minIncl + this.float() * (maxExcl - minIncl);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'pick from an empty list');
    return items[this.int(0, items.length)]!;
  }

  bytes(count: number): Buffer {
    const out = Buffer.alloc(count);
    for (let i = 0; i < count; i += 4) {
      const x = this.next32();
      for (let k = 0; k < 4 && i + k < count; k++) out[i + k] = (x >>> (8 * k)) & 0xff;
    }
    return out;
  }

  /**
   * An independent generator drawn from this one: give each part of a simulation its own, so a
   * part that draws more numbers does not shift what the others draw.
   */
  fork(): SeededRandom {
    return new SeededRandom(this.next32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
