// What the HTTP side door sees of the node: a narrow, read-only view (the node itself satisfies it),
// so metrics, health and the dashboard cannot change anything the node decides.
import type { Clock } from '../../shared/clock.js';
import type { LoggerFeed } from '../logger-feed.js';
import type { Membership } from '../members.js';
import type { Migration } from '../migration.js';
import type { NodeStats } from '../node-stats.js';
import type { Replication } from '../replication.js';
import type { RequestMeter } from '../request-meter.js';
import type { Store } from '../store.js';
import type { BucketTable } from '../table.js';

export interface HttpNodeView {
  readonly me: string;
  readonly leaving: boolean;
  readonly rejoining: boolean;
  readonly stopped: boolean;
  readonly clock: Clock;
  readonly stats: Readonly<NodeStats>;
  readonly requests: Pick<RequestMeter, 'commands' | 'all'>;
  readonly store: Pick<Store, 'itemsIn' | 'totalItems' | 'approxBytes'>;
  readonly table: Pick<BucketTable, 'size' | 'get' | 'mask' | 'blank'>;
  readonly clients: { readonly size: number };
  readonly members: Pick<Membership, 'dataMembers' | 'members' | 'leaseValid' | 'hasQuorum' | 'goneAddrs' | 'linkOf'>;
  readonly repl: Pick<Replication, 'backlog' | 'loggerCount' | 'syncFailures'> & { readonly loggers: Pick<LoggerFeed, 'backlog'> };
  readonly migration: Pick<Migration, 'moved' | 'describe' | 'incoming' | 'busy'>;
  statsDoc(): Record<string, unknown>;
}

/** Items held here as primary and as backup. */
export function itemsByRole(v: HttpNodeView): { primary: number; backup: number } {
  let primary = 0;
  let backup = 0;
  for (let b = 0; b < v.table.size; b++) {
    const e = v.table.get(b);
    if (e.primary === v.me) primary += v.store.itemsIn(b);
    else if (e.backup === v.me) backup += v.store.itemsIn(b);
  }
  return { primary, backup };
}

/** Buckets this node is primary and backup of. */
export function bucketsByRole(v: HttpNodeView): { primary: number; backup: number } {
  let primary = 0;
  let backup = 0;
  for (let b = 0; b < v.table.size; b++) {
    const e = v.table.get(b);
    if (e.primary === v.me) primary++;
    else if (e.backup === v.me) backup++;
  }
  return { primary, backup };
}
