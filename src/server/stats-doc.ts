// The node's statistics as `stats` (32) answers them: one JSON document, over a narrow view of the node.
import * as nodeMsg from '../protocol/messages/node.js';
import type { Clock } from '../shared/clock.js';
import { packageVersion } from '../shared/version.js';
import type { Admission } from './admission.js';
import type { Membership } from './members.js';
import type { Migration } from './migration.js';
import type { NodeStats } from './node-stats.js';
import type { Replication } from './replication.js';
import { LATENCY_BOUNDS_MS, type RequestMeter } from './request-meter.js';
import type { Store } from './store.js';
import type { MemoryLimit } from './memory-limit.js';
import type { BucketTable } from './table.js';

export interface StatsSource {
  readonly me: string;
  readonly incarnation: bigint;
  readonly leaving: boolean;
  readonly rejoining: boolean;
  readonly startedMs: number;
  readonly clock: Clock;
  readonly stats: NodeStats;
  readonly requests: Pick<RequestMeter, 'all'>;
  readonly store: Pick<Store, 'totalItems' | 'totalMaps' | 'approxBytes' | 'heldBuckets' | 'bucket'>;
  readonly table: Pick<BucketTable, 'mask' | 'level'>;
  readonly clients: { readonly size: number };
  readonly members: Pick<Membership, 'dataMembers' | 'leaseValid' | 'hasQuorum' | 'members' | 'recentDeaths'>;
  readonly repl: Pick<Replication, 'loggerCount' | 'syncFailures' | 'loggerDrops'>;
  readonly migration: Pick<Migration, 'moved' | 'describe' | 'incoming'>;
  readonly frontDoor: { readonly admission: Pick<Admission, 'stats' | 'bufferedBytes'> };
  readonly memory: Pick<MemoryLimit, 'describe'>;
  loadLevels(originMs: number): nodeMsg.HeartbeatLoad;
}

export function statsDoc(node: StatsSource): Record<string, unknown> {
  const levels = node.loadLevels(0);
  const mem = process.memoryUsage();
  return {
    addr: node.me,
    role: 'data',
    version: packageVersion(),
    state: node.leaving ? 'leaving' : 'alive',
    incarnation: String(node.incarnation),
    uptimeMs: node.clock.wallMs() - node.startedMs,
    items: node.store.totalItems(),
    itemsByRole: itemsByRole(node),
    maps: node.store.totalMaps(),
    memoryBytes: { data: Math.max(0, node.store.approxBytes), heapUsed: mem.heapUsed, rss: mem.rss },
    // The memory limit (--max-memory, memory-limit.ts): used (what the limit bounds), limit (0: none), evicted, and the real RSS beside it.
    memory: node.memory.describe(),
    connections: { clients: node.clients.size, nodes: node.members.dataMembers().filter((m) => m.link !== null).length, loggers: node.repl.loggerCount },
    ops: { ...node.stats, backupPushFailures: node.repl.syncFailures, loggerDrops: node.repl.loggerDrops, bucketsMoved: node.migration.moved },
    buckets: { primary: levels.primaries, backup: levels.backups, mask: node.table.mask },
    // Whether this node serves its buckets now (write lease held), and whether it hears a majority.
    serving: node.members.leaseValid() && !node.leaving && !node.rejoining,
    quorum: node.members.hasQuorum(node.clock.nowMs()),
    admission: { ...node.frontDoor.admission.stats, unfinishedFrameBytes: node.frontDoor.admission.bufferedBytes },
    // Client requests answered, and how many took at most each bound (non-cumulative; the last: above all).
    requests: { total: node.requests.all.count, latencyBoundsMs: LATENCY_BOUNDS_MS, latencyCounts: [...node.requests.all.latencyCounts] },
    transfer: node.migration.describe(),
    incoming: node.migration.incoming === null ? null : { bucket: node.migration.incoming.b, from: node.migration.incoming.from },
    members: [...node.members.members.values()].map((m) => ({
      addr: m.addr,
      role: m.role === nodeMsg.NodeRole.logger ? 'logger' : 'data',
      state: m.state === nodeMsg.MemberState.leaving ? 'leaving' : m.link?.established ? 'alive' : 'connecting',
    })),
    // Members this node declared dead lately (not members again): shown `dead` by status.
    dead: node.members.recentDeaths.list(node.clock.wallMs(), (addr) => addr === node.me || node.members.members.has(addr)),
  };
}

/** Items in the buckets this node holds as primary, and as backup (held buckets of neither role: other). */
function itemsByRole(node: StatsSource): { primary: number; backup: number; other: number } {
  const out = { primary: 0, backup: 0, other: 0 };
  for (const b of node.store.heldBuckets()) {
    const n = node.store.bucket(b)?.itemCount ?? 0;
    const level = b <= node.table.mask ? node.table.level(b, node.me) : -1;
    if (level === 0) out.primary += n;
    else if (level === 1) out.backup += n;
    else out.other += n;
  }
  return out;
}
