// Item versions: a 64-bit number that changes with every write to an item and never repeats for
// its key. One home for how a version is made: from the bucket's (epoch, seq) at the primary's write.

/**
 * BACKGROUND: one node writes a bucket at a given epoch (the one-writer check), each of its writes
 * takes the bucket's next seq, and every ownership change bumps the epoch. So (epoch, seq) never
 * repeats for a bucket, across failover and hand-over, and the backup, which gets both with every
 * push (sync_update), computes the same version as the primary. BEHAVIOR: an item keeps the pair
 * (two small numbers: no allocation on the write path); clients see version = epoch << 40 | seq,
 * unique while epochs stay below 2^23 and seqs below 2^40 (a trillion writes per bucket). 0 is
 * never a version (seqs start at 1): it means "none", or "unknown" for an item of a save file.
 */
const SEQ_BITS = 40n;

/** What an item keeps of its version. */
export interface VersionStamp {
  /** The bucket's epoch at the write that made the item's current state (0: unknown). */
  vEpoch: number;
  /** The bucket's seq of that write (0: unknown). */
  vSeq: number;
}

export function versionOf(it: VersionStamp): bigint {
  return it.vSeq === 0 ? 0n : (BigInt(it.vEpoch) << SEQ_BITS) | BigInt(it.vSeq);
}
