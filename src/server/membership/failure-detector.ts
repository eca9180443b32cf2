// When a silent member may be declared dead: this node suspects it, and a majority confirms.
// Pure, so that the rule can be checked over every way to cut a network (test/unit/failure-detector).
//
// BACKGROUND: a cut of the single link between two nodes A and B, while both still hear a third
// node C, made each of A and B declare the other dead (each heard two of three: a quorum) and take
// the other's buckets over at the same epoch; after the heal the tie dropped writes one side had
// acknowledged. Hearing a majority is not enough: the majority must also not hear the suspect.
// BEHAVIOR: every node reports in its heartbeats (and their replies) the members it suspects. A
// node declares a member dead only when the nodes that suspect it too, and that it hears, form a
// side with quorum (sideHasQuorum: more than half of the data nodes, or exactly half holding the
// lowest address). In the single-link cut, C hears both and suspects neither, so neither A nor B
// gets a confirmation: both keep their members, their write leases lapse (a member does not answer
// them), and they serve nothing of their own until the link heals; no acknowledged write is lost.
// A node that is really gone is suspected by everyone who heard it, and is declared once a
// majority's reports say so. Nodes killed together do not confirm each other: a dead node reports
// nothing, and an old report (from before the death) named no suspect.
import { sideHasQuorum } from './quorum.js';

/** A member is suspected once silent past the dead-after time, or half of it after a refused dial. */
export function isSuspect(nowMs: number, lastHeardMs: number, refusedAtMs: number | undefined, deadAfterMs: number): boolean {
  const silentMs = nowMs - lastHeardMs;
  if (silentMs > deadAfterMs) return true;
  // A refused dial ends a member sooner, but only once its lease must be over (silent half the
  // dead-after time): a firewall that rejects can refuse a live node's port just as a death does.
  return refusedSinceHeard(refusedAtMs, lastHeardMs) && silentMs >= deadAfterMs / 2;
}

/** Whether a dial to a member was refused since it was last heard: its port is open to no process. */
export function refusedSinceHeard(refusedAtMs: number | undefined, lastHeardMs: number): boolean {
  return refusedAtMs !== undefined && refusedAtMs >= lastHeardMs;
}

/** Another data node (not the suspect), as this node sees it when judging a suspicion. */
export interface Witness {
  addr: string;
  /** It answered one of this node's recent heartbeats (see Membership.hasQuorum). */
  heard: boolean;
  /** Its latest recent report names the suspect among the members it suspects. */
  suspectsTarget: boolean;
  /** Its latest recent report names the judging node too. */
  suspectsMe: boolean;
}

/**
 * Whether `me`, which suspects `target`, may declare it dead: `me` and the heard witnesses that
 * suspect it too form a side with quorum among all data nodes (the target and every other witness
 * count against). A witness whose report also suspects `me` confirms nothing: it heard neither
 * of us (it was the one cut off: after an isolation its first reports name everyone), and counting
 * it let both ends of a cut link declare each other dead (the simulator's seed 283).
 * BEHAVIOR: with no other data node (two in all) that is the tie-break of
 * sideHasQuorum: the lower address may, the higher may not; the higher may when `refused`, that is,
 * a dial to the target was refused after it fell silent: its port is open to no process, so the
 * target is gone, not cut off (a cut is silence). A firewall that rejects rather than drops would
 * fool this; docs/architecture.md says so.
 * `unseen`: data nodes that another member's view holds and this node's does not (a death it
 * declared that the other did not take, say). They count against, and one of them may hold the
 * lowest address: a node that believes the cluster is two must not break a tie the other node
 * does not know of (the simulator's seed 7590: A, in the view {A, C}, declared C dead as the lower
 * of two while C, in the view {A, B, C}, declared A dead with B).
 */
export function suspicionConfirmed(me: string, target: string, witnesses: readonly Witness[], refused = false, unseen = 0): boolean {
  if (witnesses.length === 0 && refused && unseen === 0) return true;
  const others = [{ addr: target, silentMs: Number.POSITIVE_INFINITY }];
  for (const w of witnesses) others.push({ addr: w.addr, silentMs: w.heard && w.suspectsTarget && !w.suspectsMe ? 0 : Number.POSITIVE_INFINITY });
  for (let i = 0; i < unseen; i++) others.push({ addr: '', silentMs: Number.POSITIVE_INFINITY });
  return sideHasQuorum(me, others, 0);
}
