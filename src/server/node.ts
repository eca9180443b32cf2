// The node: wires listener, client sessions, store, bucket table, membership, replication,
// migration and balancing together, and owns the decisions that touch several of them
// (what a table change means here, what a member's death means here; who serves a bucket is
// routing.ts's decision over this node's routeView).
import type { Clock, Timer } from '../shared/clock.js';
import type { Listening, Transport } from '../net/transport.js';
import { Cmd } from '../protocol/commands.js';
import * as nodeMsg from '../protocol/messages/node.js';
import { normalizeAddress } from '../shared/address.js';
import { assert } from '../shared/assert.js';
import { SECRET_BYTES_MIN } from '../shared/private-file.js';
import { FrontDoor } from './front-door.js';
import { onPeerCommand } from './peer-commands.js';
import { statsDoc } from './stats-doc.js';
import { ownershipViewOf, takeOverOrphans, type OwnershipView } from './ownership.js';
import { LostBuckets } from './lost-buckets.js';
import { TakeOverConfirmations } from './take-over-confirm.js';
import { TableMerge } from './table-merge.js';
import { Admission } from './admission.js';
import { NodeTls } from './tls-state.js';
import { EXPIRY_SWEEP_INTERVAL_MS, EXPIRY_SWEEP_ITEMS_MAX } from '../shared/limits.js';
import type { Logger } from './log.js';
import type { ServerOptions } from './options.js';
import { Store } from './store.js';
import { BucketTable, type Owners } from './table.js';
import type { ClientSession } from './client-session.js';
import { Membership } from './members.js';
import { Replication } from './replication.js';
import { Migration } from './migration.js';
import { Balancer } from './balancer.js';
import type { PeerLink, PeerLinkEvents } from './peer-link.js';
import { UpdateOp } from '../protocol/messages/node.js';
import { decideRoute, routeViewOf, type RouteView } from './routing.js';
import type { LoadedSave } from './loaded-save.js';
import type { NodeStats } from './node-stats.js';
import { RequestMeter } from './request-meter.js';
import { MemoryLimit, MEMORY_CHECK_INTERVAL_MS } from './memory-limit.js';
import { REAL_ENV, newIncarnation, type NodeEnv } from './node-env.js';

export type { NodeEnv } from './node-env.js';

export class ClusterNode {
  me = '';
  incarnation: bigint;
  store: Store;
  table: BucketTable;
  readonly clients = new Set<ClientSession>();
  /** Every client request's outcome and time (read by stats and the HTTP side door). */
  readonly requests = new RequestMeter();
  readonly stats: NodeStats = {
    reads: 0, writes: 0, redirects: 0, badRequests: 0, unknownCommands: 0, backupFailures: 0, expired: 0,
    connectionsAccepted: 0, connectionsRefused: 0, protocolErrors: 0, loginsFailed: 0, notAllowed: 0, nodeCommandsRefused: 0, nodeAuthFailed: 0, failovers: 0,
  };
  readonly members: Membership;
  readonly repl: Replication;
  readonly migration: Migration;
  readonly balancer: Balancer;
  leaving = false;
  stopped = false;
  /** True once this node started a cluster or completed a join: only then can it have data to save. */
  everServed = false;
  /** The save file was unreadable and ignored: it is moved aside, never overwritten, before a save. */
  badSavefileIgnored = false;
  /** The save file this node loaded at a stand-alone start, in place until obsolete (loaded-save.ts). */
  loadedSave: LoadedSave | null = null;
  readonly startedMs: number;
  private listening: Listening | null = null;
  private timers: Timer[] = [];
  readonly linkEvents: PeerLinkEvents;
  /** What routing.ts's decideRoute sees of this node. */
  readonly routeView: RouteView;
  /** What ownership.ts sees of this node. */
  readonly ownershipView: OwnershipView;
  /** Buckets with no live copy, and the data this node keeps when it rejoins (lost-buckets.ts). */
  readonly lost: LostBuckets;
  /** Buckets taken over lately that not every member has heard of yet. */
  readonly takeOvers: TakeOverConfirmations;
  private readonly tableMerge = new TableMerge(this);
  readonly frontDoor: FrontDoor;
  /** Set when the node speaks TLS (listener and node links). */
  readonly tls: NodeTls | null;
  /** --max-memory and --eviction: what used is, which writes fit, what is evicted (memory-limit.ts). */
  readonly memory: MemoryLimit;

