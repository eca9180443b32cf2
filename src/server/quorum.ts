// The majority rule for declaring silent members dead (see Membership.hasQuorum): pure, so that
// "two sides of a cut never both have a quorum" can be checked over every way to cut a cluster.

export interface OtherNode {
  addr: string;
  /** Heard from within the dead-after time. */
  heard: boolean;
}

/**
 * Whether the side of `me` (me and the others it hears) may declare the rest dead: always with
 * fewer than three data nodes in all (two cannot tell a cut from a death); else when the side
 * holds more than half of them, or exactly half including the lowest address of all.
 */
export function sideHasQuorum(me: string, others: readonly OtherNode[]): boolean {
  const total = others.length + 1;
  if (total < 3) return true;
  let heard = 1;
  let lowest = me;
  let lowestHeard = true;
  for (const o of others) {
    if (o.heard) heard++;
    if (o.addr < lowest) {
      lowest = o.addr;
      lowestHeard = o.heard;
    }
  }
  if (heard * 2 !== total) return heard * 2 > total;
  return lowestHeard;
}
