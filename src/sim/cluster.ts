// Several real ClusterNodes in one process on virtual time and a virtual network: the harness the
// simulator's runs are built on. Each node gets the shared VirtualClock, its own stream of the
// seeded random source and its host's transport; nothing else differs from `serve`.
import { pino } from 'pino';
import { ClusterNode } from '../server/node.js';
import { defaultServerOptions } from '../server/options.js';
import { VirtualClock } from './clock.js';
import { VirtualNetwork, type NetworkOptions } from './network.js';
import { SeededRandom } from './random.js';
import { Trace } from './trace.js';
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
}

export class SimCluster {
  readonly clock = new VirtualClock();
  readonly random: SeededRandom;
  readonly trace: Trace;
  readonly net: VirtualNetwork;
  readonly nodes = new Map<string, ClusterNode>();
  private readonly log = pino({ level: 'silent' });

  constructor(private readonly o: SimClusterOptions) {
    this.random = new SeededRandom(o.seed);
    this.trace = new Trace(this.clock);
    this.net = new VirtualNetwork({ clock: this.clock, random: this.random.fork(), trace: this.trace, ...o.network });
  }

  /** Starts a node on host (its address host:13600): alone without seeds, else joining through them. */
  async start(host: string, seeds: string[] = []): Promise<ClusterNode> {
    const opts = defaultServerOptions();
    opts.listen = `${host}:${SIM_PORT}`;
    opts.nodes = seeds;
    opts.clusterSecret = SIM_SECRET;
    if (this.o.heartbeatIntervalMs !== undefined) opts.heartbeatIntervalMs = this.o.heartbeatIntervalMs;
    if (this.o.deadAfterMs !== undefined) opts.deadAfterMs = this.o.deadAfterMs;
    const node = new ClusterNode(opts, this.log, { clock: this.clock, random: this.random.fork(), transport: hostTransport(this.net, host) });
    await node.listen();
    this.nodes.set(node.me, node);
    this.trace.add(`start ${node.me}${seeds.length > 0 ? ` joining ${seeds.join(',')}` : ' alone'}`);
    node.startTimers();
    if (seeds.length === 0) node.startAlone();
    else void node.join(seeds).then((ok) => this.trace.add(`${node.me} joined: ${ok}`));
    return node;
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
    for (const n of this.nodes.values()) {
      n.stopped = true;
      n.stopTimers();
    }
  }
}