  /** The node's clock (env.clock), for its parts. */
  get clock(): Clock {
    return this.env.clock;
  }

  /** How the node listens and dials (env.transport). */
  get transport(): Transport {
    return this.env.transport;
  }

  readonly onExpired = (b: number, map: string, key: string): void => {
    this.stats.expired++;
    // A frozen bucket is being handed over with its seq: the new owner expires the item itself.
    if (this.migration.isFrozen(b) || this.table.get(b).primary !== this.me) return;
    this.repl.publish(b, { op: UpdateOp.expired, map, key, expiresAtMs: 0, value: null }, null);
  };

  constructor(
    readonly opts: ServerOptions,
    readonly log: Logger,
    /** Time and randomness: the real ones in `serve`, virtual and seeded ones in the simulator. */
    readonly env: NodeEnv = REAL_ENV,
  ) {
    assert(opts.clusterSecret.length >= SECRET_BYTES_MIN, 'the node needs a cluster secret');
    this.incarnation = newIncarnation(env);
    this.startedMs = env.clock.wallMs();
    this.store = new Store(opts.mask);
    this.table = new BucketTable(opts.mask, { epoch: 0, primary: '', backup: '' });
    this.members = new Membership(this);
    this.repl = new Replication(this, env.observeWrite);
    this.migration = new Migration(this);
    this.balancer = new Balancer(this);
    this.frontDoor = new FrontDoor(this);
    this.tls = opts.tls === undefined ? null : new NodeTls(opts.tls, log);
    this.routeView = routeViewOf(this);
    this.ownershipView = ownershipViewOf(this);
    this.lost = new LostBuckets(this);
    this.takeOvers = new TakeOverConfirmations(env.clock, () => this.members.dataMembers(), () => this.members.deadLeasesEndMs());
    this.memory = new MemoryLimit({
      opts,
      store: () => this.store,
      random: env.random,
      log,
      servesWrites: (b) => decideRoute(this.routeView, b, 'write').kind === 'serve',
      publishEviction: (b, map, key) => this.repl.publish(b, { op: UpdateOp.evicted, map, key, expiresAtMs: 0, value: null }, null),
    });
    this.linkEvents = {
      onCommand: (link, frame) => onPeerCommand(this, link, frame),
      onClose: (link) => this.members.onLinkClose(link),
    };
  }

