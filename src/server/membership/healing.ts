// Healing a split: probes to members declared dead (from the lower address), and to seeds outside
// this node's view, and the answer to such a probe (who rejoins whom).
// BACKGROUND: two sides that declared each other dead (a link that froze, a partition) would each
// go on alone. BEHAVIOR: the probe names the incarnation declared dead. A node that is not that
// incarnation answers notMe (a new node on a reused address is left alone). That incarnation
// rejoins (through the prober) if it never declared the prober dead or has no quorum; if both sides
// declared each other dead, the side that hears fewer nodes rejoins (the higher address on a tie),
// so the larger side's data, and its acknowledged writes, survive. Probes go every 2 s at first,
// then every 10 s, never giving up: a long cut must still heal.
// BACKGROUND: two clusters can also form that know nothing of each other: a node rejoining after
// a cut, and a restarted node on the address of one declared dead, found one while the rest was
// cut off (the simulator's seed 5832); no member of either is dead to the other. BEHAVIOR: a node
// in a cluster probes, every SEED_PROBE_INTERVAL_MS, its seeds and the addresses it declared dead
// that are not members now, naming no incarnation (0). A node in a cluster that does not count the
// prober as a member tells it to rejoin there if the prober's side is smaller (or as large, with
// the higher address); otherwise, or if it counts the prober or is in no cluster yet, notMe. The
// answerer itself never moves: a cluster started alone on a dead member's address stays apart.
import { DialError } from '../../net/dial.js';
import { dialNode, NodeAuthError, type NodeDialParams } from '../../net/node-handshake.js';
import { Reader } from '../../protocol/codec.js';
import { Cmd, Reply } from '../../protocol/commands.js';
import * as nodeMsg from '../../protocol/messages/node.js';
import type { MembershipHost } from './host.js';
import { PeerLink } from '../peer-link.js';
import { normalizeAddress } from '../../shared/address.js';
import { MEMBER_CALL_TIMEOUT_MS } from './member.js';

/** What split healing needs of the node itself. */
export type HealingNode = Pick<MembershipHost, 'me' | 'incarnation' | 'log' | 'clock' | 'safely' | 'rejoinAsNew' | 'everServed' | 'rejoining' | 'leaving' | 'stopped' | 'opts'>;

/** What split healing needs of the membership around it. */
export interface HealingHost {
  /** How to dial a node for a short probe (proving the cluster secret). */
  probeDialParams(): NodeDialParams;
  /** This node and the data members it hears. */
  sideSize(): number;
  hasQuorum(): boolean;
  /** The incarnation of a data member this node still counts (0n: not known yet), or undefined. */
  memberIncarnation(addr: string): bigint | undefined;
}

/** A data member declared dead, probed now and then by the lower address so that a split heals. */
interface DeadProbe {
  incarnation: bigint;
  nextProbeMs: number;
  attempts: number;
}

const PROBE_INTERVAL_MS = 1000;
/** Probes every 2 s this many times, then every PROBE_INTERVAL_SLOW_MS (until notMe or a verdict). */
const PROBE_ATTEMPTS_FAST = 30;
const PROBE_INTERVAL_SLOW_MS = 10_000;
const DEAD_PROBES_MAX = 1024;
const SEED_PROBE_INTERVAL_MS = 5000;
/** Addresses probed for another cluster per round at most. */
const SEED_PROBES_PER_ROUND_MAX = 16;

export class SplitHealer {
  private readonly probes = new Map<string, DeadProbe>();
  private nextSeedProbeMs = 0;

  constructor(
    private readonly node: HealingNode,
    private readonly host: HealingHost,
  ) {}

  /** A data member was declared dead: probe it from now on (if this is the lower address). */
  add(addr: string, incarnation: bigint, now: number): void {
    if (this.probes.size >= DEAD_PROBES_MAX) this.probes.delete(this.probes.keys().next().value!);
    this.probes.set(addr, { incarnation, nextProbeMs: now + PROBE_INTERVAL_MS, attempts: 0 });
  }

  /** The address belongs to a member again: nothing to heal there. */
  forget(addr: string): void {
    this.probes.delete(addr);
  }

  clear(): void {
    this.probes.clear();
  }

  tick(now: number): void {
    for (const [addr, p] of this.probes) {
      if (this.node.me > addr || now < p.nextProbeMs) continue;
      p.attempts++;
      p.nextProbeMs = now + (p.attempts > PROBE_ATTEMPTS_FAST ? PROBE_INTERVAL_SLOW_MS : PROBE_INTERVAL_MS * 2);
      this.probe(addr, p.incarnation);
    }
    if (now < this.nextSeedProbeMs || !this.inCluster()) return;
    this.nextSeedProbeMs = now + SEED_PROBE_INTERVAL_MS;
    const outside = new Set([...this.node.opts.nodes.map((a) => normalizeAddress(a)), ...this.probes.keys()]);
    let sent = 0;
    for (const addr of outside) {
      if (sent >= SEED_PROBES_PER_ROUND_MAX) break;
      if (addr === this.node.me || this.host.memberIncarnation(addr) !== undefined) continue;
      sent++;
      this.probe(addr, 0n);
    }
  }

