// The public client API: `new Cluster({ seeds })`, typed data methods, maps, admin calls, events,
// and an idempotent close(). Routing, retries and links live in router.ts.
import { EventEmitter } from 'node:events';
import { Cmd } from '../protocol/commands.js';
import { normalizeAddress } from '../shared/address.js';
import { DEFAULT_PORT } from '../shared/limits.js';
import type { BucketTableSnapshot } from './bucket-table.js';
import { ClusterError } from './errors.js';
import { DataOps, Expect, type SetOptions } from './ops.js';
import { AtomicOps, isConditional, type ConditionalSetOptions, type DeleteOptions, type IncrOptions, type Versioned } from './atomic-ops.js';
import { BatchOps, type MsetEntries, type MsetOptions } from './batch-ops.js';
import { scanKeys, type ScanOptions } from './scan.js';
import { resolveOptions, type ClusterOptions, type ResolvedOptions } from './options.js';
import { Router } from './router.js';
import type { ClusterEvents } from './topology.js';
import type { ClusterValue, ClusterValueInput } from './values.js';

export type { ConditionalSetOptions, DeleteOptions, IncrOptions, Versioned } from './atomic-ops.js';

/** The stats document of one node, with its address. */
export interface NodeStats {
  addr: string;
  [field: string]: unknown;
}

export class Cluster extends EventEmitter<ClusterEvents> {
  private readonly opts: ResolvedOptions;
  private readonly router: Router;
  private readonly ops: DataOps;
  private readonly atomic: AtomicOps;
  private readonly batches: BatchOps;
  private connecting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  constructor(options: ClusterOptions) {
    super();
    this.opts = resolveOptions(options);
    this.router = new Router(this.opts, this);
    this.ops = new DataOps(this.router, this.opts);
    this.atomic = new AtomicOps(this.router, this.opts);
    this.batches = new BatchOps(this.router, this.opts);
  }