  /**
   * Runs a callback from a timer, an immediate or a socket event: a programmer error in it is logged
   * and contained, never a crash of the node (requests have their own handling in the dispatchers).
   */
  safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log.error({ err: error instanceof Error ? error.stack : String(error), what }, 'internal error contained');
    }
  }

  // ---- lifecycle ----

  /** Binds the listener; the node is then known by its advertised address, else the one it really listens on. */
  async listen(): Promise<void> {
    const l = await this.env.transport.listen(
      {
        listen: this.opts.listen,
        maxSockets: Admission.socketsMax(this.opts.maxConnections),
        handshakeTimeoutMs: this.opts.handshakeTimeoutMs,
        onSocket: (socket) => this.frontDoor.onSocket(socket),
        tls: this.tls?.serverOptions(),
        onTlsError: (error, socket) => this.tls?.onHandshakeError(error, socket),
        onDrop: () => {
          this.stats.connectionsRefused++;
          this.log.warn({ max: Admission.socketsMax(this.opts.maxConnections) }, 'connection refused: every client slot and the node reserve are taken');
        },
      },
      this.log,
    );
    this.listening = l;
    if (l.server !== null) this.tls?.attach(l.server);
    this.me = this.opts.advertise ?? l.bound;
    this.frontDoor.start();
  }

  /** Starts a cluster alone: every bucket is ours. */
  startAlone(): void {
    this.everServed = true;
    for (let b = 0; b < this.table.size; b++) {
      // Above every epoch of the run that wrote the loaded save file: no item version repeats (versions.ts).
      this.table.set(b, { epoch: (this.loadedSave?.epochFloor ?? 0) + 1, primary: this.me, backup: '' });
      this.store.hold(b);
    }
  }

  /** Joins a cluster through the listed nodes (retrying) before anything else. */
  async join(seeds: string[]): Promise<boolean> {
    const list = seeds.map((s) => normalizeAddress(s)).filter((s) => s !== this.me);
    if (list.length === 0) {
      this.startAlone();
      return true;
    }
    const ok = await this.members.join(list, () => this.stopped || this.leaving);
    if (ok) this.everServed = true;
    return ok;
  }

  startTimers(): void {
    const every = (ms: number, fn: () => void): void => {
      const t = this.clock.setInterval(() => {
        try {
          fn();
        } catch (error) {
          this.log.error({ err: error instanceof Error ? error.stack : String(error) }, 'periodic task failed');
        }
      }, ms);
      this.timers.push(t);
    };
    every(this.opts.heartbeatIntervalMs, () => this.members.tick());
    every(this.opts.heartbeatIntervalMs, () => this.loadedSave?.check(this.table, this.me));
    every(this.opts.heartbeatIntervalMs, () => {
      takeOverOrphans(this, '');
      this.repl.rebuildOutOfStep();
      this.commitMany(this.lost.tick());
    });
    every(this.opts.balanceIntervalMs, () => this.balancer.tick());
    if (this.opts.maxMemoryBytes > 0) every(MEMORY_CHECK_INTERVAL_MS, () => this.memory.enforce());
    every(EXPIRY_SWEEP_INTERVAL_MS, () => {
      this.store.sweep(this.clock.wallMs(), EXPIRY_SWEEP_ITEMS_MAX, (b) => decideRoute(this.routeView, b, 'write').kind === 'serve', this.onExpired);
    });
  }

  stopTimers(): void {
    this.frontDoor.stop();
    for (const t of this.timers) this.clock.clearInterval(t);
    this.timers = [];
  }

  /** Stops listening for new connections. */
  closeListener(): Promise<void> {
    const l = this.listening;
    this.listening = null;
    return l === null ? Promise.resolve() : l.close();
  }

  /** Node links carry a client's largest value plus framing: they accept twice the client limit. */
  get peerFrameBytes(): number {
    return this.opts.maxFrameBytes * 2 + 65536;
  }

  loadLevels(originMs: number): nodeMsg.HeartbeatLoad {
    let primaries = 0;
    let backups = 0;
    for (let b = 0; b < this.table.size; b++) {
      const e = this.table.get(b);
      if (e.primary === this.me) primaries++;
      else if (e.backup === this.me) backups++;
    }
    return { originMs, primaries, backups, transferring: this.migration.busy || this.migration.incoming !== null ? 1 : 0 };
  }

  // ---- the table ----

  /** A decision of this node about bucket b: applied here and sent to every member. */
  commit(b: number, owners: Owners): void {
    this.commitMany([[b, owners]]);
  }

  commitMany(list: [number, Owners][]): void {
    if (list.length === 0) return;
    for (const [b, owners] of list) this.applyOwners(b, owners);
    // The simulator's one-writer check: this node accepts writes there from now on, if it holds its
    // lease and the bucket is not a take-over still unconfirmed (else its writes count as they come).
    const observe = this.env.observeWrite;
    if (observe !== undefined && this.members.leaseValid()) {
      for (const [b, o] of list) if (o.primary === this.me && this.takeOvers.confirmed(b)) observe(`${this.me}#${this.incarnation}`, b, o.epoch);
    }
    const msg = { mask: this.table.mask, entries: list.map(([b]) => this.table.entry(b)) };
    this.members.broadcast(Cmd.tableSync, (w) => nodeMsg.table.encode(w, msg));
  }

  /** Entries from another member: newer ones win (table-merge.ts). */
  mergeTable(msg: nodeMsg.TableMsg, from: string): void {
    this.tableMerge.merge(msg, from);
  }

  sendTable(link: PeerLink): void {
    // A blank table tells nothing, and its mask is not the cluster's (see adoptClusterMask).
    if (this.table.blank) return;
    const msg = { mask: this.table.mask, entries: this.table.toEntries() };
    link.call(Cmd.tableSync, (w) => nodeMsg.table.encode(w, msg), () => undefined, 5000);
  }

  /** Sets b's owners here and does what that means (afterChange). */
  applyOwners(b: number, owners: Owners): void {
    const before = this.table.level(b, this.me);
    this.table.set(b, owners);
    this.afterChange(b, before);
  }

  /** What a new entry for b means here: data kept or dropped, clients told. */
  afterChange(b: number, before?: number): void {
    const e = this.table.entry(b);
    const level = this.table.level(b, this.me);
    // An ownerless entry leaves this node's copy alone: it may be the last one, and is handed back
    // if this node must rejoin (lost-buckets.ts; the simulator's seed 22724: a backup cut off merged
    // the mark before it learnt it was declared dead, dropped the data, and kept nothing to hand back).
    if (level < 0 && e.primary !== '' && !this.migration.isIncoming(b)) this.store.drop(b);
    if (level === 0) this.store.hold(b);
    this.migration.onTableChanged(b);
    this.repl.onBackupChanged(b);
    const mask = this.table.mask;
    for (const s of this.clients) {
      if (before !== undefined && before !== level) s.pushHashmask(mask, b, level);
      s.pushBucketOwner(mask, e);
    }
  }

  /** Splits every bucket onto a wider mask (no data moves between nodes). */
  widen(newMask: number): void {
    if (newMask <= this.table.mask) return;
    this.migration.abortAll('mask widened');
    const oldMask = this.table.mask;
    this.store.widen(newMask);
    this.table.widen(newMask);
    this.log.info({ oldMask, newMask }, 'bucket mask widened');
    for (let b = 0; b < this.table.size; b++) {
      const level = this.table.level(b, this.me);
      const e = this.table.entry(b);
      for (const s of this.clients) {
        if (level >= 0) s.pushHashmask(newMask, b, level);
        s.pushBucketOwner(newMask, e);
      }
    }
  }

  // ---- members ----

  onMemberAdded(addr: string): void {
    for (const s of this.clients) s.pushServerInfo(addr);
  }

  onMemberLeaving(addr: string): void {
    for (const s of this.clients) s.pushServerLeaving(addr);
  }

  /** A data member is gone: its buckets find new owners (ownership.ts), clients are told. */
  onMemberGone(addr: string): void {
    this.migration.onLinkLost(addr);
    this.migration.onMemberGone(addr);
    for (const s of this.clients) s.pushServerGone(addr);
    takeOverOrphans(this, addr);
  }

  /** After a refused hand-over of b: a backup that died while b was frozen is dropped now. */
  repairOwners(b: number): void {
    const e = this.table.get(b);
    if (e.primary !== this.me || e.backup === '' || this.members.members.has(e.backup)) return;
    this.commit(b, { epoch: e.epoch + 1, primary: this.me, backup: '' });
    this.repl.noteLostBackup(b);
  }

  /** Drops everything and joins again as a new member, through `via` (the node that said so) first. */
  rejoinAsNew(why: string, via: string): void {
    if (this.stopped || this.leaving) return;
    if (this.rejoining) return;
    this.rejoining = true;
    this.log.warn({ why }, 'rejoining the cluster as a new member; the data of its buckets is kept until the cluster says which it has no copy of');
    // The node that told us, members believed alive and the configured seeds: a dead member's
    // address may now be another node's, which must not be joined by accident. `via` is always
    // there, so a node that started the cluster alone (no seeds) and was cut off finds its way back.
    const seeds = [...new Set([via, ...this.members.dataMembers().map((m) => m.addr), ...this.opts.nodes])];
    this.migration.abortAll('rejoining');
    this.loadedSave?.abandon('rejoining the cluster as a new member');
    this.repl.failAll('this node was declared dead; retry at the bucket\'s owner');
    for (const b of this.store.heldBuckets()) for (const s of this.clients) s.pushHashmask(this.table.mask, b, -1);
    this.lost.keepAll();
    this.table = new BucketTable(this.table.mask, { epoch: 0, primary: '', backup: '' });
    this.members.reset();
    this.takeOvers.clear();
    this.incarnation = newIncarnation(this.env);
    void this.members
      .join(seeds, () => this.stopped)
      .then((ok) => this.log.info({ ok }, 'rejoined'))
      .catch((error: unknown) => this.log.error({ err: String(error) }, 'rejoin failed'))
      .finally(() => (this.rejoining = false));
  }

  /** Between being told this incarnation is dead and joining again as a new member. */
  rejoining = false;

  /** The node's statistics, as `stats` answers them (stats-doc.ts). */
  statsDoc(): Record<string, unknown> {
    return statsDoc(this);
  }
}
