// Membership: the other nodes (and logging nodes) this node knows, one link to each, heartbeats,
// the write lease, failure detection, joining a cluster and gossip of who is in it.
// BACKGROUND: a node is known by its listen address; each start has a new, larger incarnation.
// A node declared dead stays dead: its incarnation is refused, and it must rejoin as a new member.
// BEHAVIOR: a member is declared dead when silent past deadAfterMs, when a dial to it is refused,
// or when another member reports it gone, each only with a quorum (see hasQuorum), or when a new
// incarnation appears on its address. A node that finds its own event loop was paused does not
// declare others dead for it, and its lease (writes allowed) runs from heartbeat send times, so a
// paused primary stops taking writes before its peers can have promoted its backups.
import { DialError } from '../net/dial.js';
import { dialNode, NodeAuthError, type NodeDialParams } from '../net/node-handshake.js';
import { Reader } from '../protocol/codec.js';
import type { Frame } from '../protocol/header.js';
import { Cmd, ErrorCode, Reply } from '../protocol/commands.js';
import * as nodeMsg from '../protocol/messages/node.js';
import { failinfo, address as addressCodec } from '../protocol/messages/legacy.js';
import { PeerLink } from './peer-link.js';
import { sideHasQuorum } from './membership/quorum.js';
import { isSuspect, suspicionConfirmed } from './membership/failure-detector.js';
import type { ClusterNode } from './node.js';

const { NodeRole, MemberState } = nodeMsg;

export interface Member {
  addr: string;
  incarnation: bigint;
  role: number;
  state: number;
  link: PeerLink | null;
  lastHeardMs: number;
  primaries: number;
  backups: number;
  transferring: number;
  dialing: boolean;
  nextDialMs: number;
  dialFailures: number;
  /** When this node learnt of it: the lease grants a new member this long before its first answer. */
  addedMs: number;
  /** Send time (this node's clock) of the latest heartbeat this member answered; -Infinity until it answered. */
  answeredOriginMs: number;
  /** When a dial to it was last refused (this node's clock), if ever. */
  refusedAtMs: number | undefined;
  /** The members it suspects (`addr#incarnation`), as its latest heartbeat or reply said, and when that came. */
  reportedSuspects: ReadonlySet<string>;
  reportedAtMs: number;
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

const CALL_TIMEOUT_MS = 5000;
const DECLARED_LATELY_MAX = 1024;

export class Membership {
  readonly members = new Map<string, Member>();
  /** Incarnations declared dead (`addr#incarnation`), refused ever after. */
  private readonly dead = new Set<string>();
  private readonly probes = new Map<string, DeadProbe>();
  private lastTickMs = performance.now();
  /** Silent members kept for want of a quorum (logged once each until heard again). */
  private readonly noQuorumLogged = new Set<string>();
  /** Deaths this node declared within the dead-after time (`addr#incarnation` to when): still reported as suspects. */
  private readonly declaredLately = new Map<string, number>();
  private joinWaiter: ((ok: boolean) => void) | null = null;

  constructor(private readonly node: ClusterNode) {}

  private get deadAfterMs(): number {
    return this.node.opts.deadAfterMs;
  }

  dataMembers(): Member[] {
    return [...this.members.values()].filter((m) => m.role === NodeRole.data);
  }

  /** Data nodes that may be given buckets: alive, not leaving, linked. */
  targets(): Member[] {
    return this.dataMembers().filter((m) => m.state === MemberState.alive && m.link?.established === true);
  }

  linkOf(addr: string): PeerLink | null {
    const m = this.members.get(addr);
    return m?.link?.established === true ? m.link : null;
  }

  /**
   * Writes are allowed while every data member answered a heartbeat sent less than half the
   * dead-after time ago (or this node is alone). A member that stops hearing from this node stops
   * answering it, so this node stops writing before that member can declare it dead.
   */
  leaseValid(): boolean {
    const now = performance.now();
    const bound = this.deadAfterMs / 2;
    for (const m of this.members.values()) {
      if (m.role !== NodeRole.data) continue;
      // A lost link alone does not end it: the member's lease from us ends as ours from it does,
      // and it declares us dead no sooner than that (a refused dial waits for half the dead-after
      // time of silence), so the other nodes' buckets keep serving while a crashed node is judged.
      if (now - Math.max(m.addedMs, m.answeredOriginMs) >= bound) return false;
    }
    return true;
  }


