// The bucket table a node believes in: per bucket an epoch, a primary and a backup ('' = none).
// BACKGROUND: only a bucket's primary (or, on failover, its backup) changes its entry, and every
// change bumps the epoch. BEHAVIOR: the newer epoch always wins; equal epochs with different owners
// (two nodes decided at once after a failure) are ordered by owner names so every node picks the same.
import { assert, fail } from '../shared/assert.js';
import { isValidMask, splitBucket } from '../shared/buckets.js';
import type { BucketEntry } from '../protocol/messages/node.js';

export interface Owners {
  epoch: number;
  primary: string;
  backup: string;
}

/**
 * A stored entry: a copy with exactly these fields in this order. BACKGROUND: every request reads an
 * entry (routing.ts); entries of one shape keep that read monomorphic, where a spread copy took
 * along whatever fields and order its source had.
 */
function entryOf(o: Owners): Owners {
  return { epoch: o.epoch, primary: o.primary, backup: o.backup };
}

export function compareOwners(a: Owners, b: Owners): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  // At one epoch an entry with an owner beats an ownerless mark ('' sorts first): a mark made on a
  // stale view must not undo the decision of a node that holds the bucket (ownership.ts).
  if (a.primary !== b.primary) return a.primary < b.primary ? -1 : 1;
  if (a.backup !== b.backup) return a.backup < b.backup ? -1 : 1;
  return 0;
}

export class BucketTable {
  private entries: Owners[];

  constructor(
    public mask: number,
    fill: Owners,
  ) {
    assert(isValidMask(mask), 'table mask must be valid');
    this.entries = Array.from({ length: mask + 1 }, () => entryOf(fill));
  }

  get size(): number {
    return this.entries.length;
  }

  /** No decision in it yet (every epoch 0): the table of a node that has not heard from its cluster. */
  get blank(): boolean {
    return this.entries.every((e) => e.epoch === 0);
  }

  get(b: number): Owners {
    const e = this.entries[b];
    if (e === undefined) fail(`bucket ${b} out of range for mask ${this.mask}`);
    return e;
  }

  /** Sets an entry unconditionally (the local node's own decisions, already known to be newer). */
  set(b: number, owners: Owners): void {
    assert(b >= 0 && b <= this.mask, 'bucket in range');
    assert(owners.primary === '' || owners.primary !== owners.backup, 'primary and backup differ');
    this.entries[b] = entryOf(owners);
  }

  /**
   * Merges an entry received for bucket `hash` under `mask` (which may be narrower than ours: it
   * then covers all our sub-buckets). Returns the buckets that changed.
   */
  merge(mask: number, e: BucketEntry): number[] {
    assert(mask <= this.mask, 'merge of a wider mask needs widen() first');
    const changed: number[] = [];
    const targets = mask === this.mask ? [e.hash & mask] : splitBucket(e.hash & mask, mask, this.mask);
    for (const b of targets) {
      if (compareOwners(e, this.entries[b]!) > 0) {
        this.entries[b] = entryOf(e);
        changed.push(b);
      }
    }
    return changed;
  }

  widen(newMask: number): void {
    assert(isValidMask(newMask) && newMask >= this.mask, 'widen needs a wider mask');
    const old = this.entries;
    const oldMask = this.mask;
    this.entries = Array.from({ length: newMask + 1 }, (_, i) => entryOf(old[i & oldMask]!));
    this.mask = newMask;
  }

  toEntries(): BucketEntry[] {
    return this.entries.map((e, hash) => ({ hash, epoch: e.epoch, primary: e.primary, backup: e.backup }));
  }

  entry(b: number): BucketEntry {
    const e = this.get(b);
    return { hash: b, epoch: e.epoch, primary: e.primary, backup: e.backup };
  }

  /** Primary and backup counts per node address. */
  counts(): Map<string, { primaries: number; backups: number }> {
    const out = new Map<string, { primaries: number; backups: number }>();
    const of = (addr: string) => {
      let c = out.get(addr);
      if (c === undefined) {
        c = { primaries: 0, backups: 0 };
        out.set(addr, c);
      }
      return c;
    };
    for (const e of this.entries) {
      if (e.primary !== '') of(e.primary).primaries++;
      if (e.backup !== '') of(e.backup).backups++;
    }
    return out;
  }

  /** The level of bucket b on node `addr`: 0 primary, 1 backup, -1 not held. */
  level(b: number, addr: string): number {
    const e = this.get(b);
    return e.primary === addr ? 0 : e.backup === addr ? 1 : -1;
  }
}
