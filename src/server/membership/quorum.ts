// The majority rule for declaring silent members dead (see Membership.hasQuorum): pure, so that
// "two sides of a cut never both declare the other dead" can be checked over every way to cut.

export interface OtherNode {
  addr: string;
  /** Time since this node last heard from it. */
  silentMs: number;
}

/**
 * Whether the side of `me` (me and the others it hears) may declare the rest dead: when the side
 * holds more than half of the data nodes, or exactly half including the lowest address of all.
 * BACKGROUND: two nodes cannot tell a cut from a death, and a cluster shrinks to two by deaths, so
 * with two the lower address is the tie-breaker: it may declare the other dead on silence, the
 * other never does (unless the lower one's process is known gone: failure-detector.ts). Heard means
 * silent at most `heardWithinMs`, well below the silence that makes a death (half of it, for the
 * dead-after time): nodes cut off together fall silent together, and the first to cross the line
 * must not find the others still counted as heard.
 */
export function sideHasQuorum(me: string, others: readonly OtherNode[], heardWithinMs: number): boolean {
  const total = others.length + 1;
  let heard = 1;
  let lowest = me;
  let lowestHeard = true;
  for (const o of others) {
    const isHeard = o.silentMs <= heardWithinMs;
    if (isHeard) heard++;
    if (o.addr < lowest) {
      lowest = o.addr;
      lowestHeard = isHeard;
    }
  }
  if (heard * 2 !== total) return heard * 2 > total;
  return lowestHeard;
}
