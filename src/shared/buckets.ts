// Bucket math: masks of the form 2^n - 1, bucket = hash AND mask, and widening (splitting).
import { assert, fail } from './assert.js';

export const DEFAULT_MASK = 0xff;
export const MAX_MASK = 0xffff;

export function isValidMask(mask: number): boolean {
  return Number.isInteger(mask) && mask > 0 && mask <= MAX_MASK && ((mask + 1) & mask) === 0;
}

export function bucketCount(mask: number): number {
  if (!isValidMask(mask)) fail(`invalid mask ${mask}`);
  return mask + 1;
}

export function bucketOf(hash: number, mask: number): number {
  return (hash & mask) >>> 0;
}

/** The buckets that bucket `hash` under `oldMask` becomes under the wider `newMask`. */
export function splitBucket(hash: number, oldMask: number, newMask: number): number[] {
  assert(isValidMask(oldMask) && isValidMask(newMask) && newMask >= oldMask, 'split needs a wider mask');
  const out: number[] = [];
  const step = oldMask + 1;
  for (let h = hash & oldMask; h <= newMask; h += step) out.push(h);
  return out;
}

/** Re-index a per-bucket table onto a wider mask: new[i] = old[i AND oldMask]. */
export function widenTable<T>(old: readonly T[], oldMask: number, newMask: number, copy: (v: T) => T): T[] {
  assert(old.length === oldMask + 1, 'table length must match its mask');
  assert(newMask >= oldMask && isValidMask(newMask), 'widen needs a wider valid mask');
  const out = new Array<T>(newMask + 1);
  for (let i = 0; i <= newMask; i++) out[i] = copy(old[i & oldMask]!);
  return out;
}
