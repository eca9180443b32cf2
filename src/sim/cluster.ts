// Several real ClusterNodes in one process on virtual time and a virtual network: the harness the
// simulator's runs are built on. Each node gets its own view of the shared VirtualClock (NodeClock,
// so it can be killed or stalled), its own stream of the seeded random source and its host's
// transport; nothing else differs from `serve`. Node deaths (kill -9), restarts and stalls live here.
import { pino, type Logger } from 'pino';
import { ClusterNode } from '../server/node.js';
import { Shutdown } from '../server/shutdown.js';
import type { WriteObserver } from '../server/replication.js';
import type { SaveWriter } from '../server/save-on-leave.js';
import { defaultServerOptions, type ServerOptions } from '../server/options.js';
import { assert } from '../shared/assert.js';
import { VirtualClock } from './clock.js';
import { VirtualNetwork, type NetworkOptions } from './network.js';
import { SeededRandom } from './random.js';
import { Trace } from './trace.js';
import { NodeClock } from './node-clock.js';
import { hostTransport } from './transport.js';

export const SIM_PORT = 13600;
/** The cluster secret of every simulated node (the handshake runs as on a real network). */
const SIM_SECRET = Buffer.from('the simulated cluster secret, 32b');

export interface SimClusterOptions {
  seed: number;
  network?: Partial<Omit<NetworkOptions, 'clock' | 'random' | 'trace'>>;
  /** Node timing; the defaults are serve's. */
  heartbeatIntervalMs?: number;
  deadAfterMs?: number;
  /** Any other node option (quorum, mask, ...), over serve's defaults. */
  node?: Partial<ServerOptions>;
  /** The nodes' own log lines go into the trace at this level and above (default: none). */
  nodeLogLevel?: string;
  /** Told of every write a node applies as a bucket's primary (run.ts checks one writer per bucket and epoch). */
  observeWrite?: WriteObserver;
}

/** A host's current process: its node and that node's clock view. */
interface Process {
  node: ClusterNode;
  clock: NodeClock;
}

export class SimCluster {
  readonly clock = new VirtualClock();
  readonly random: SeededRandom;
  readonly trace: Trace;
  readonly net: VirtualNetwork;
  /** The running nodes by address (a killed node leaves, a restarted one comes back). */
  readonly nodes = new Map<string, ClusterNode>();
  private readonly processes = new Map<string, Process>();
  private readonly leavingHosts = new Set<string>();
  /**
   * A node leaving with buckets it could not hand over writes its save file here: no disk, whose
   * I/O would finish at a real time the virtual one does not know (the same seed gave another
   * trace inside a long soak, seed 3957). The items are counted into the trace and kept nowhere:
   * no simulated node ever loads a save file.
   */
  private readonly writeSave: SaveWriter = (node, items) => {
    let n = 0;
    for (const _ of items) n++;
    this.trace.add(`${node.opts.savefile} written: ${n} items`);
    return Promise.resolve();
  };

  constructor(private readonly o: SimClusterOptions) {
    this.random = new SeededRandom(o.seed);
    this.trace = new Trace(this.clock);
    this.net = new VirtualNetwork({ clock: this.clock, random: this.random.fork(), trace: this.trace, ...o.network });
  }

  /** A node's logger: silent, or (nodeLogLevel) its lines in the trace, stamped with virtual time. */
  private nodeLog(host: string): Logger {
    const level = this.o.nodeLogLevel ?? 'silent';
    if (level === 'silent') return pino({ level });
    const trace = this.trace;
    return pino({ level, base: null, timestamp: false }, { write: (line: string) => trace.add(`log ${host} ${line.trimEnd()}`) });
  }

  /** Starts a node on host (its address host:13600): alone without seeds, else joining through them. */
  async start(host: string, seeds: string[] = []): Promise<ClusterNode> {
    assert(!this.processes.has(host), `host ${host} already runs a node`);
    const opts = { ...defaultServerOptions(), ...this.o.node };
    opts.listen = `${host}:${SIM_PORT}`;
    opts.nodes = seeds;
    opts.clusterSecret = SIM_SECRET;
    opts.savefile = `${host}/opencluster.save`;
    if (this.o.heartbeatIntervalMs !== undefined) opts.heartbeatIntervalMs = this.o.heartbeatIntervalMs;
    if (this.o.deadAfterMs !== undefined) opts.deadAfterMs = this.o.deadAfterMs;
    const clock = new NodeClock(this.clock);
    const transport = hostTransport(this.net, host, () => !clock.dead);
    const node = new ClusterNode(opts, this.nodeLog(host), { clock, random: this.random.fork(), transport, writeSave: this.writeSave, observeWrite: this.o.observeWrite });
    await node.listen();
    this.nodes.set(node.me, node);
    this.processes.set(host, { node, clock });
    this.trace.add(`start ${node.me}${seeds.length > 0 ? ` joining ${seeds.join(',')}` : ' alone'}`);
    node.startTimers();
    if (seeds.length === 0) node.startAlone();
    else
      void node.join(seeds).then((ok) => {
        if (!clock.dead) this.trace.add(`${node.me} joined: ${ok}`);
      });
    return node;
  }

