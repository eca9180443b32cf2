// Membership: the other nodes (and logging nodes) this node knows, one link to each, heartbeats,
// the write lease, failure detection, joining a cluster and gossip of who is in it.
// BACKGROUND: a node is known by its listen address; each start has a new, larger incarnation.
// A node declared dead stays dead: its incarnation is refused, and it must rejoin as a new member.
// BEHAVIOR: a member is declared dead when it is suspected (silent past deadAfterMs, or refused)
// and a majority confirms the suspicion (membership/suspicion.ts), when another member reports it
// gone to a side with a quorum that does not hear it either, or when a new incarnation appears on
// its address. A node that finds its own event loop was paused does not
// declare others dead for it, and its lease (writes allowed) runs from heartbeat send times, so a
// paused primary stops taking writes before its peers can have promoted its backups.
import { Reader } from '../protocol/codec.js';
import type { Frame } from '../protocol/header.js';
import { Cmd, ErrorCode } from '../protocol/commands.js';
import * as nodeMsg from '../protocol/messages/node.js';
import { PeerLink } from './peer-link.js';
import { MEMBER_CALL_TIMEOUT_MS as CALL_TIMEOUT_MS, memberKey, newMember, type Member } from './membership/member.js';
import { Suspicions } from './membership/suspicion.js';
import { SplitHealer } from './membership/healing.js';
import { Dialer, nodeDialParams } from './membership/dialer.js';
import { answerHeartbeat, leaseValid, sendHeartbeat } from './membership/heartbeats.js';
import { broadcast, memberList, sendMembers } from './membership/gossip.js';
import type { MembershipHost } from './membership/host.js';
import type { Writer } from '../protocol/codec.js';
import { RecentDeaths } from './recent-deaths.js';
import { LeaseFence } from './membership/lease-fence.js';

const { NodeRole, MemberState } = nodeMsg;

export type { Member } from './membership/member.js';
export type { MembershipHost } from './membership/host.js';

export class Membership {
  readonly members = new Map<string, Member>();
  /** Incarnations declared dead (`addr#incarnation`), refused ever after. */
  private readonly dead = new Set<string>();
  /** Data members declared dead lately, for stats and status only (decides nothing). */
  readonly recentDeaths = new RecentDeaths();
  private lastTickMs: number;
  private readonly suspicion: Suspicions;
  private readonly healer: SplitHealer;
  private readonly dialer: Dialer;
  /** The leases this node's answers granted to members it declared dead (membership/lease-fence.ts). */
  private readonly fence = new LeaseFence(() => this.deadAfterMs / 2);

  constructor(private readonly node: MembershipHost) {
    this.lastTickMs = node.clock.nowMs();
    this.suspicion = new Suspicions(node, {
      dataMembers: () => this.dataMembers(),
      declareDead: (m, why) => this.declareDead(m, why),
    });
    this.dialer = new Dialer(node, {
      member: (addr) => this.members.get(addr),
      onLinked: (addr, link, joining) => this.onLinked(addr, link, joining),
      onDeclaredDead: (addr) => node.rejoinAsNew('peer says this incarnation was declared dead', addr),
      onRefused: (m, now) => this.suspicion.judge(m, now, 'connection refused'),
    });
    this.healer = new SplitHealer(node, {
      probeDialParams: () => ({ ...nodeDialParams(node), maxFrameBytes: node.opts.maxFrameBytes, pauseReadOnOutput: true, connectTimeoutMs: CALL_TIMEOUT_MS }),
      sideSize: () => this.suspicion.sideSize(node.clock.nowMs()),
      hasQuorum: () => this.hasQuorum(node.clock.nowMs()),
      memberIncarnation: (addr) => {
        const m = this.members.get(addr);
        return m !== undefined && m.role === NodeRole.data ? m.incarnation : undefined;
      },
    });
  }

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

  /** Whether this node may write now (membership/heartbeats.ts). */
  leaseValid(strict = false): boolean {
    return leaseValid(this.members.values(), this.node.clock.nowMs(), this.deadAfterMs, strict);
  }

