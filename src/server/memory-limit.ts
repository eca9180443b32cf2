// The node's memory limit (serve --max-memory, --eviction): what "used" means, whether a write may
// add to it, and which items are evicted (sampled LRU, as Redis does) to make room.
//
// BACKGROUND: without a limit the heap grows until the process dies. Redis bounds its allocator's
// bytes; a Node process cannot ask its allocator, and its RSS is no figure to evict by: it falls
// only when V8 collects garbage and malloc gives pages back, long after items are gone, so a
// limit on RSS alone would evict everything in a burst of writes.
// BEHAVIOR: used = the process's RSS measured at start, before any data (code, libraries, buffers:
// about 75 MiB), plus the store's figure (store.ts approxBytes): every held bucket's arena chunks
// slot records and key indexes as allocated (item-slots.ts, key-index.ts), dead bytes until
// compaction or rebuild included, plus a calibrated allocator allowance per item (bucket-data.ts
// ALLOCATOR_SLACK_BYTES), for primaries, backups and copies alike. Measured with bench/mem-store.ts (bench/notes-S.md) on a
// fresh node loaded with 1M items of 100 bytes: used grows within a few % of RSS, and stays so
// while every item is rewritten (a value not read since it was written is rewritten in place).
// NOT YET MET: used within 10% of RSS after deletes and expiries: the figure falls at once, RSS
// only when V8's next full collection frees the keys and the dropped arena chunks, and not all the
// way (pages V8 and malloc keep for reuse: Redis's used_memory is half its RSS after the same
// deletes); such room is reused by the next writes, which is why the limit counts live data
// rather than RSS. Before a
// write on a primary adds an item:
// - noeviction: the write is refused with outOfMemory while used plus the item passes the limit;
// - allkeys-lru: items are evicted from this node's primary buckets, least recently used first,
//   until the new item fits (at most EVICTIONS_PER_WRITE_MAX per write, else outOfMemory);
// - volatile-lru: the same among items with an expiry only; volatile-ttl: those expiring soonest.
// Deletes, expiries and reads are never refused. Pushes from primaries (backups, copies) are never
// refused either: each primary keeps its own node under its limit, and a timer evicts here when
// backups have pushed this node over it. An eviction is published like a delete (UpdateOp.evicted)
// so the backup and the logging nodes drop the item too.
import type { Random } from '../shared/random.js';
import { formatByteSize } from '../shared/byte-size.js';
import type { Logger } from './log.js';
import type { EvictionCandidate, Store } from './store.js';

export const EVICTION_POLICIES = ['noeviction', 'allkeys-lru', 'volatile-lru', 'volatile-ttl'] as const;
export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];

/** Buckets sampled per eviction (Redis samples 5 keys; here 5 buckets of a few items each). */
export const EVICTION_SAMPLE_BUCKETS = 5;
/** Items looked at per sampled bucket: the least recently written of its tables. */
export const EVICTION_SCAN_ITEMS = 5;
/** Random bucket picks per eviction, to find sampled buckets this node is primary of. */
const EVICTION_PICKS_MAX = 64;
/** Evictions one write may cause before it is refused instead (bounds a request's work). */
export const EVICTIONS_PER_WRITE_MAX = 1024;
/** Evictions one timer tick may make (backups pushed the node over its limit). */
export const EVICTIONS_PER_TICK_MAX = 4096;
/** How often the timer checks the limit. */
export const MEMORY_CHECK_INTERVAL_MS = 100;

/** What the memory limit needs of the node. */
export interface MemoryHost {
  readonly opts: { readonly maxMemoryBytes: number; readonly eviction: EvictionPolicy };
  /** The node's store now (a method, not a getter: see routing.ts's NodeRouteView). */
  store(): Pick<Store, 'approxBytes' | 'mask' | 'evictionCandidate' | 'remove'>;
  readonly random: Random;
  readonly log: Logger;
  /** Whether this node serves writes of bucket b now (its primary, not frozen): only those evict. */
  servesWrites(b: number): boolean;
  /** Tells the backup and the logging nodes (an UpdateOp.evicted). */
  publishEviction(b: number, map: string, key: string): void;
}

export class MemoryLimit {
  /** The process's RSS when the node started, before any data. */
  readonly baselineBytes: number;
  /** Items evicted to stay under the limit. */
  evicted = 0;
  /** Writes refused with outOfMemory. */
  refused = 0;
  private warnedAtMs = 0;