  /** Addresses with an incarnation declared dead and no live member now. */
  goneAddrs(): Set<string> {
    const out = new Set<string>();
    for (const key of this.dead) {
      const addr = key.slice(0, key.lastIndexOf('#'));
      if (!this.members.has(addr)) out.add(addr);
    }
    return out;
  }

  // ---- joining ----

  /** Dials the seeds in order, retrying, until one welcomes this node with its table. */
  async join(seeds: string[], stopped: () => boolean): Promise<boolean> {
    let round = 0;
    while (!stopped()) {
      for (const seed of seeds) {
        if (stopped()) return false;
        if (seed === this.node.me) continue;
        const ok = await new Promise<boolean>((resolve) => {
          this.joinWaiter = resolve;
          this.dial(seed, true);
        });
        this.joinWaiter = null;
        if (ok) return true;
      }
      round++;
      const delayMs = Math.min(2000, 100 * 2 ** Math.min(round, 5));
      this.node.log.warn({ seeds, retryInMs: delayMs }, 'no seed node answered; retrying');
      await new Promise((r) => setTimeout(r, delayMs));
    }
    return false;
  }

  // ---- dialling ----

  private dial(addr: string, joining: boolean): void {
    const m = this.members.get(addr);
    if (m !== undefined) m.dialing = true;
    dialNode(addr, this.dialParams()).then(
      ({ conn }) => this.node.safely('dial', () => {
        const link = new PeerLink(conn, this.node.linkEvents, true);
        link.addr = addr;
        const hello = { addr: this.node.me, incarnation: this.node.incarnation, role: NodeRole.data };
        link.call(Cmd.serverHello, (w) => nodeMsg.serverHello.encode(w, hello), (reply, err) => this.onHelloReply(link, addr, joining, reply, err), CALL_TIMEOUT_MS);
      }),
      (error: unknown) => this.node.safely('dial', () => {
        if (error instanceof NodeAuthError) this.node.log.error({ peer: addr, err: error.message }, 'cannot link to a node: the node handshake failed');
        else if (error instanceof DialError && error.tlsHandshake) this.node.log.error({ peer: addr, err: error.message }, 'cannot link to a node: the TLS handshake failed');
        this.dialFailed(addr, joining, error instanceof DialError && error.code === 'ECONNREFUSED');
      }),
    );
  }

  /** How this node dials another: as itself, proving the cluster secret, within bounded waits. */
  private dialParams(): NodeDialParams {
    return {
      secret: this.node.opts.clusterSecret,
      me: { addr: this.node.me, incarnation: this.node.incarnation, role: NodeRole.data },
      maxFrameBytes: this.node.peerFrameBytes,
      connectTimeoutMs: Math.max(500, this.deadAfterMs / 2),
      handshakeTimeoutMs: Math.max(1000, this.deadAfterMs),
      pauseReadOnOutput: false,
      tls: this.node.tls?.dialOptions(),
    };
  }

  private dialFailed(addr: string, joining: boolean, refused: boolean): void {
    const m = this.members.get(addr);
    if (m !== undefined) {
      m.dialing = false;
      m.dialFailures++;
      m.nextDialMs = performance.now() + Math.min(1000, 50 * 2 ** Math.min(m.dialFailures, 5));
      // A refused dial makes a member suspect sooner than silence (see failure-detector.ts); the
      // death still needs the others' confirmation.
      const now = performance.now();
      const silentMs = now - m.lastHeardMs;
      if (refused) m.refusedAtMs = now;
      if (refused && m.role === NodeRole.data && silentMs >= this.deadAfterMs / 2) {
        this.judge(m, now, 'connection refused');
      } else if (refused && silentMs < this.deadAfterMs / 2) {
        // Refused too soon to count: dial again right when it can (its lease is over by then).
        m.nextDialMs = Math.min(m.nextDialMs, m.lastHeardMs + this.deadAfterMs / 2 + 1);
      }
    }
    if (joining) this.joinWaiter?.(false);
  }

