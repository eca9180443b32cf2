// The client's view of the bucket map: mask, and per bucket {epoch, primary, backup}. Newer epochs
// win; stale updates are ignored; a wider mask re-indexes the table (new[i] = old[i & oldMask]).
import { DEFAULT_MASK, isValidMask, widenTable } from '../shared/buckets.js';
import { fnv1aUtf8 } from '../shared/fnv.js';
import type { BucketEntry } from '../protocol/messages/node.js';

const OFFSET_BASIS = 2166136261;
const PRIME = 16777619;
/** Epoch of a bucket nothing was learned about yet: any real epoch (>= 0) is newer. */
const NO_EPOCH = -1;

/** FNV-1a over the UTF-8 bytes of a string, without allocating for ASCII text. */
export function keyHash(text: string): number {
  let hash = OFFSET_BASIS;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return fnv1aUtf8(text);
    hash = Math.imul(hash ^ c, PRIME);
  }
  return hash >>> 0;
}

/** A bucket's owners as reported to 'bucketMapChanged' listeners. */
export interface BucketChange {
  mask: number;
  hash: number;
  epoch: number;
  primary: string;
  backup: string;
}

export interface BucketTableSnapshot {
  mask: number;
  epochs: number[];
  primaries: string[];
  backups: string[];
}

export class BucketTable {
  mask = DEFAULT_MASK;
  private epochs: number[];
  private primaries: string[];
  private backups: string[];
  /**
   * BACKGROUND: a tryelsewhere answer names the new primary but carries no epoch.
   * BEHAVIOR: the hint replaces the primary and marks the bucket, so the next entry with the same
   * epoch as the one stored (the authoritative answer) still applies and corrects a wrong hint.
   */
  private hinted: boolean[];

  constructor() {
    const n = this.mask + 1;
    this.epochs = new Array<number>(n).fill(NO_EPOCH);
    this.primaries = new Array<string>(n).fill('');
    this.backups = new Array<string>(n).fill('');
    this.hinted = new Array<boolean>(n).fill(false);
  }

  /** The primary's address for a key hash, '' when unknown. */
  primaryOf(hash: number): string {
    return this.primaries[hash & this.mask]!;
  }

  /** Re-indexes the table onto a wider mask; a narrower or equal mask changes nothing. */
  widen(newMask: number): void {
    if (!isValidMask(newMask) || newMask <= this.mask) return;
    const old = this.mask;
    this.epochs = widenTable(this.epochs, old, newMask, (v) => v);
    this.primaries = widenTable(this.primaries, old, newMask, (v) => v);
    this.backups = widenTable(this.backups, old, newMask, (v) => v);
    this.hinted = widenTable(this.hinted, old, newMask, (v) => v);
    this.mask = newMask;
  }

  /**
   * Applies one bucket's owners under `mask`. An entry under a narrower mask covers several of our
   * buckets; each is updated only where the entry is newer. Returns the buckets that changed.
   */
  apply(mask: number, e: BucketEntry): BucketChange[] {
    if (!isValidMask(mask) || e.hash > mask) return [];
    this.widen(mask);
    const changed: BucketChange[] = [];
    const step = mask + 1;
    for (let i = e.hash & mask; i <= this.mask; i += step) {
      const stored = this.epochs[i]!;
      if (e.epoch < stored || (e.epoch === stored && !this.hinted[i])) continue;
      const same = e.epoch === stored && this.primaries[i] === e.primary && this.backups[i] === e.backup;
      this.epochs[i] = e.epoch;
      this.primaries[i] = e.primary;
      this.backups[i] = e.backup;
      this.hinted[i] = false;
      if (!same) changed.push({ mask: this.mask, hash: i, epoch: e.epoch, primary: e.primary, backup: e.backup });
    }
    return changed;
  }

  /** Applies a whole table (the get_table reply or a table push). */
  applyAll(mask: number, entries: readonly BucketEntry[]): BucketChange[] {
    if (!isValidMask(mask)) return [];
    this.widen(mask);
    const changed: BucketChange[] = [];
    for (const e of entries) for (const c of this.apply(mask, e)) changed.push(c);
    return changed;
  }

  /** A primary named without an epoch (tryelsewhere, hashmask): used until an entry corrects it. */
  hint(mask: number, hash: number, primary: string): void {
    if (!isValidMask(mask) || primary === '') return;
    this.widen(mask);
    const step = mask + 1;
    for (let i = hash & mask; i <= this.mask; i += step) {
      if (this.primaries[i] === primary) continue;
      this.primaries[i] = primary;
      this.hinted[i] = true;
    }
  }

  /** Every node address the table names. */
  addresses(): Set<string> {
    const out = new Set<string>();
    for (let i = 0; i <= this.mask; i++) {
      if (this.primaries[i] !== '') out.add(this.primaries[i]!);
      if (this.backups[i] !== '') out.add(this.backups[i]!);
    }
    return out;
  }

  snapshot(): BucketTableSnapshot {
    return { mask: this.mask, epochs: [...this.epochs], primaries: [...this.primaries], backups: [...this.backups] };
  }
}
