// Balancing: every few hundred ms a node looks at the table and, if it has more than its share,
// gives one bucket away (a node only gives, never asks). Order: unbacked buckets get a backup first,
// then primaries even out (promoting an existing backup where possible), then backups even out.
// One move at a time per node; the receiver refuses a second incoming copy.
import { Cmd } from '../protocol/commands.js';
import { CopyRole, widenMask } from '../protocol/messages/node.js';
import type { Writer } from '../protocol/codec.js';
import type { Clock } from '../shared/clock.js';
import type { Member } from './membership/member.js';
import type { Migration } from './migration.js';
import type { BucketTable } from './table.js';

/** What balancing needs of the node. */
export interface BalancerHost {
  readonly me: string;
  readonly clock: Clock;
  readonly leaving: boolean;
  readonly stopped: boolean;
  readonly opts: { readonly minBucketsPerNode: number };
  readonly table: Pick<BucketTable, 'get' | 'size' | 'mask' | 'counts'>;
  readonly migration: Pick<Migration, 'busy' | 'startCopy' | 'promote'>;
  readonly members: {
    targets(): Member[];
    dataMembers(): Member[];
    leaseValid(strict?: boolean): boolean;
    broadcast(command: number, encode: (w: Writer) => void): void;
  };
  widen(newMask: number): void;
  safely(what: string, fn: () => void): void;
}

export class Balancer {
  constructor(private readonly node: BalancerHost) {}

  /** After a move, the next decision comes at once rather than at the next tick. */
  private readonly again = (ok: boolean): void => {
    if (ok) this.node.clock.setImmediate(() => this.node.safely('balance', () => this.tick()));
  };

  tick(): void {
    const node = this.node;
    if (node.leaving || node.stopped || node.migration.busy) return;
    // A node without its lease (a member does not answer it: it may be the one cut off, its view
    // stale) moves nothing: its hand-overs collided with the live side's decisions (seed 5609).
    if (!node.members.leaseValid(true)) return;
    const targets = node.members.targets();
    if (targets.length === 0 || node.table.get(0).epoch === 0) return;
    if (this.maybeWiden(targets.length + 1)) return;
    if (this.backupUnbacked(targets)) return;
    if (this.givePrimary(targets)) return;
    this.moveBackup(targets);
  }

  /** Too many nodes for the buckets: the lowest address widens the mask for everyone. */
  private maybeWiden(nodes: number): boolean {
    const node = this.node;
    const buckets = node.table.size;
    if (buckets / nodes >= node.opts.minBucketsPerNode || buckets > 0x8000) return false;
    const lowest = [node.me, ...node.members.dataMembers().map((m) => m.addr)].sort()[0];
    if (lowest !== node.me) return false;
    const newMask = node.table.mask * 2 + 1;
    node.widen(newMask);
    node.members.broadcast(Cmd.widenMask, (w) => widenMask.encode(w, newMask));
    return true;
  }

  private pick(targets: Member[], key: (addr: string) => number, exclude: string[] = []): Member | undefined {
    let best: Member | undefined;
    let bestValue = Infinity;
    for (const m of targets) {
      if (exclude.includes(m.addr)) continue;
      const v = key(m.addr);
      if (v < bestValue || (v === bestValue && best !== undefined && m.addr < best.addr)) {
        best = m;
        bestValue = v;
      }
    }
    return best;
  }

  private backupUnbacked(targets: Member[]): boolean {
    const node = this.node;
    const counts = node.table.counts();
    for (let b = 0; b < node.table.size; b++) {
      const e = node.table.get(b);
      if (e.primary !== node.me || e.backup !== '') continue;
      const target = this.pick(targets, (a) => counts.get(a)?.backups ?? 0);
      if (target === undefined) return false;
      return node.migration.startCopy(b, target.addr, CopyRole.backup, this.again);
    }
    return false;
  }

  private givePrimary(targets: Member[]): boolean {
    const node = this.node;
    const counts = node.table.counts();
    const n = targets.length + 1;
    const hi = Math.ceil(node.table.size / n);
    const mine = counts.get(node.me)?.primaries ?? 0;
    const target = this.pick(targets, (a) => counts.get(a)?.primaries ?? 0);
    if (target === undefined) return false;
    const theirs = counts.get(target.addr)?.primaries ?? 0;
    if (!(mine > hi || mine - theirs >= 2) || theirs + 1 > hi) return false;
    let fallback = -1;
    for (let b = 0; b < node.table.size; b++) {
      const e = node.table.get(b);
      if (e.primary !== node.me) continue;
      if (e.backup === target.addr) return node.migration.promote(b, target.addr, true, this.again);
      if (fallback < 0) fallback = b;
    }
    if (fallback < 0) return false;
    return node.migration.startCopy(fallback, target.addr, CopyRole.primary, this.again);
  }

  private moveBackup(targets: Member[]): boolean {
    const node = this.node;
    const counts = node.table.counts();
    const n = targets.length + 1;
    const hi = Math.ceil(node.table.size / n);
    for (let b = 0; b < node.table.size; b++) {
      const e = node.table.get(b);
      if (e.primary !== node.me || e.backup === '') continue;
      const held = counts.get(e.backup)?.backups ?? 0;
      const target = this.pick(targets, (a) => counts.get(a)?.backups ?? 0, [e.backup]);
      if (target === undefined) return false;
      const theirs = counts.get(target.addr)?.backups ?? 0;
      if ((held > hi || held - theirs >= 2) && theirs + 1 <= hi) {
        return node.migration.startCopy(b, target.addr, CopyRole.backup, this.again);
      }
    }
    return false;
  }
}
