// Backups known to be out of step: per address, the buckets whose copy there may lack updates (it
// missed a push, or the incarnation that held it is gone), each with the entry's epoch when marked.
// Replication (replication.ts) rebuilds them once the node links again; a mark is moot once the
// entry has changed since (the backup was dropped or changed, a new copy was made, or the bucket
// changed hands), or this node no longer leads the bucket with that address as its backup.
import type { BucketTable } from './table.js';

export class OutOfStep {
  private readonly marks = new Map<string, Map<number, number>>();

  constructor(private readonly node: { readonly me: string; readonly table: Pick<BucketTable, 'get' | 'size'> }) {}

  get size(): number {
    return this.marks.size;
  }

  /** An update for bucket b may not have reached `addr`: if it links again, its copy is rebuilt. */
  mark(addr: string, b: number): void {
    let marks = this.marks.get(addr);
    if (marks === undefined) {
      marks = new Map();
      this.marks.set(addr, marks);
    }
    marks.set(b, this.node.table.get(b).epoch);
  }

  /** Every bucket this node leads with `addr` as its backup: that incarnation's copies are gone. */
  markAllBackedBy(addr: string): void {
    this.marks.delete(addr);
    const table = this.node.table;
    for (let b = 0; b < table.size; b++) {
      const e = table.get(b);
      if (e.primary === this.node.me && e.backup === addr) this.mark(addr, b);
    }
  }

  /** The marks on addr that still stand, the moot ones dropped. */
  standing(addr: string): number[] {
    const marks = this.marks.get(addr);
    if (marks === undefined) return [];
    for (const [b, epoch] of marks) {
      const e = this.node.table.get(b);
      if (e.epoch !== epoch || e.primary !== this.node.me || e.backup !== addr) marks.delete(b);
    }
    if (marks.size === 0) this.marks.delete(addr);
    return [...marks.keys()];
  }

  /** Bucket b's backup is `backup` now: marks of b on any other address are moot. */
  backupChanged(b: number, backup: string): void {
    for (const [addr, marks] of this.marks) {
      if (addr !== backup && marks.delete(b) && marks.size === 0) this.marks.delete(addr);
    }
  }

  addresses(): string[] {
    return [...this.marks.keys()];
  }

  clear(): void {
    this.marks.clear();
  }
}