  private probe(addr: string, incarnation: bigint): void {
    const host = this.host;
    const node = this.node;
    // The decision to probe belongs to this incarnation and this declaration: once either is gone
    // (this node rejoined, the member came back), the probe must not speak for the new state.
    const myIncarnation = node.incarnation;
    const current = (): boolean =>
      node.incarnation === myIncarnation && (incarnation === 0n ? this.host.memberIncarnation(addr) === undefined : this.probes.get(addr)?.incarnation === incarnation);
    dialNode(addr, { ...host.probeDialParams(), expectAddr: addr }).then(
      ({ conn }) => node.safely('probe', () => {
        const link = new PeerLink(conn, { onCommand: () => undefined, onClose: () => undefined }, true);
        if (!current()) {
          link.close('probe no longer current');
          return;
        }
        const msg: nodeMsg.ProbeMsg = { from: node.me, fromIncarnation: myIncarnation, target: addr, targetIncarnation: incarnation, fromClusterSize: host.sideSize() };
        link.call(Cmd.probe, (w) => nodeMsg.probe.encode(w, msg), (reply) => {
          link.close('probe done');
          if (reply?.command !== Reply.long || !current()) return;
          const verdict = new Reader(reply.payload).i64n();
          node.log.debug({ peer: addr, verdict }, 'probe answered');
          if (verdict === nodeMsg.ProbeVerdict.youRejoin) {
            node.rejoinAsNew(incarnation === 0n ? `${addr} is in another cluster, a larger one: this side joins it` : `${addr} and this node declared each other dead; this side rejoins`, addr);
          } else if (incarnation !== 0n) {
            if (verdict === nodeMsg.ProbeVerdict.iRejoin) node.log.warn({ peer: addr }, 'a node declared dead still ran: it rejoins as a new member');
            this.probes.delete(addr);
          }
        }, MEMBER_CALL_TIMEOUT_MS);
      }),
      (error: unknown) => {
        if (error instanceof NodeAuthError) node.log.warn({ peer: addr, err: error.message }, 'probe failed: the node handshake failed');
        if (error instanceof DialError && error.code === 'EBADADDR') this.probes.delete(addr);
      },
    );
  }

  /** Whether this node is in a cluster: it started one or joined, and is not rejoining or leaving. */
  private inCluster(): boolean {
    const n = this.node;
    return n.everServed && !n.rejoining && !n.leaving && !n.stopped;
  }

  /** A probe (54) on a fresh connection from a proven node: answered without touching membership. */
  onProbe(msg: nodeMsg.ProbeMsg): number {
    const host = this.host;
    const node = this.node;
    const { ProbeVerdict } = nodeMsg;
    if (msg.target !== node.me) return ProbeVerdict.notMe;
    if (msg.targetIncarnation !== node.incarnation) {
      // Another cluster's node, if this node is in one that does not count the prober: the prober
      // joins this one if its side is smaller. Never the other way: a cluster started on its own on
      // a dead member's address is not pulled into one it never knew.
      if (!this.inCluster() || host.memberIncarnation(msg.from) !== undefined) return ProbeVerdict.notMe;
      const mine = host.sideSize();
      return mine > msg.fromClusterSize || (mine === msg.fromClusterSize && node.me < msg.from) ? ProbeVerdict.youRejoin : ProbeVerdict.notMe;
    }
    // The prober declared this node dead, but this node never declared the prober dead (a cut-off
    // minority without a quorum keeps its members): the prober's side went on, this side rejoins.
    // Sizes are compared only when both sides declared each other dead; a side that kept its
    // members would otherwise count nodes that left it long ago.
    const inc = host.memberIncarnation(msg.from);
    const stillMine = inc !== undefined && (inc === msg.fromIncarnation || inc === 0n);
    const noQuorum = !host.hasQuorum();
    const mine = host.sideSize();
    const iRejoin = stillMine || noQuorum || mine < msg.fromClusterSize || (mine === msg.fromClusterSize && node.me > msg.from);
    if (!iRejoin) return ProbeVerdict.youRejoin;
    const why = stillMine
      ? `declared dead by ${msg.from}, a member this side never declared dead`
      : noQuorum
        ? `declared dead by ${msg.from}, and this side has no quorum`
        : `declared dead by ${msg.from}, whose side is larger (or as large, with the lower address)`;
    node.clock.setImmediate(() => node.safely('rejoin', () => node.rejoinAsNew(why, msg.from)));
    return ProbeVerdict.iRejoin;
  }
}
