// A member as this node sees it: its identity, its link, what it last said of its load, and what
// failure detection keeps about it, and how a newly learnt one starts. Shared by the membership parts.
import type { MemberInfo } from '../../protocol/messages/node.js';
import type { PeerLink } from '../peer-link.js';

export interface Member {
  addr: string;
  incarnation: bigint;
  role: number;
  state: number;
  link: PeerLink | null;
  lastHeardMs: number;
  primaries: number;
  backups: number;
  transferring: number;
  dialing: boolean;
  nextDialMs: number;
  dialFailures: number;
  /** When this node learnt of it: the lease grants a new member this long before its first answer. */
  addedMs: number;
  /** Send time (this node's clock) of the latest heartbeat this member answered; -Infinity until it answered. */
  answeredOriginMs: number;
  /** When this node last answered one of its heartbeats (this node's clock); -Infinity until then (lease-fence.ts). */
  answeredToMs: number;
  /** When the leases its answers granted to members it declared dead end, by its latest heartbeat or reply (this node's clock). */
  fenceEndsMs: number;
  /** When a dial to it was last refused (this node's clock), if ever. */
  refusedAtMs: number | undefined;
  /** The members it suspects (`addr#incarnation`), as its latest heartbeat or reply said, and when that came. */
  reportedSuspects: ReadonlySet<string>;
  reportedAtMs: number;
  /** Data nodes in its view, itself included, as its latest heartbeat or reply said (0 until one came). */
  reportedViewSize: number;
}

/**
 * A member just learnt (`nowMs`): heard now, nothing answered or reported yet. `dialFirst`: this
 * node has the lower address and dials at once; the other side waits a second before it dials.
 */
export function newMember(info: MemberInfo, nowMs: number, dialFirst: boolean): Member {
  return {
    ...info,
    link: null,
    lastHeardMs: nowMs,
    primaries: 0,
    backups: 0,
    transferring: 0,
    dialing: false,
    nextDialMs: nowMs + (dialFirst ? 0 : 1000),
    dialFailures: 0,
    addedMs: nowMs,
    answeredOriginMs: Number.NEGATIVE_INFINITY,
    answeredToMs: Number.NEGATIVE_INFINITY,
    fenceEndsMs: Number.NEGATIVE_INFINITY,
    refusedAtMs: undefined,
    reportedSuspects: new Set(),
    reportedAtMs: Number.NEGATIVE_INFINITY,
    reportedViewSize: 0,
  };
}

/** Bound on every node-to-node call of the membership parts. */
export const MEMBER_CALL_TIMEOUT_MS = 5000;

export function memberKey(addr: string, incarnation: bigint): string {
  return `${addr}#${incarnation}`;
}