  /** Connects to the first seed that answers and loads its bucket table; NOT_CONNECTED if none does. */
  connect(): Promise<void> {
    if (this.closing !== null) return Promise.reject(new ClusterError('CLOSED', 'the client is closed'));
    if (this.router.state === 'connected') return Promise.resolve();
    if (this.connecting === null) {
      this.connecting = this.router.connect().finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  /** Goodbye to every node (bounded by closeTimeoutMs), then everything pending rejects with CLOSED. Idempotent. */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.router.close();
    return this.closing;
  }

  /** With ifAbsent / ifExists: whether it wrote; with ifVersion: true, or VERSION_MISMATCH. */
  set(key: string, value: ClusterValueInput, opts: ConditionalSetOptions & ({ ifAbsent: true } | { ifExists: true } | { ifVersion: bigint })): Promise<boolean>;
  set(key: string, value: ClusterValueInput, opts?: ConditionalSetOptions): Promise<void>;
  set(key: string, value: ClusterValueInput, opts?: ConditionalSetOptions): Promise<void | boolean> {
    if (isConditional(opts)) return this.atomic.setIf('', key, value, opts!).then((v) => v !== null);
    return this.ops.set('', key, value, opts);
  }

  /** A conditional set (exactly one of ifAbsent, ifExists, ifVersion): the new version, or null when it did not write. */
  setIf(key: string, value: ClusterValueInput, opts: ConditionalSetOptions): Promise<bigint | null> {
    return this.atomic.setIf('', key, value, opts);
  }

  /** Adds `by` (default 1) to an int (number) or long (bigint) item; the new value. OVERFLOW past the type's range. */
  incr(key: string, by: number | bigint = 1, opts?: IncrOptions): Promise<number | bigint> {
    return this.atomic.incr('', key, by, opts);
  }

  decr(key: string, by: number | bigint = 1, opts?: IncrOptions): Promise<number | bigint> {
    return this.atomic.decr('', key, by, opts);
  }

  /** Sets the value; the one it replaced (null: none). */
  getAndSet(key: string, value: ClusterValueInput, opts?: SetOptions): Promise<ClusterValue | null> {
    return this.atomic.getAndSet('', key, value, opts);
  }

  /** Deletes the item; the value it held (null: none). */
  getAndDelete(key: string, opts?: { fullWait?: boolean }): Promise<ClusterValue | null> {
    return this.atomic.getAndDelete('', key, opts?.fullWait);
  }

  /** The value and its version; null when the item does not exist. */
  getWithVersion(key: string): Promise<Versioned | null> {
    return this.atomic.getWithVersion('', key);
  }

  /** The item's value, whatever its type; null when it does not exist. */
  get(key: string): Promise<ClusterValue | null> {
    return this.ops.get('', key, Expect.any);
  }

  getString(key: string): Promise<string | null> {
    return this.ops.get<string>('', key, Expect.string);
  }

  getInt(key: string): Promise<number | null> {
    return this.ops.get<number>('', key, Expect.int);
  }

  getLong(key: string): Promise<bigint | null> {
    return this.ops.get<bigint>('', key, Expect.long);
  }

  getBinary(key: string): Promise<Buffer | null> {
    return this.ops.get<Buffer>('', key, Expect.binary);
  }

  /** Whether the key existed. With ifVersion: true, or VERSION_MISMATCH when it changed or is gone. */
  delete(key: string, opts?: DeleteOptions): Promise<boolean> {
    if (opts?.ifVersion !== undefined) return this.atomic.deleteIf('', key, opts.ifVersion, opts.fullWait);
    return this.ops.keyOnly<boolean>(Cmd.del, '', key);
  }

  exists(key: string): Promise<boolean> {
    return this.ops.keyOnly<boolean>(Cmd.exists, '', key);
  }

  /** Sets the expiry to `seconds` from now (0 removes it); whether the key existed. */
  expire(key: string, seconds: number): Promise<boolean> {
    return this.ops.expire('', key, seconds);
  }

  /** Remaining ms; -1 no expiry; -2 no such key. */
  ttl(key: string): Promise<number> {
    return this.ops.keyOnly<number>(Cmd.ttl, '', key);
  }

  map(name: string): ClusterMap {
    if (typeof name !== 'string' || name === '') throw new ClusterError('BAD_REQUEST', 'a map name must be a non-empty string');
    return new ClusterMap(name, this.ops, this.atomic, this.batches, this.router);
  }

  // ---- batches and scan (batch-ops.ts, scan.ts) ----

  /** Values in input order (null: no such key); rejects BatchError (each key's outcome) if any key failed. */
  mget(keys: readonly string[]): Promise<(ClusterValue | null)[]> {
    return this.batches.mget('', keys);
  }

  /** Sets every entry; rejects BatchError (each key's outcome) if any key failed. */
  mset(entries: MsetEntries, opts?: MsetOptions): Promise<void> {
    return this.batches.mset('', entries, opts);
  }

  /** Whether each key existed, in input order; rejects BatchError if any key failed. */
  mdelete(keys: readonly string[]): Promise<boolean[]> {
    return this.batches.mdelete('', keys);
  }

  /** Every plain key of the cluster (or of `map`), bucket by bucket; see README "Scan" for the guarantee. */
  scan(opts: ScanOptions = {}): AsyncGenerator<string, void, undefined> {
    return scanKeys(this.router, opts);
  }

  /** Round trip in ms to one node (by address) or to any node. */
  ping(node?: string): Promise<number> {
    return this.toNode<number>(Cmd.ping, node);
  }

  capabilities(node?: string): Promise<string[]> {
    return this.toNode<string[]>(Cmd.capabilities, node);
  }

  /** One stats document per connected node. */
  async stats(): Promise<NodeStats[]> {
    const ready = [...this.router.links.values()].filter((l) => l.state === 'ready').map((l) => l.addr);
    if (ready.length === 0) return Promise.reject(new ClusterError('NOT_CONNECTED', 'no node is connected'));
    const docs = await Promise.all(ready.map((addr) => this.ops.admin<Record<string, unknown>>(Cmd.stats, addr)));
    return docs.map((doc, i) => ({ ...doc, addr: typeof doc['addr'] === 'string' ? doc['addr'] : ready[i]! }));
  }

  /** Known node addresses. */
  nodes(): string[] {
    return [...this.router.links.keys()];
  }

  /** A copy of the client's current bucket table. */
  bucketTable(): BucketTableSnapshot {
    return this.router.topology.table.snapshot();
  }

  private toNode<T>(cmd: number, node: string | undefined): Promise<T> {
    if (node === undefined) return this.ops.admin<T>(cmd, undefined);
    let addr: string;
    try {
      addr = normalizeAddress(node, DEFAULT_PORT);
    } catch (e) {
      return Promise.reject(new ClusterError('BAD_REQUEST', (e as Error).message));
    }
    if (!this.router.links.has(addr) && this.router.state === 'connected') {
      return Promise.reject(new ClusterError('NOT_CONNECTED', `${addr} is not a known node`, undefined, addr));
    }
    return this.ops.admin<T>(cmd, addr);
  }
}

/** The entries of one map; the whole map lives in the bucket of its name. */
export class ClusterMap {
  constructor(
    readonly name: string,
    private readonly ops: DataOps,
    private readonly atomic: AtomicOps,
    private readonly batches: BatchOps,
    private readonly router: Router,
  ) {}