  private onHelloReply(link: PeerLink, addr: string, joining: boolean, reply: Frame | null, err: string | null): void {
    const m = this.members.get(addr);
    if (m !== undefined) m.dialing = false;
    if (reply !== null && reply.command === Reply.ack) {
      link.established = true;
      const member = m ?? this.addMember({ addr, incarnation: 0n, role: NodeRole.data, state: MemberState.alive });
      this.attach(member, link);
      if (joining) this.joinLink = link;
      this.sendMembers(link);
      this.node.sendTable(link);
      return;
    }
    let why = err ?? `unexpected reply ${reply?.command}`;
    if (reply !== null && reply.command === Reply.failinfo) {
      const info = failinfo.decode(new Reader(reply.payload));
      why = info.message;
      if (info.code === ErrorCode.declaredDead) {
        link.close('declared dead');
        this.node.rejoinAsNew('peer says this incarnation was declared dead', addr);
        if (joining) this.joinWaiter?.(false);
        return;
      }
    }
    this.node.log.info({ peer: addr, why }, 'hello refused');
    link.close('hello refused');
    this.dialFailed(addr, joining, false);
  }

  /** The link on which this node joined: its first table_sync completes the join. */
  private joinLink: PeerLink | null = null;

  // ---- accepting ----

  /** A connection's first frame was server_hello: it is a member's link. */
  onServerHello(link: PeerLink, frame: Frame): void {
    const hello = nodeMsg.serverHello.decode(new Reader(frame.payload));
    if (this.dead.has(`${hello.addr}#${hello.incarnation}`)) {
      link.fail(frame, ErrorCode.declaredDead, `${hello.addr} incarnation ${hello.incarnation} was declared dead; rejoin as a new member`);
      link.close('dead incarnation');
      return;
    }
    let m = this.members.get(hello.addr);
    const isNew = m === undefined || m.incarnation !== hello.incarnation;
    if (this.node.leaving && isNew) {
      link.fail(frame, ErrorCode.shuttingDown, 'this node is shutting down');
      link.close('shutting down');
      return;
    }
    if (m !== undefined && m.incarnation !== hello.incarnation && m.incarnation !== 0n) {
      if (hello.incarnation < m.incarnation) {
        link.fail(frame, ErrorCode.declaredDead, 'an older incarnation of this node');
        link.close('older incarnation');
        return;
      }
      this.declareDead(m, 'restarted with a new incarnation');
      m = undefined;
    }
    if (m !== undefined && m.dialing && this.node.me < hello.addr) {
      // Both dialled at once: the link dialled by the lower address wins.
      link.fail(frame, ErrorCode.busy, 'simultaneous dial; keeping mine');
      link.close('simultaneous dial');
      return;
    }
    link.addr = hello.addr;
    link.incarnation = hello.incarnation;
    link.role = hello.role;
    link.established = true;
    if (m === undefined) m = this.addMember({ addr: hello.addr, incarnation: hello.incarnation, role: hello.role, state: MemberState.alive });
    m.incarnation = hello.incarnation;
    this.attach(m, link);
    link.ack(frame);
    this.node.log.info({ peer: hello.addr, role: hello.role, incarnation: String(hello.incarnation) }, 'member linked');
    this.sendMembers(link);
    if (hello.role === NodeRole.data) this.node.sendTable(link);
    if (isNew) this.gossipMembers();
  }

  private addMember(info: nodeMsg.MemberInfo): Member {
    const m: Member = {
      ...info,
      link: null,
      lastHeardMs: performance.now(),
      primaries: 0,
      backups: 0,
      transferring: 0,
      dialing: false,
      nextDialMs: performance.now() + (this.node.me < info.addr ? 0 : 1000),
      dialFailures: 0,
      addedMs: performance.now(),
      answeredOriginMs: Number.NEGATIVE_INFINITY,
      refusedAtMs: undefined,
      reportedSuspects: new Set(),
      reportedAtMs: Number.NEGATIVE_INFINITY,
    };
    this.probes.delete(info.addr);
    this.members.set(info.addr, m);
    if (info.role === NodeRole.data && this.node.me < info.addr) setImmediate(() => this.node.safely('dial', () => this.dialIfUnlinked(info.addr)));
    if (info.role === NodeRole.data) {
      this.node.log.info({ peer: info.addr }, 'member joined');
      this.node.onMemberAdded(info.addr);
    }
    return m;
  }

  private dialIfUnlinked(addr: string): void {
    const m = this.members.get(addr);
    if (m !== undefined && m.link === null && !m.dialing) this.dial(addr, false);
  }

