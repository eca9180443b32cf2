// Who serves a bucket for a client request, and the one reply for a request this node does not
// serve. Deciding (decideRoute, pure over a narrow view of the node) is apart from replying.
import type { Frame } from '../protocol/header.js';
import { ErrorCode } from '../protocol/commands.js';
import type { Owners } from './table.js';

/** What a request does to its bucket: a read, a write, or a write acknowledged once on two nodes (full wait). */
export type RouteOp = 'read' | 'write' | 'durableWrite';

/** Why a request is answered retryLater. */
export type RetryReason =
  /** This node is the primary and is handing the bucket over (its writes are frozen). */
  | 'frozen'
  /** This node is the primary but does not hold the write lease (a member is silent, or no quorum). */
  | 'noLease'
  /** This node is receiving a copy of the bucket that may make it the primary any moment. */
  | 'incoming'
  /** A full-wait write to a bucket that lost its backup to a death: a new backup is being made. */
  | 'noBackup'
  /** A write to a bucket this node just took over, before every member heard of it (take-over-confirm.ts). */
  | 'unconfirmed';

export type RouteDecision =
  | { readonly kind: 'serve' }
  | { readonly kind: 'redirect'; readonly to: string }
  | { readonly kind: 'retry'; readonly reason: RetryReason }
  | { readonly kind: 'noOwner' };

/** What decideRoute needs to know of the node, and no more. */
export interface RouteView {
  /** This node's address. */
  readonly me: string;
  /** The bucket table's entry for b. */
  owners(b: number): Owners;
  /** b is being handed over by this node (frozen until the outcome is known). */
  isFrozen(b: number): boolean;
  /** A copy of b is arriving here. */
  isIncoming(b: number): boolean;
  /** This node may serve its buckets now (its write lease holds). */
  leaseValid(): boolean;
  /** b lost its backup to a death, and another data member runs that can be the new one (replication.ts). */
  awaitsBackup(b: number): boolean;
  /** Every member heard that this node took b over, if it did lately (take-over-confirm.ts). */
  takeOverConfirmed(b: number): boolean;
}

/** The parts of a node a routeView reads. */
interface RouteViewHost {
  readonly me: string;
  readonly table: { get(b: number): Owners };
  readonly migration: { isFrozen(b: number): boolean; isIncoming(b: number): boolean };
  readonly members: { leaseValid(): boolean };
  readonly repl: { awaitsBackup(b: number): boolean };
  readonly takeOvers: { confirmed(b: number): boolean };
}

/**
 * A node's routeView: reads its parts at each call, so a part replaced later (a rejoin's table) is
 * seen. A class, not an object literal with a getter: V8 keeps such a literal in dictionary mode,
 * and every request's routing then looked its functions up by name (perf: LoadIC, issue 11).
 */
class NodeRouteView implements RouteView {
  constructor(private readonly node: RouteViewHost) {}
  get me(): string {
    return this.node.me;
  }
  owners(b: number): Owners {
    return this.node.table.get(b);
  }
  isFrozen(b: number): boolean {
    return this.node.migration.isFrozen(b);
  }
  isIncoming(b: number): boolean {
    return this.node.migration.isIncoming(b);
  }
  leaseValid(): boolean {
    return this.node.members.leaseValid();
  }
  awaitsBackup(b: number): boolean {
    return this.node.repl.awaitsBackup(b);
  }
  takeOverConfirmed(b: number): boolean {
    return this.node.takeOvers.confirmed(b);
  }
}

export function routeViewOf(node: RouteViewHost): RouteView {
  return new NodeRouteView(node);
}

/**
 * view with its lease read once: for a batch, whose keys are all decided at one instant. BACKGROUND:
 * the lease check reads the clock and every member; done per key it was a tenth of an mget's cost.
 */
export function atOneInstant(view: RouteView): RouteView {
  let lease: boolean | undefined;
  return {
    me: view.me,
    owners: (b) => view.owners(b),
    isFrozen: (b) => view.isFrozen(b),
    isIncoming: (b) => view.isIncoming(b),
    leaseValid: () => (lease ??= view.leaseValid()),
    awaitsBackup: (b) => view.awaitsBackup(b),
    takeOverConfirmed: (b) => view.takeOverConfirmed(b),
  };
}

