// Item versions: a 64-bit number that changes with every write to an item and never repeats for
// its key. One home for how a version is made: from the bucket's (epoch, seq) at the primary's write.
import { assert } from '../shared/assert.js';

/**
 * BACKGROUND: one node writes a bucket at a given epoch (the one-writer check), each of its writes
 * takes the bucket's next seq, and every ownership change bumps the epoch. So (epoch, seq) never
 * repeats for a bucket, across failover and hand-over, and the backup, which gets both with every
 * push (sync_update), computes the same version as the primary. BEHAVIOR: version = epoch << 40 |
 * seq; epochs up to 2^23 - 1 and seqs up to 2^40 - 1 (a trillion writes per bucket) keep it a
 * positive long. 0 is never a version: it means "none" on the wire.
 */
const SEQ_BITS = 40n;
const SEQ_MAX = 2 ** 40 - 1;
const EPOCH_MAX = 2 ** 23 - 1;

export function itemVersion(epoch: number, seq: number): bigint {
  assert(epoch >= 0 && epoch <= EPOCH_MAX && seq >= 1 && seq <= SEQ_MAX, `version out of range (epoch ${epoch}, seq ${seq})`);
  return (BigInt(epoch) << SEQ_BITS) | BigInt(seq);
}

/** The epoch and seq a version was made from (save files keep the version in a record's stamp). */
export function versionParts(version: bigint): { epoch: number; seq: number } {
  return { epoch: Number(version >> SEQ_BITS), seq: Number(version & ((1n << SEQ_BITS) - 1n)) };
}
