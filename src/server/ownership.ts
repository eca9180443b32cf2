// Who takes a bucket when its owner is gone, or when an entry names this address for a bucket this
// incarnation never held: the decisions, over a narrow view of the node; the node commits them.
import type { Logger } from './log.js';
import type { BucketTable, Owners } from './table.js';

export interface OwnershipView {
  readonly me: string;
  readonly table: Pick<BucketTable, 'get' | 'size'>;
  readonly log: Logger;
  /** b is being handed over by this node: that decision comes first. */
  isFrozen(b: number): boolean;
  /** This node and the data members it counts alive. */
  liveAddrs(): Set<string>;
  /** Addresses with an incarnation declared dead and no live member now. */
  goneAddrs(): Set<string>;
  /** This node holds a copy of b (or one is arriving): a backup named by address may not. */
  holds(b: number): boolean;
}

/** The parts of a node an ownershipView reads. */
interface OwnershipViewHost {
  readonly me: string;
  readonly table: OwnershipView['table'];
  readonly log: Logger;
  readonly store: { bucket(b: number): unknown };
  readonly migration: { isFrozen(b: number): boolean; isIncoming(b: number): boolean };
  readonly members: { dataMembers(): readonly { addr: string }[]; goneAddrs(): Set<string> };
}

/**
 * A node's ownershipView: reads its parts at each call (its table is replaced on a rejoin). A class:
 * an object literal with getters is a dictionary-mode object in V8 (see routing.ts's NodeRouteView).
 */
class NodeOwnershipView implements OwnershipView {
  readonly log: Logger;
  constructor(private readonly node: OwnershipViewHost) {
    this.log = node.log;
  }
  get me(): string {
    return this.node.me;
  }
  get table(): OwnershipView['table'] {
    return this.node.table;
  }
  isFrozen(b: number): boolean {
    return this.node.migration.isFrozen(b);
  }
  liveAddrs(): Set<string> {
    return new Set([this.node.me, ...this.node.members.dataMembers().map((m) => m.addr)]);
  }
  goneAddrs(): Set<string> {
    return this.node.members.goneAddrs();
  }
  holds(b: number): boolean {
    return this.node.store.bucket(b) !== undefined || this.node.migration.isIncoming(b);
  }
}

export function ownershipViewOf(node: OwnershipViewHost): OwnershipView {
  return new NodeOwnershipView(node);
}

/**
 * The buckets this node must take after a death. BEHAVIOR: every bucket whose primary is gone (the
 * one just declared, or one gone earlier whose backup was still alive then and has died since) goes
 * to its backup if that is this node and it holds a copy; one with no live backup is marked
 * ownerless by the lowest live address, or by the backup named by address when this incarnation
 * holds no copy (lost-buckets.ts: it waits for a copy to come back). A bucket whose backup is gone loses
 * it (the balancer makes a new one). Deaths are declared with a quorum, or proven by a new
 * incarnation on the address: either way the take-over is due now.
 */
export function orphanTakeovers(v: OwnershipView): [number, Owners][] {
  const live = v.liveAddrs();
  const gone = v.goneAddrs();
  const lowest = [...live].sort()[0];
  const me = v.me;
  const out: [number, Owners][] = [];
  for (let b = 0; b < v.table.size; b++) {
    const e = v.table.get(b);
    if (v.isFrozen(b)) continue;
    if (gone.has(e.primary) && !live.has(e.primary)) {
      if (e.backup === me && v.holds(b)) out.push([b, { epoch: e.epoch + 1, primary: me, backup: '' }]);
      else if (e.backup === me) {
        // Named backup by address, but this incarnation never got a copy (its predecessor had it).
        v.log.error({ bucket: b, lost: e.primary }, 'no live copy of a bucket (this node is its backup by address only): it waits ownerless for one to come back');
        out.push([b, { epoch: e.epoch + 1, primary: '', backup: '' }]);
      } else if ((e.backup === '' || !live.has(e.backup)) && lowest === me) {
        v.log.error({ bucket: b, lost: e.primary }, 'no live copy of a bucket: it waits ownerless for one to come back');
        out.push([b, { epoch: e.epoch + 1, primary: '', backup: '' }]);
      }
    } else if (e.primary === me && gone.has(e.backup) && !live.has(e.backup)) {
      out.push([b, { epoch: e.epoch + 1, primary: me, backup: '' }]);
    }
  }
  return out;
}

