// Randomness as the node sees it: one Random interface and realRandom over node:crypto. The
// simulator passes a seeded generator instead (src/sim/random.ts), so a run replays exactly.
import { randomBytes, randomInt } from 'node:crypto';

export interface Random {
  /** An integer in [minIncl, maxExcl); the range must be at most 2^48 wide. */
  int(minIncl: number, maxExcl: number): number;
  /** A float in [0, 1). */
  float(): number;
  /** count random bytes. */
  bytes(count: number): Buffer;
}

const FLOAT_STEPS = 2 ** 48;

export const realRandom: Random = {
  int: (minIncl, maxExcl) => randomInt(minIncl, maxExcl),
  float: () => randomInt(0, FLOAT_STEPS) / FLOAT_STEPS,
  bytes: (count) => randomBytes(count),
};