  /** Values in input order (null: no such entry); rejects BatchError if any key failed. */
  getMany(keys: readonly string[]): Promise<(ClusterValue | null)[]> {
    return this.batches.mget(this.name, keys);
  }

  /** Sets every entry in one frame; rejects BatchError if any key failed. */
  setMany(entries: MsetEntries, opts?: MsetOptions): Promise<void> {
    return this.batches.mset(this.name, entries, opts);
  }

  /** Whether each entry existed; rejects BatchError if any key failed. */
  deleteMany(keys: readonly string[]): Promise<boolean[]> {
    return this.batches.mdelete(this.name, keys);
  }

  /** The map's keys, a page at a time. */
  scan(opts: Omit<ScanOptions, 'map'> = {}): AsyncGenerator<string, void, undefined> {
    return scanKeys(this.router, { ...opts, map: this.name });
  }

  /** With ifAbsent / ifExists: whether it wrote; with ifVersion: true, or VERSION_MISMATCH. */
  set(key: string, value: ClusterValueInput, opts: ConditionalSetOptions & ({ ifAbsent: true } | { ifExists: true } | { ifVersion: bigint })): Promise<boolean>;
  set(key: string, value: ClusterValueInput, opts?: ConditionalSetOptions): Promise<void>;
  set(key: string, value: ClusterValueInput, opts?: ConditionalSetOptions): Promise<void | boolean> {
    if (isConditional(opts)) return this.atomic.setIf(this.name, key, value, opts!).then((v) => v !== null);
    return this.ops.set(this.name, key, value, opts);
  }

  setIf(key: string, value: ClusterValueInput, opts: ConditionalSetOptions): Promise<bigint | null> {
    return this.atomic.setIf(this.name, key, value, opts);
  }

  incr(key: string, by: number | bigint = 1, opts?: IncrOptions): Promise<number | bigint> {
    return this.atomic.incr(this.name, key, by, opts);
  }

  decr(key: string, by: number | bigint = 1, opts?: IncrOptions): Promise<number | bigint> {
    return this.atomic.decr(this.name, key, by, opts);
  }

  getAndSet(key: string, value: ClusterValueInput, opts?: SetOptions): Promise<ClusterValue | null> {
    return this.atomic.getAndSet(this.name, key, value, opts);
  }

  getAndDelete(key: string, opts?: { fullWait?: boolean }): Promise<ClusterValue | null> {
    return this.atomic.getAndDelete(this.name, key, opts?.fullWait);
  }

  getWithVersion(key: string): Promise<Versioned | null> {
    return this.atomic.getWithVersion(this.name, key);
  }

  get(key: string): Promise<ClusterValue | null> {
    return this.ops.get(this.name, key, Expect.any);
  }

  getString(key: string): Promise<string | null> {
    return this.ops.get<string>(this.name, key, Expect.string);
  }

  getInt(key: string): Promise<number | null> {
    return this.ops.get<number>(this.name, key, Expect.int);
  }

  getLong(key: string): Promise<bigint | null> {
    return this.ops.get<bigint>(this.name, key, Expect.long);
  }

  getBinary(key: string): Promise<Buffer | null> {
    return this.ops.get<Buffer>(this.name, key, Expect.binary);
  }

  delete(key: string, opts?: DeleteOptions): Promise<boolean> {
    if (opts?.ifVersion !== undefined) return this.atomic.deleteIf(this.name, key, opts.ifVersion, opts.fullWait);
    return this.ops.keyOnly<boolean>(Cmd.del, this.name, key);
  }

  exists(key: string): Promise<boolean> {
    return this.ops.keyOnly<boolean>(Cmd.exists, this.name, key);
  }

  getAll(): Promise<Map<string, ClusterValue>> {
    return this.ops.wholeMap<Map<string, ClusterValue>>(Cmd.mapGetAll, this.name);
  }

  keys(): Promise<string[]> {
    return this.ops.wholeMap<string[]>(Cmd.mapKeys, this.name);
  }

  count(): Promise<number> {
    return this.ops.wholeMap<number>(Cmd.mapCount, this.name);
  }

  /** Deletes the whole map; whether it existed. */
  clear(): Promise<boolean> {
    return this.ops.wholeMap<boolean>(Cmd.mapDelete, this.name);
  }
}