/**
 * BACKGROUND: the table names owners by address. A node that restarted, or rejoined as a new
 * member, on the address of a primary the cluster has not yet replaced would merge entries that
 * name it primary of buckets it never held, and serve them from its empty store (reads of
 * acknowledged writes answered "no such item"; the simulator found it, seeds 116 and 186).
 * BEHAVIOR: such an entry is its previous incarnation's. This node gives the bucket to the backup
 * (which has every full-wait write) at a higher epoch: any named backup, linked yet or not, since
 * if it is gone too its own death makes the others take the bucket over. With no backup it marks
 * the bucket ownerless (lost-buckets.ts: a copy may come back; after the grace time it is taken
 * over empty). BACKGROUND: the entry may be stale: the old incarnation, leaving, had begun to hand
 * the bucket over and another node decided again at that same next epoch; taking the bucket over
 * empty then made two primaries at one epoch (the simulator's seed 186 with leaves). An ownerless
 * mark never overrides an owner's entry of the same epoch (compareOwners), so the live decision wins.
 */
export function disownStale(v: OwnershipView, buckets: readonly number[]): [number, Owners][] {
  const out: [number, Owners][] = [];
  for (const b of buckets) {
    const e = v.table.get(b);
    if (e.primary !== v.me) continue;
    if (e.backup !== '' && e.backup !== v.me) {
      v.log.warn({ bucket: b, to: e.backup }, 'an entry named this address primary of a bucket this incarnation never held: given to its backup');
      out.push([b, { epoch: e.epoch + 1, primary: e.backup, backup: '' }]);
    } else {
      v.log.error({ bucket: b }, 'an entry named this address primary of a bucket this incarnation never held, with no backup: marked ownerless until a copy comes back or the grace time ends');
      out.push([b, { epoch: e.epoch + 1, primary: '', backup: '' }]);
    }
  }
  return out;
}

/** What taking over after a death needs of the node. */
export interface TakeOverHost {
  readonly me: string;
  readonly leaving: boolean;
  readonly log: Logger;
  readonly ownershipView: OwnershipView;
  readonly stats: { failovers: number };
  readonly members: { leaseValid(strict?: boolean): boolean };
  readonly repl: { noteLostBackup(b: number): void };
  readonly takeOvers: { note(buckets: readonly number[]): void };
  commitMany(list: [number, Owners][]): void;
}

/**
 * Takes the buckets this node must take after a death (orphanTakeovers), and commits them.
 * BACKGROUND: a node cut off from the others (its lease lapsed, its view stale) that learns a
 * death, say from a new incarnation dialling it, took over that member's buckets at the same
 * epoch as the side that had already done so (the simulator's seed 5609). BEHAVIOR: buckets are
 * taken over only while this node holds its strict lease (every member it keeps answered it);
 * otherwise the node's periodic check does it once the lease holds again. A leaving node takes
 * nothing over: its backups may already be released (seed 793). The new primary writes once every
 * member heard of the take-over (take-over-confirm.ts).
 */
export function takeOverOrphans(node: TakeOverHost, justGone: string): void {
  if (node.leaving || !node.members.leaseValid(true)) return;
  const commits = orphanTakeovers(node.ownershipView);
  if (commits.length > 0) node.log.info({ gone: justGone, buckets: commits.length }, 'taking over buckets of a lost member');
  node.stats.failovers += commits.length;
  node.takeOvers.note(commits.filter(([, o]) => o.primary === node.me).map(([b]) => b));
  node.commitMany(commits);
  for (const [b, o] of commits) if (o.primary === node.me && o.backup === '') node.repl.noteLostBackup(b);
}