  private attach(m: Member, link: PeerLink): void {
    if (m.link !== null && m.link !== link) {
      const old = m.link;
      m.link = null;
      // Aborted, not closed: its unanswered pushes fail now, before the out-of-step check below.
      old.abort('replaced by a newer link');
    }
    m.link = link;
    m.lastHeardMs = performance.now();
    m.dialFailures = 0;
    // Updates parked while the link was down never reached this backup: rebuild those copies.
    for (const b of this.node.repl.bucketsOutOfStep(m.addr)) this.node.repl.dropBackup(b, m.addr, 'relinked after missing updates');
  }

  // ---- link events ----

  onLinkClose(link: PeerLink): void {
    this.node.repl.unsubscribe(link);
    if (link === this.joinLink) this.joinLink = null;
    this.node.migration.onLinkClosed(link);
    const m = this.members.get(link.addr);
    if (m === undefined || m.link !== link) return;
    if (link.lastHeardMs > m.lastHeardMs) m.lastHeardMs = link.lastHeardMs;
    m.link = null;
    if (m.role !== NodeRole.data) {
      this.members.delete(m.addr);
      this.node.log.info({ peer: m.addr }, 'logging node left');
      return;
    }
    m.nextDialMs = performance.now();
  }

  /** Commands from members. */
  onCommand(link: PeerLink, frame: Frame): void {
    if (!link.established) {
      if (frame.command === Cmd.serverHello) return this.onServerHello(link, frame);
      link.fail(frame, ErrorCode.notMember, 'say server_hello first');
      return;
    }
    const r = new Reader(frame.payload);
    switch (frame.command) {
      case Cmd.heartbeat:
        return this.onHeartbeat(link, frame, nodeMsg.heartbeat.decode(r));
      case Cmd.members:
        this.onMembers(nodeMsg.members.decode(r));
        return link.ack(frame);
      case Cmd.memberGone:
        this.onMemberGone(link, nodeMsg.memberGone.decode(r));
        return link.ack(frame);
      case Cmd.shuttingDown:
        this.onShuttingDown(addressCodec.decode(r));
        return link.ack(frame);
      case Cmd.tableSync:
        this.node.mergeTable(nodeMsg.table.decode(r), link.addr);
        link.ack(frame);
        if (link === this.joinLink && this.joinWaiter !== null) this.joinWaiter(true);
        return;
      case Cmd.getTable: {
        const msg = { mask: this.node.table.mask, entries: this.node.table.toEntries() };
        return link.replyWith(frame, Reply.table, (w) => nodeMsg.table.encode(w, msg));
      }
      case Cmd.widenMask:
        this.node.widen(nodeMsg.widenMask.decode(r));
        return link.ack(frame);
      case Cmd.subscribeUpdates:
        this.node.repl.subscribe(link);
        this.node.log.info({ logger: link.addr }, 'logging node subscribed');
        return link.ack(frame);
      case Cmd.serverHello:
        return link.fail(frame, ErrorCode.badRequest, 'hello already said');
      case Cmd.goodbye:
        link.ack(frame);
        this.node.log.info({ peer: link.addr }, 'member said goodbye');
        return this.forget(link.addr);
      default:
        return this.node.migration.onCommand(link, frame, r);
    }
  }

  private onHeartbeat(link: PeerLink, frame: Frame, hb: nodeMsg.HeartbeatMsg): void {
    const m = this.members.get(link.addr);
    if (m !== undefined) {
      m.primaries = hb.primaries;
      m.backups = hb.backups;
      m.transferring = hb.transferring;
      this.noteReport(m, hb.suspects);
    }
    const mine = { ...this.node.loadLevels(hb.originMs), suspects: this.suspectList(performance.now()) };
    link.replyWith(frame, Reply.heartbeat, (w) => nodeMsg.heartbeat.encode(w, mine));
  }

  private onMembers(list: nodeMsg.MemberInfo[]): void {
    for (const info of list) {
      if (info.addr === this.node.me || info.role !== NodeRole.data) continue;
      if (this.dead.has(`${info.addr}#${info.incarnation}`)) continue;
      const m = this.members.get(info.addr);
      if (m === undefined) {
        this.addMember(info);
      } else if (m.incarnation === 0n) {
        m.incarnation = info.incarnation;
      } else if (info.incarnation > m.incarnation) {
        this.declareDead(m, 'a newer incarnation was reported');
        this.addMember(info);
      } else if (info.incarnation === m.incarnation && info.state === MemberState.leaving && m.state !== MemberState.leaving) {
        this.onShuttingDown(info.addr);
      }
    }
  }