  /** The hosts that run a node now. */
  get hosts(): string[] {
    return [...this.processes.keys()];
  }

  /**
   * kill -9 of the node on host: its sockets vanish (the peers get resets) and it runs no more
   * code: its clock view drops every callback, its dials never complete.
   */
  kill(host: string): void {
    const p = this.processes.get(host);
    assert(p !== undefined, `no node runs on ${host}`);
    p.clock.kill();
    p.node.stopped = true;
    this.net.kill(host);
    this.processes.delete(host);
    this.nodes.delete(p.node.me);
    this.trace.add(`killed ${p.node.me}`);
  }

  /**
   * A graceful leave (Ctrl-C) of the node on host: it hands its buckets over as `serve` does, then
   * its process ends. Resolves when it is gone (its shutdown is bounded by --shutdown-timeout-ms).
   */
  async leave(host: string): Promise<void> {
    const p = this.processes.get(host);
    assert(p !== undefined, `no node runs on ${host}`);
    this.trace.add(`leave ${p.node.me}`);
    this.leavingHosts.add(host);
    try {
      await new Shutdown(p.node).run();
    } finally {
      this.leavingHosts.delete(host);
    }
    if (this.processes.get(host) !== p) return;
    // The process exits: whatever it still had open goes with it.
    p.clock.kill();
    this.net.kill(host);
    this.processes.delete(host);
    this.nodes.delete(p.node.me);
    this.trace.add(`left ${p.node.me}`);
  }

  /** Whether the node on host is leaving (its shutdown runs). */
  isLeaving(host: string): boolean {
    return this.leavingHosts.has(host);
  }

  /** A new process (new incarnation, no data) on the host's address, joining through the running nodes. */
  restart(host: string): Promise<ClusterNode> {
    const seeds = [...this.nodes.keys()];
    return this.start(host, seeds);
  }

  /** A pause of the node on host (a long GC): its callbacks and its reads wait until ms have passed. */
  stall(host: string, ms: number): void {
    const p = this.processes.get(host);
    assert(p !== undefined, `no node runs on ${host}`);
    p.clock.stall(ms);
    this.net.stall(host, p.clock.stallEnd);
    this.trace.add(`stall ${p.node.me} for ${ms} ms`);
  }

  /**
   * The goal state: every node agrees on the table, no move runs, every bucket has a primary (and a
   * backup on another node, with 2+ nodes), and each node's primary and backup counts are within
   * one of buckets/N.
   */
  settled(): boolean {
    const all = [...this.nodes.values()];
    const first = all[0];
    if (first === undefined) return false;
    const entries = first.table.toEntries();
    const want = JSON.stringify(entries);
    for (const n of all) {
      if (JSON.stringify(n.table.toEntries()) !== want) return false;
      if (n.migration.busy || n.migration.incoming !== null) return false;
    }
    if (!entries.every((e) => e.primary !== '' && (all.length < 2 || (e.backup !== '' && e.backup !== e.primary)))) return false;
    const lo = Math.floor(entries.length / all.length);
    const hi = Math.ceil(entries.length / all.length);
    for (const n of all) {
      const primaries = entries.filter((e) => e.primary === n.me).length;
      const backups = entries.filter((e) => e.backup === n.me).length;
      if (primaries < lo || primaries > hi || (all.length > 1 && (backups < lo || backups > hi))) return false;
    }
    return true;
  }

  /** Runs virtual time until settled (or the bound); resolves with whether it settled. */
  async runUntilSettled(maxVirtualMs: number): Promise<boolean> {
    const r = await this.clock.run({ until: () => this.settled(), untilMs: this.clock.nowMs() + maxVirtualMs, maxEvents: 5_000_000 });
    return r.reason === 'until';
  }

  /** Stops every node's timers (the run is over; nothing keeps the process alive). */
  stop(): void {
    for (const p of this.processes.values()) {
      p.node.stopped = true;
      p.node.stopTimers();
      p.clock.kill();
    }
  }
}
