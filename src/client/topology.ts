// What the client knows of the cluster's shape: the bucket table, nodes reported gone or leaving,
// the pushes that change them, and the single-flight table refresh (get_table).
import type { EventEmitter } from 'node:events';
import { Cmd } from '../protocol/commands.js';
import type { BucketEntry, TableMsg } from '../protocol/messages/node.js';
import { normalizeAddress } from '../shared/address.js';
import { BucketTable, type BucketChange } from './bucket-table.js';
import type { NodeLink, Push } from './node-link.js';
import type { ClusterLogger } from './options.js';
import { Request, Route } from './request.js';

/** Table refreshes are single-flight and at least this far apart. */
const REFRESH_MIN_INTERVAL_MS = 20;
/** Bound on remembered gone/leaving addresses. */
const REMEMBERED_ADDRESSES_MAX = 4096;

/** The events a Cluster emits, and their arguments. */
export interface ClusterEvents {
  nodeAdded: [addr: string];
  nodeRemoved: [addr: string];
  nodeLeaving: [addr: string];
  bucketMapChanged: [change: BucketChange];
}

/** What the topology needs from the router. */
export interface TopologyHost {
  readonly connected: boolean;
  /** The link to an address, created when new (undefined when gone or closing). */
  learn(addr: string): NodeLink | undefined;
  /** Forgets the link to a gone node (its requests are re-routed); whether one existed. */
  dropLink(addr: string): boolean;
  /** Parked requests should try again: the table changed. */
  tableChanged(): void;
  submit<T>(req: Request): Promise<T>;
}

/** Canonical "host:port", or '' for '' and malformed text. */
export function norm(addr: string): string {
  if (addr === '') return '';
  try {
    return normalizeAddress(addr);
  } catch {
    return '';
  }
}

function normEntry(e: BucketEntry): BucketEntry {
  return { hash: e.hash, epoch: e.epoch, primary: norm(e.primary), backup: norm(e.backup) };
}

function remember(set: Set<string>, addr: string): boolean {
  if (set.has(addr)) return false;
  set.add(addr);
  if (set.size > REMEMBERED_ADDRESSES_MAX) set.delete(set.values().next().value!);
  return true;
}

export class Topology {
  readonly table = new BucketTable();
  private readonly gone = new Set<string>();
  private readonly leaving = new Set<string>();
  private refreshing: Promise<void> | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private lastRefreshMs = -Infinity;
  private stopped = false;

  constructor(
    private readonly host: TopologyHost,
    private readonly events: EventEmitter<ClusterEvents>,
    private readonly logger: ClusterLogger,
    private readonly now: () => number,
  ) {}

  isGone(addr: string): boolean {
    return this.gone.has(addr);
  }

  onPush(link: NodeLink, push: Push): void {
    switch (push.kind) {
      case 'serverInfo':
        this.onServerInfo(norm(push.addr));
        return;
      case 'serverGone':
        this.onServerGone(norm(push.addr));
        return;
      case 'serverLeaving':
        this.markLeaving(norm(push.addr));
        return;
      case 'goodbye':
        // The link is draining: no new requests go there; in-flight replies still arrive.
        this.markLeaving(link.addr);
        this.refresh();
        return;
      case 'bucketOwner':
        this.applyChanges(this.table.apply(push.mask, normEntry(push.entry)));
        return;
      case 'hashmask':
        if (push.level === 0) this.table.hint(push.mask, push.hash, link.addr);
        return;
    }
  }

  /** A node answered tryelsewhere naming `addr` for this routing hash. */
  redirected(hash: number, addr: string): void {
    this.table.hint(this.table.mask, hash & this.table.mask, addr);
    this.host.learn(addr);
    this.refresh();
  }

  private onServerInfo(addr: string): void {
    if (addr === '') return;
    this.gone.delete(addr);
    this.leaving.delete(addr);
    this.host.learn(addr);
  }

  private onServerGone(addr: string): void {
    if (addr === '') return;
    remember(this.gone, addr);
    this.leaving.delete(addr);
    if (this.host.dropLink(addr)) this.events.emit('nodeRemoved', addr);
    this.refresh();
  }

  private markLeaving(addr: string): void {
    if (addr !== '' && remember(this.leaving, addr)) this.events.emit('nodeLeaving', addr);
  }

  private applyChanges(changes: BucketChange[]): void {
    if (changes.length === 0) return;
    for (const c of changes) {
      this.host.learn(c.primary);
      this.host.learn(c.backup);
      this.events.emit('bucketMapChanged', c);
    }
    this.host.tableChanged();
  }

  /** Single flight: at most one get_table in flight, ever, spaced REFRESH_MIN_INTERVAL_MS apart. */
  refresh(): void {
    if (this.refreshing !== null || this.refreshTimer !== null || this.stopped || !this.host.connected) return;
    const waitMs = this.lastRefreshMs + REFRESH_MIN_INTERVAL_MS - this.now();
    if (waitMs > 0) {
      this.refreshTimer = setTimeout(() => {
        this.refreshTimer = null;
        this.refresh();
      }, waitMs);
      return;
    }
    void this.fetch();
  }

  /** Loads the whole table from any node (the in-flight fetch, if one runs). Never rejects. */
  fetch(): Promise<void> {
    if (this.refreshing !== null) return this.refreshing;
    const req = new Request();
    req.cmd = Cmd.getTable;
    req.route = Route.any;
    // Marked in flight before submit(): submit may park the request and ask for a refresh again.
    let settle!: () => void;
    const current = new Promise<void>((resolve) => (settle = resolve));
    this.refreshing = current;
    const done = (): void => {
      if (this.refreshing === current) this.refreshing = null;
      this.lastRefreshMs = this.now();
      settle();
    };
    this.host
      .submit<TableMsg>(req)
      .then(
        (t) => this.applyChanges(this.table.applyAll(t.mask, t.entries.map(normEntry))),
        (e: Error) => this.logger.debug({ err: e.message }, 'table refresh failed'),
      )
      .finally(done);
    return current;
  }

  stop(): void {
    this.stopped = true;
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }
}