  private onMemberGone(link: PeerLink, msg: nodeMsg.MemberGoneMsg): void {
    if (msg.addr === this.node.me) {
      if (msg.incarnation === this.node.incarnation) this.node.rejoinAsNew(`declared dead by ${link.addr}`, link.addr);
      return;
    }
    const m = this.members.get(msg.addr);
    if (m === undefined || (m.incarnation !== msg.incarnation && m.incarnation !== 0n)) {
      this.dead.add(`${msg.addr}#${msg.incarnation}`);
      return;
    }
    // Taken only by a side with a quorum, and not about a member this node still hears: a cut of
    // the link between two nodes must not make a third evict both.
    const now = performance.now();
    if (this.unansweredMs(m, now) < this.deadAfterMs / 2 || !this.hasQuorum(now)) {
      this.node.log.info({ peer: msg.addr, by: link.addr }, 'report of a death not taken: this node still hears it, or has no quorum');
      return;
    }
    this.declareDead(m, `reported gone by ${link.addr}`);
  }

  private onShuttingDown(addr: string): void {
    const m = this.members.get(addr);
    if (m === undefined || m.state === MemberState.leaving) return;
    m.state = MemberState.leaving;
    this.node.log.info({ peer: addr }, 'member is shutting down');
    this.node.onMemberLeaving(addr);
  }

  // ---- gossip ----

  memberList(): nodeMsg.MemberInfo[] {
    const self: nodeMsg.MemberInfo = {
      addr: this.node.me,
      incarnation: this.node.incarnation,
      role: NodeRole.data,
      state: this.node.leaving ? MemberState.leaving : MemberState.alive,
    };
    const others = this.dataMembers().map((m) => ({ addr: m.addr, incarnation: m.incarnation, role: m.role, state: m.state }));
    return [self, ...others];
  }

  private sendMembers(link: PeerLink): void {
    const list = this.memberList();
    link.call(Cmd.members, (w) => nodeMsg.members.encode(w, list), () => undefined, CALL_TIMEOUT_MS);
  }

  gossipMembers(): void {
    for (const m of this.members.values()) if (m.link?.established === true) this.sendMembers(m.link);
  }

  /** Sends a command to every linked data member (and loggers, if asked). */
  broadcast(command: number, encode: (w: import('../protocol/codec.js').Writer) => void, toLoggers = false): void {
    for (const m of this.members.values()) {
      if (m.link?.established !== true) continue;
      if (m.role !== NodeRole.data && !toLoggers) continue;
      m.link.call(command, encode, () => undefined, CALL_TIMEOUT_MS);
    }
  }

  // ---- failure ----

  declareDead(m: Member, why: string): void {
    if (this.members.get(m.addr) !== m) return;
    this.members.delete(m.addr);
    this.dead.add(`${m.addr}#${m.incarnation}`);
    if (m.role === NodeRole.data) {
      this.addProbe(m.addr, m.incarnation);
      if (this.declaredLately.size < DECLARED_LATELY_MAX) this.declaredLately.set(`${m.addr}#${m.incarnation}`, performance.now());
    }
    const link = m.link;
    m.link = null;
    link?.abort(`declared dead: ${why}`);
    if (m.role !== NodeRole.data) return;
    this.node.log.warn({ peer: m.addr, why }, 'member declared dead');
    const gone = { addr: m.addr, incarnation: m.incarnation };
    this.broadcast(Cmd.memberGone, (w) => nodeMsg.memberGone.encode(w, gone), true);
    this.node.onMemberGone(m.addr);
    this.node.repl.onPeerGone(m.addr);
  }

  /** Forgets a member that said goodbye after handing everything over. */
  forget(addr: string): void {
    const m = this.members.get(addr);
    if (m === undefined) return;
    this.members.delete(addr);
    this.dead.add(`${m.addr}#${m.incarnation}`);
    m.link?.close('member left');
    if (m.role === NodeRole.data) this.node.onMemberGone(addr);
    this.node.repl.onPeerGone(addr);
  }