const SERVE: RouteDecision = { kind: 'serve' };
const NO_OWNER: RouteDecision = { kind: 'noOwner' };
const RETRY: Record<RetryReason, RouteDecision> = {
  frozen: { kind: 'retry', reason: 'frozen' },
  noLease: { kind: 'retry', reason: 'noLease' },
  incoming: { kind: 'retry', reason: 'incoming' },
  noBackup: { kind: 'retry', reason: 'noBackup' },
  unconfirmed: { kind: 'retry', reason: 'unconfirmed' },
};

/**
 * Who serves bucket b for a request now. BACKGROUND: only the primary of the current entry may
 * answer, and only while it may write (lease) and the bucket is not changing hands.
 * BEHAVIOR: the primary serves unless the bucket is frozen or its lease is not valid (retry);
 * another node's bucket is retried while a copy of it arrives here (this node may be its primary
 * in a moment, and clients already sent here would bounce), answered noOwner while nobody owns it,
 * else redirected to the table's primary. A frozen bucket refuses reads too: the new owner may
 * already serve it, and a read here could miss its writes. A full-wait write to a bucket that
 * lost its backup to a death is retried until the new backup holds a copy, when another node can
 * be that backup (BACKGROUND: a write acknowledged with one copy right after a death was lost when
 * that one holder was cut off and declared dead in turn, the simulator's seed 580; a full-wait
 * write is on two nodes whenever two run). A lone node acknowledges with its one copy. A write to
 * a bucket just taken over waits until every member heard of the take-over (take-over-confirm.ts).
 */
export function decideRoute(view: RouteView, b: number, op: RouteOp): RouteDecision {
  const e = view.owners(b);
  if (e.primary === view.me) {
    if (view.isFrozen(b)) return RETRY.frozen;
    if (!view.leaseValid()) return RETRY.noLease;
    if (op !== 'read' && !view.takeOverConfirmed(b)) return RETRY.unconfirmed;
    if (op === 'durableWrite' && e.backup === '' && view.awaitsBackup(b)) return RETRY.noBackup;
    return SERVE;
  }
  if (view.isIncoming(b)) return RETRY.incoming;
  if (e.primary === '') return NO_OWNER;
  return { kind: 'redirect', to: e.primary };
}

/** The replies a client session offers for a request this node does not serve. */
export interface NotServedReplies {
  tryElsewhere(frame: Frame, addr: string): void;
  failinfo(frame: Frame, code: number, message: string): void;
}

/** The counter a not-served request adds to (stats.redirects counts all three kinds). */
export interface RouteStats {
  redirects: number;
}

/**
 * Answers a request for bucket b that decideRoute did not give to this node: tryelsewhere with the
 * primary, failinfo retryLater (the reason in the message) or failinfo noOwner. Counted once here.
 */
export function replyNotServed(stats: RouteStats, s: NotServedReplies, frame: Frame, b: number, d: Exclude<RouteDecision, { kind: 'serve' }>): void {
  stats.redirects++;
  switch (d.kind) {
    case 'redirect':
      return s.tryElsewhere(frame, d.to);
    case 'noOwner':
      return s.failinfo(frame, ErrorCode.noOwner, `no live node owns bucket ${b}`);
    case 'retry':
      return s.failinfo(frame, ErrorCode.retryLater, retryMessage(b, d.reason));
  }
}

function retryMessage(b: number, reason: RetryReason): string {
  switch (reason) {
    case 'frozen':
      return `bucket ${b} is changing hands; retry`;
    case 'incoming':
      return `bucket ${b} is arriving at this node; retry`;
    case 'noLease':
      return `this node does not hold its write lease now (a member is silent); retry`;
    case 'noBackup':
      return `bucket ${b} lost its backup; a new one is being made; retry`;
    case 'unconfirmed':
      return `bucket ${b} was just taken over; the other members are being told; retry`;
  }
}