  /** When every write lease a member declared dead may still hold has ended (this node's clock): a take-over's first write waits for it. */
  deadLeasesEndMs(): number {
    return this.fence.endsMs(this.dataMembers());
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

  // ---- joining and dialling (membership/dialer.ts) ----

  /** Dials the seeds in order, retrying, until one welcomes this node with its table. */
  join(seeds: string[], stopped: () => boolean): Promise<boolean> {
    return this.dialer.join(this.node.me, seeds, stopped);
  }

  /** A dial answered hello with ack: the link serves that member (a new one if unknown). */
  private onLinked(addr: string, link: PeerLink, joining: boolean): void {
    const member = this.members.get(addr) ?? this.addMember({ addr, incarnation: 0n, role: NodeRole.data, state: MemberState.alive });
    this.attach(member, link);
    if (joining) this.joinLink = link;
    this.sendMembers(link);
    this.node.sendTable(link);
  }

  /** The link on which this node joined: its first table_sync completes the join. */
  private joinLink: PeerLink | null = null;

  // ---- accepting ----

  /** A connection's first frame was server_hello: it is a member's link. */
  onServerHello(link: PeerLink, frame: Frame): void {
    const hello = nodeMsg.serverHello.decode(new Reader(frame.payload));
    if (this.dead.has(memberKey(hello.addr, hello.incarnation))) {
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
    const refusal = m === undefined && hello.role === NodeRole.data ? this.suspicion.admissionRefusal(this.node.clock.nowMs(), this.dataMembers()) : null;
    if (refusal !== null) {
      link.fail(frame, ErrorCode[refusal.code], refusal.message);
      link.close(`join refused: ${refusal.code}`);
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
    const m = newMember(info, this.node.clock.nowMs(), this.node.me < info.addr);
    this.healer.forget(info.addr);
    this.members.set(info.addr, m);
    if (info.role === NodeRole.data && this.node.me < info.addr) this.node.clock.setImmediate(() => this.node.safely('dial', () => this.dialIfUnlinked(info.addr)));
    if (info.role === NodeRole.data) {
      this.node.log.info({ peer: info.addr }, 'member joined');
      this.node.onMemberAdded(info.addr);
    }
    return m;
  }

  private dialIfUnlinked(addr: string): void {
    const m = this.members.get(addr);
    if (m !== undefined && m.link === null && !m.dialing) this.dialer.dial(addr, false);
  }

  private attach(m: Member, link: PeerLink): void {
    if (m.link !== null && m.link !== link) {
      const old = m.link;
      m.link = null;
      // Aborted, not closed: its unanswered pushes fail now, before the out-of-step check below.
      old.abort('replaced by a newer link');
    }
    m.link = link;
    m.lastHeardMs = this.node.clock.nowMs();
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
    m.nextDialMs = this.node.clock.nowMs();
  }

  /** A table_sync arrived on this link: the one this node joined through completes the join. */
  onTableSynced(link: PeerLink): void {
    if (link === this.joinLink) this.dialer.joined();
  }

  onHeartbeat(link: PeerLink, frame: Frame, hb: nodeMsg.HeartbeatMsg): void {
    answerHeartbeat(this.node, this.suspicion, this.fence, this.members.get(link.addr), link, frame, hb);
  }

  /** Adds members new here, then tells every linked member: what one learns, all do (seed 3877: B never learnt of a node that rejoined through A). */
  onMembers(list: nodeMsg.MemberInfo[]): void {
    let learnt = false;
    for (const info of list) {
      if (info.addr === this.node.me || info.role !== NodeRole.data) continue;
      if (this.dead.has(memberKey(info.addr, info.incarnation))) continue;
      const m = this.members.get(info.addr);
      if (m === undefined) {
        this.addMember(info);
        learnt = true;
      } else if (m.incarnation === 0n) {
        m.incarnation = info.incarnation;
      } else if (info.incarnation > m.incarnation) {
        this.declareDead(m, 'a newer incarnation was reported');
        this.addMember(info);
        learnt = true;
      } else if (info.incarnation === m.incarnation && info.state === MemberState.leaving && m.state !== MemberState.leaving) {
        this.onShuttingDown(info.addr);
      }
    }
    if (learnt) this.gossipMembers();
  }

  onMemberGone(link: PeerLink, msg: nodeMsg.MemberGoneMsg): void {
    if (msg.addr === this.node.me) {
      if (msg.incarnation === this.node.incarnation) this.node.rejoinAsNew(`declared dead by ${link.addr}`, link.addr);
      return;
    }
    const m = this.members.get(msg.addr);
    if (m === undefined || (m.incarnation !== msg.incarnation && m.incarnation !== 0n)) {
      this.dead.add(memberKey(msg.addr, msg.incarnation));
      return;
    }
    if (!this.suspicion.takesReport(m, this.node.clock.nowMs())) {
      this.node.log.info({ peer: msg.addr, by: link.addr }, 'report of a death not taken: this node still hears it, or has no quorum');
      return;
    }
    this.declareDead(m, `reported gone by ${link.addr}`);
  }

  onShuttingDown(addr: string): void {
    const m = this.members.get(addr);
    if (m === undefined || m.state === MemberState.leaving) return;
    m.state = MemberState.leaving;
    this.node.log.info({ peer: addr }, 'member is shutting down');
    this.node.onMemberLeaving(addr);
  }

  // ---- gossip ----

  memberList(): nodeMsg.MemberInfo[] {
    return memberList(this.node, this.dataMembers());
  }

  private sendMembers(link: PeerLink): void {
    sendMembers(link, this.memberList());
  }

  gossipMembers(): void {
    for (const m of this.members.values()) if (m.link?.established === true) this.sendMembers(m.link);
  }

  /** Sends a command to every linked data member (and loggers, if asked). */
  broadcast(command: number, encode: (w: Writer) => void, toLoggers = false): void {
    broadcast(this.members.values(), command, encode, toLoggers);
  }

  // ---- failure ----

  declareDead(m: Member, why: string): void {
    if (this.members.get(m.addr) !== m) return;
    this.members.delete(m.addr);
    this.dead.add(memberKey(m.addr, m.incarnation));
    if (m.role === NodeRole.data) {
      const now = this.node.clock.nowMs();
      this.healer.add(m.addr, m.incarnation, now);
      this.suspicion.declared(m, now);
      this.fence.declared(m);
      this.recentDeaths.add(m.addr, this.node.clock.wallMs());
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
    this.dead.add(memberKey(m.addr, m.incarnation));
    m.link?.close('member left');
    if (m.role === NodeRole.data) this.node.onMemberGone(addr);
    this.node.repl.onPeerGone(addr);
  }

  /** Drops every member and link (the node rejoins as a new member). */
  reset(): void {
    for (const m of this.members.values()) m.link?.abort('rejoining as a new member');
    this.members.clear();
    this.healer.clear();
    // The new incarnation takes the cluster's view: deaths the old one declared (perhaps of the
    // very nodes it now joins through) are not its to hold against anyone.
    this.dead.clear();
    this.suspicion.reset();
    this.fence.reset();
  }

  // ---- healing a split ----

  /** A probe (54) from a proven node: answered without touching membership (membership/healing.ts). */
  onProbe(msg: nodeMsg.ProbeMsg): number {
    return this.healer.onProbe(msg);
  }

  // ---- the periodic tick ----

  tick(): void {
    const now = this.node.clock.nowMs();
    const gapMs = now - this.lastTickMs;
    this.lastTickMs = now;
    if (gapMs > this.deadAfterMs / 2) {
      this.node.log.warn({ gapMs: Math.round(gapMs) }, 'this node was paused; giving peers a fresh chance');
      for (const m of this.members.values()) m.lastHeardMs = now;
      return;
    }
    this.node.repl.expireParked(now);
    this.node.migration.tick(now);
    this.healer.tick(now);
    for (const m of this.members.values()) {
      if (m.link !== null && m.link.lastHeardMs > m.lastHeardMs) m.lastHeardMs = m.link.lastHeardMs;
    }
    // Judged on the reports and last-heard times as they stand at the start of the tick.
    const suspects = this.suspicion.suspectedNow(now);
    for (const m of [...this.members.values()]) {
      const link = m.link;
      link?.sweep(now);
      if (now - m.lastHeardMs <= this.deadAfterMs && !suspects.includes(m)) {
        this.suspicion.heard(m);
      } else if (m.role !== NodeRole.data) {
        this.members.delete(m.addr);
        link?.abort('logging node silent');
        continue;
      } else if (this.suspicion.judge(m, now, `silent for ${Math.round(now - m.lastHeardMs)} ms`, suspects)) {
        continue;
      }
      if (link?.established === true) sendHeartbeat(this.node, this.suspicion, this.fence, m, link, now, this.deadAfterMs);
      else if (link === null && m.role === NodeRole.data && !m.dialing && now >= m.nextDialMs) this.dialer.dial(m.addr, false);
    }
  }

  /** Whether this node hears a majority (membership/suspicion.ts). */
  hasQuorum(now: number, heardWithinMs?: number): boolean {
    return this.suspicion.hasQuorum(now, heardWithinMs);
  }
}