  /** Drops every member and link (the node rejoins as a new member). */
  reset(): void {
    for (const m of this.members.values()) m.link?.abort('rejoining as a new member');
    this.members.clear();
    this.probes.clear();
    // The new incarnation takes the cluster's view: deaths the old one declared (perhaps of the
    // very nodes it now joins through) are not its to hold against anyone.
    this.dead.clear();
    this.noQuorumLogged.clear();
  }

  // ---- healing a split ----

  private addProbe(addr: string, incarnation: bigint): void {
    if (this.probes.size >= DEAD_PROBES_MAX) this.probes.delete(this.probes.keys().next().value!);
    this.probes.set(addr, { incarnation, nextProbeMs: performance.now() + PROBE_INTERVAL_MS, attempts: 0 });
  }

  /**
   * BACKGROUND: two sides that declared each other dead (a link that froze, a partition) would
   * each go on alone. BEHAVIOR: the lower address sends a probe naming the incarnation it declared
   * dead, on a fresh connection that changes no membership. A node that is not that incarnation
   * answers notMe (a new node on a reused address is left alone). That incarnation compares the
   * sizes of the two sides: the smaller side rejoins as new members (the higher address on a tie),
   * so the larger side's data, and its acknowledged writes, survive.
   */
  private probeDead(now: number): void {
    for (const [addr, p] of this.probes) {
      if (this.node.me > addr || now < p.nextProbeMs) continue;
      // After the first attempts, slower but never given up: a long cut must still heal.
      p.attempts++;
      p.nextProbeMs = now + (p.attempts > PROBE_ATTEMPTS_FAST ? PROBE_INTERVAL_SLOW_MS : PROBE_INTERVAL_MS * 2);
      this.probe(addr, p.incarnation);
    }
  }

  /** This side's size: this node and the data members it hears (not merely knows). */
  private clusterSize(): number {
    const now = performance.now();
    return 1 + this.dataMembers().filter((m) => this.unansweredMs(m, now) <= this.deadAfterMs / 2).length;
  }

  private probe(addr: string, incarnation: bigint): void {
    // The decision to probe belongs to this incarnation and this declaration: once either is gone
    // (this node rejoined, the member came back), the probe must not speak for the new state.
    const myIncarnation = this.node.incarnation;
    const current = (): boolean => this.node.incarnation === myIncarnation && this.probes.get(addr)?.incarnation === incarnation;
    const params = { ...this.dialParams(), maxFrameBytes: this.node.opts.maxFrameBytes, pauseReadOnOutput: true, connectTimeoutMs: CALL_TIMEOUT_MS };
    dialNode(addr, params).then(
      ({ conn }) => this.node.safely('probe', () => {
        const link = new PeerLink(conn, { onCommand: () => undefined, onClose: () => undefined }, true);
        if (!current()) {
          link.close('probe no longer current');
          return;
        }
        const msg: nodeMsg.ProbeMsg = {
          from: this.node.me,
          fromIncarnation: myIncarnation,
          target: addr,
          targetIncarnation: incarnation,
          fromClusterSize: this.clusterSize(),
        };
        link.call(Cmd.probe, (w) => nodeMsg.probe.encode(w, msg), (reply) => {
          link.close('probe done');
          if (reply?.command !== Reply.long || !current()) return;
          const verdict = new Reader(reply.payload).i64n();
          this.node.log.debug({ peer: addr, verdict }, 'probe answered');
          if (verdict === nodeMsg.ProbeVerdict.youRejoin) {
            this.node.rejoinAsNew(`${addr} and this node declared each other dead; this side rejoins`, addr);
          } else {
            if (verdict === nodeMsg.ProbeVerdict.iRejoin) this.node.log.warn({ peer: addr }, 'a node declared dead still ran: it rejoins as a new member');
            this.probes.delete(addr);
          }
        }, CALL_TIMEOUT_MS);
      }),
      (error: unknown) => {
        if (error instanceof NodeAuthError) this.node.log.warn({ peer: addr, err: error.message }, 'probe failed: the node handshake failed');
        if (error instanceof DialError && error.code === 'EBADADDR') this.probes.delete(addr);
      },
    );
  }