  constructor(
    private readonly host: MemoryHost,
    rssBytes: number = process.memoryUsage.rss(),
  ) {
    this.baselineBytes = rssBytes;
    const limit = host.opts.maxMemoryBytes;
    if (limit > 0 && limit < this.baselineBytes * 1.25) {
      host.log.warn({ limit: formatByteSize(limit), baseline: formatByteSize(this.baselineBytes) }, 'the --max-memory limit leaves little room: the empty process already uses most of it');
    }
  }

  get limitBytes(): number {
    return this.host.opts.maxMemoryBytes;
  }

  get policy(): EvictionPolicy {
    return this.host.opts.eviction;
  }

  /** The node's memory as the limit sees it: the start's RSS plus the modelled items (see above). */
  get usedBytes(): number {
    return this.baselineBytes + Math.max(0, this.host.store().approxBytes);
  }

  /**
   * Before a write on a primary that adds about `bytes`: true when it fits (evicting first as the
   * policy says), false when it must be refused with outOfMemory. Evicts from any primary bucket
   * of this node (an old copy of the item being written may go too: the write puts it back).
   */
  admit(bytes: number, nowMs: number): boolean {
    const limit = this.limitBytes;
    if (limit === 0 || this.usedBytes + bytes <= limit) return true;
    if (this.policy !== 'noeviction') this.evictUntil(limit - bytes, EVICTIONS_PER_WRITE_MAX);
    if (this.usedBytes + bytes <= limit) return true;
    this.refused++;
    if (nowMs - this.warnedAtMs >= 1000) {
      this.warnedAtMs = nowMs;
      this.host.log.warn({ used: formatByteSize(this.usedBytes), limit: formatByteSize(limit), policy: this.policy, refused: this.refused }, 'write refused: out of memory (--max-memory)');
    }
    return false;
  }

  /** The timer: evicts while backups and copies keep the node over its limit (bounded per tick). */
  enforce(): void {
    const limit = this.limitBytes;
    if (limit === 0 || this.policy === 'noeviction' || this.usedBytes <= limit) return;
    this.evictUntil(limit, EVICTIONS_PER_TICK_MAX);
  }

  /** Evicts until used is at most `targetBytes` or `max` items went; the number evicted. */
  private evictUntil(targetBytes: number, max: number): number {
    let n = 0;
    while (n < max && this.usedBytes > targetBytes) {
      const victim = this.pick();
      if (victim === undefined) break;
      if (!this.host.store().remove(victim.b, victim.map, victim.key)) break;
      this.evicted++;
      n++;
      this.host.publishEviction(victim.b, victim.map, victim.key);
    }
    return n;
  }

  /** The best of EVICTION_SAMPLE_BUCKETS random primary buckets' candidates, as the policy ranks them. */
  private pick(): (EvictionCandidate & { b: number }) | undefined {
    const volatileOnly = this.policy !== 'allkeys-lru';
    const byTtl = this.policy === 'volatile-ttl';
    const scan = volatileOnly ? EVICTION_SCAN_ITEMS * 8 : EVICTION_SCAN_ITEMS;
    const size = this.host.store().mask + 1;
    let best: (EvictionCandidate & { b: number }) | undefined;
    let sampled = 0;
    for (let pick = 0; pick < EVICTION_PICKS_MAX && sampled < EVICTION_SAMPLE_BUCKETS; pick++) {
      const b = this.host.random.int(0, size);
      if (!this.host.servesWrites(b)) continue;
      const c = this.host.store().evictionCandidate(b, scan, volatileOnly, byTtl);
      if (c === undefined) continue;
      sampled++;
      if (best === undefined || (byTtl ? c.expiresAtMs < best.expiresAtMs : c.usedTick < best.usedTick)) best = { ...c, b };
    }
    return best ?? this.pickInOrder(scan, volatileOnly, byTtl);
  }

  /** Random picks found nothing (few primary buckets hold items): the first bucket in order that has one. */
  private pickInOrder(scan: number, volatileOnly: boolean, byTtl: boolean): (EvictionCandidate & { b: number }) | undefined {
    const size = this.host.store().mask + 1;
    for (let b = 0; b < size; b++) {
      if (!this.host.servesWrites(b)) continue;
      const c = this.host.store().evictionCandidate(b, scan, volatileOnly, byTtl);
      if (c !== undefined) return { ...c, b };
    }
    return undefined;
  }

  /** The `memory` part of the stats document. */
  describe(): Record<string, unknown> {
    const mem = process.memoryUsage();
    return {
      used: this.usedBytes,
      limit: this.limitBytes,
      policy: this.policy,
      evicted: this.evicted,
      refused: this.refused,
      baseline: this.baselineBytes,
      items: Math.max(0, this.host.store().approxBytes),
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      external: mem.external,
    };
  }
}