  /** A probe (54) on a fresh connection: answered without touching membership. */
  onProbe(msg: nodeMsg.ProbeMsg): number {
    const { ProbeVerdict } = nodeMsg;
    if (msg.target !== this.node.me || msg.targetIncarnation !== this.node.incarnation) return ProbeVerdict.notMe;
    // The prober declared this node dead, but this node never declared the prober dead (a cut-off
    // minority without a quorum keeps its members): the prober's side went on, this side rejoins.
    // Sizes are compared only when both sides declared each other dead; a side that kept its
    // members would otherwise count nodes that left it long ago.
    const m = this.members.get(msg.from);
    const stillMine = m !== undefined && m.role === NodeRole.data && (m.incarnation === msg.fromIncarnation || m.incarnation === 0n);
    const noQuorum = !this.hasQuorum(performance.now());
    const mine = this.clusterSize();
    const iRejoin = stillMine || noQuorum || mine < msg.fromClusterSize || (mine === msg.fromClusterSize && this.node.me > msg.from);
    if (!iRejoin) return ProbeVerdict.youRejoin;
    const why = stillMine
      ? `declared dead by ${msg.from}, a member this side never declared dead`
      : noQuorum
        ? `declared dead by ${msg.from}, and this side has no quorum`
        : `declared dead by ${msg.from}, whose side is larger (or as large, with the lower address)`;
    setImmediate(() => this.node.safely('rejoin', () => this.node.rejoinAsNew(why, msg.from)));
    return ProbeVerdict.iRejoin;
  }

  // ---- the periodic tick ----

  tick(): void {
    const now = performance.now();
    const gapMs = now - this.lastTickMs;
    this.lastTickMs = now;
    if (gapMs > this.deadAfterMs / 2) {
      this.node.log.warn({ gapMs: Math.round(gapMs) }, 'this node was paused; giving peers a fresh chance');
      for (const m of this.members.values()) m.lastHeardMs = now;
      return;
    }
    this.node.repl.expireParked(now);
    this.node.migration.tick(now);
    this.probeDead(now);
    for (const m of this.members.values()) {
      if (m.link !== null && m.link.lastHeardMs > m.lastHeardMs) m.lastHeardMs = m.link.lastHeardMs;
    }
    // Judged on the reports and last-heard times as they stand at the start of the tick.
    const suspects = this.dataMembers().filter((m) => this.suspects(m, now));
    for (const m of [...this.members.values()]) {
      const link = m.link;
      link?.sweep(now);
      if (now - m.lastHeardMs <= this.deadAfterMs && !suspects.includes(m)) {
        this.noQuorumLogged.delete(m.addr);
      } else if (m.role !== NodeRole.data) {
        this.members.delete(m.addr);
        link?.abort('logging node silent');
        continue;
      } else if (this.judge(m, now, `silent for ${Math.round(now - m.lastHeardMs)} ms`, suspects)) {
        continue;
      }
      if (link?.established === true) this.sendHeartbeat(m, link, now);
      else if (link === null && m.role === NodeRole.data && !m.dialing && now >= m.nextDialMs) this.dial(m.addr, false);
    }
  }

  /** Whether this node suspects member m now (silent, or refused): see failure-detector.ts. */
  private suspects(m: Member, now: number): boolean {
    return m.role === NodeRole.data && isSuspect(now, m.lastHeardMs, m.refusedAtMs, this.deadAfterMs);
  }

  /**
   * Declares m dead if this node suspects it and a majority confirms (with --quorum off, on the
   * suspicion alone); otherwise keeps it (logged once per silence). Returns whether it was declared.
   * `suspects` are the members suspected at the start of this judgement (a death declared meanwhile
   * must not change whom the others are counted against).
   */
  private judge(m: Member, now: number, why: string, suspects = this.dataMembers().filter((x) => this.suspects(x, now))): boolean {
    if (!this.suspects(m, now)) return false;
    const key = `${m.addr}#${m.incarnation}`;
    const confirmed =
      this.node.opts.quorum === 'off' ||
      suspicionConfirmed(
        this.node.me,
        m.addr,
        this.dataMembers()
          .filter((x) => x !== m)
          .map((x) => ({
            addr: x.addr,
            heard: !suspects.includes(x) && this.unansweredMs(x, now) <= this.deadAfterMs / 2,
            suspectsTarget: now - x.reportedAtMs <= this.deadAfterMs / 2 && x.reportedSuspects.has(key),
          })),
      );
    if (confirmed) {
      this.declareDead(m, why);
      return true;
    }
    this.noteNoQuorum(m, now);
    return false;
  }

  /** The members this node suspects now, and those it declared dead lately: what its heartbeats report. */
  private suspectList(now: number): nodeMsg.MemberGoneMsg[] {
    for (const [key, at] of this.declaredLately) if (now - at > this.deadAfterMs) this.declaredLately.delete(key);
    const out = this.dataMembers().filter((m) => this.suspects(m, now)).map((m) => ({ addr: m.addr, incarnation: m.incarnation }));
    for (const key of this.declaredLately.keys()) {
      const at = key.lastIndexOf('#');
      out.push({ addr: key.slice(0, at), incarnation: BigInt(key.slice(at + 1)) });
    }
    return out;
  }

  /** A member's report of whom it suspects. */
  private noteReport(m: Member, list: readonly nodeMsg.MemberGoneMsg[]): void {
    m.reportedSuspects = new Set(list.map((x) => `${x.addr}#${x.incarnation}`));
    m.reportedAtMs = performance.now();
  }

  /**
   * BACKGROUND: silence alone cannot tell a dead member from a network cut; if both sides of a cut
   * declared the other dead, both would promote backups and take writes (split brain), and the
   * smaller side's writes would be dropped when it heals. BEHAVIOR: with --quorum majority and
   * three or more data nodes, a silent member is declared dead only while this node hears (within
   * half the dead-after time) more than half of the data nodes it knows, itself included, or exactly
   * half when that half holds the lowest address. The other side keeps its members, so its lease
   * stays invalid: it serves nothing until the cut heals, and it rejoins then. A refused dial and a
   * member's report need the quorum too (a rejecting firewall refuses like a death; a reporter may
   * be the one cut off); only a new incarnation on the address is proof without one. Two nodes
   * cannot tell a cut from a death, so two go on as without quorum.
   */
  hasQuorum(now: number, heardWithinMs = this.deadAfterMs / 2): boolean {
    if (this.node.opts.quorum === 'off') return true;
    return sideHasQuorum(this.node.me, this.dataMembers().map((m) => ({ addr: m.addr, silentMs: this.unansweredMs(m, now) })), heardWithinMs);
  }

  /**
   * How long ago this node sent the latest heartbeat the member answered: what "hearing" a member
   * means for the quorum. BACKGROUND: any frame would not do: after a cut heals, frames a peer
   * sent before it declared this node dead can still arrive (its kernel kept sending them), and
   * would look like news from a live peer. A reply names the send time of its heartbeat.
   */
  private unansweredMs(m: Member, now: number): number {
    return now - m.answeredOriginMs;
  }

  /** Logged once per silence of a member (not every tick): it is kept, this side waits. */
  private noteNoQuorum(m: Member, now: number): void {
    if (this.noQuorumLogged.has(m.addr)) return;
    this.noQuorumLogged.add(m.addr);
    const fields = { peer: m.addr, silentMs: Math.round(now - m.lastHeardMs), members: this.dataMembers().length + 1 };
    if (!this.hasQuorum(now)) {
      this.node.log.warn(fields, 'no quorum: this node hears at most half of the cluster, so it declares no one dead and serves nothing until the others are heard again');
    } else {
      this.node.log.warn(fields, 'suspect not confirmed: a majority still hears this member (a cut of one link?), so it is kept; this node serves nothing until it hears it again');
    }
  }

  private sendHeartbeat(m: Member, link: PeerLink, now: number): void {
    const hb = { ...this.node.loadLevels(now), suspects: this.suspectList(now) };
    link.call(
      Cmd.heartbeat,
      (w) => nodeMsg.heartbeat.encode(w, hb),
      (reply) => {
        if (reply === null || reply.command !== Reply.heartbeat) return;
        const back = nodeMsg.heartbeat.decode(new Reader(reply.payload));
        m.primaries = back.primaries;
        m.backups = back.backups;
        m.transferring = back.transferring;
        if (back.originMs > m.answeredOriginMs) m.answeredOriginMs = back.originMs;
        this.noteReport(m, back.suspects);
      },
      this.deadAfterMs,
    );
  }
}
