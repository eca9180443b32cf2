// Dialling members and joining a cluster: one dial at a time per member, the node handshake and
// server_hello, what a refusal means (a suspicion, judged by the membership's failure detection),
// and the join loop over the seeds (done once the seed's first whole table arrives).
import { DialError } from '../../net/dial.js';
import { dialNode, NodeAuthError, type NodeDialParams } from '../../net/node-handshake.js';
import { Reader } from '../../protocol/codec.js';
import type { Frame } from '../../protocol/header.js';
import { Cmd, ErrorCode, Reply } from '../../protocol/commands.js';
import * as nodeMsg from '../../protocol/messages/node.js';
import { failinfo } from '../../protocol/messages/legacy.js';
import type { MembershipHost } from './host.js';
import { sleep } from '../../shared/clock.js';
import { PeerLink } from '../peer-link.js';
import { MEMBER_CALL_TIMEOUT_MS, type Member } from './member.js';

/** What dialling needs of the node itself. */
export type DialerNode = Pick<MembershipHost, 'me' | 'incarnation' | 'log' | 'clock' | 'transport' | 'opts' | 'peerFrameBytes' | 'tls' | 'linkEvents' | 'safely'>;

/** How this node dials another: as itself, proving the cluster secret, within bounded waits. */
export function nodeDialParams(node: DialerNode): NodeDialParams {
  return {
    secret: node.opts.clusterSecret,
    me: { addr: node.me, incarnation: node.incarnation, role: nodeMsg.NodeRole.data },
    clock: node.clock,
    transport: node.transport,
    maxFrameBytes: node.peerFrameBytes,
    connectTimeoutMs: Math.max(500, node.opts.deadAfterMs / 2),
    handshakeTimeoutMs: Math.max(1000, node.opts.deadAfterMs),
    pauseReadOnOutput: false,
    tls: node.tls?.dialOptions(),
  };
}

/** What dialling needs of the membership around it. */
export interface DialerHost {
  member(addr: string): Member | undefined;
  /** The dialled node acked server_hello: the link serves that member from now on. */
  onLinked(addr: string, link: PeerLink, joining: boolean): void;
  /** The dialled node says this incarnation was declared dead. */
  onDeclaredDead(addr: string): void;
  /** A dial to m was refused once it had been silent half the dead-after time: judge the suspicion. */
  onRefused(m: Member, now: number): void;
}

/** The longest address a joinThrough refusal may name (host:port). */
const JOIN_HINT_CHARS_MAX = 300;

export class Dialer {
  private joinWaiter: ((ok: boolean) => void) | null = null;
  /** The node a seed's joinThrough refusal named, to dial next. */
  private joinHint: string | null = null;

  constructor(
    private readonly node: DialerNode,
    private readonly host: DialerHost,
  ) {}

  /**
   * Dials the seeds in order, retrying, until one welcomes this node with its table (see joined()).
   * A seed that answers joinThrough (the higher node of two) names the node to join through: that
   * one is dialled next, once.
   */
  async join(me: string, seeds: string[], stopped: () => boolean): Promise<boolean> {
    let round = 0;
    while (!stopped()) {
      for (const seed of seeds) {
        if (stopped()) return false;
        if (seed === me) continue;
        if (await this.tryJoin(seed)) return true;
        const hint = this.joinHint;
        this.joinHint = null;
        if (hint !== null && hint !== me && !stopped() && (await this.tryJoin(hint))) return true;
      }
      round++;
      const delayMs = Math.min(2000, 100 * 2 ** Math.min(round, 5));
      this.node.log.warn({ seeds, retryInMs: delayMs }, 'no seed node answered; retrying');
      await sleep(this.node.clock, delayMs);
    }
    return false;
  }

  private async tryJoin(addr: string): Promise<boolean> {
    const ok = await new Promise<boolean>((resolve) => {
      this.joinWaiter = resolve;
      this.dial(addr, true);
    });
    this.joinWaiter = null;
    return ok;
  }

  /** The seed's first whole table arrived on the join link: the join is done. */
  joined(): void {
    this.joinWaiter?.(true);
  }

  dial(addr: string, joining: boolean): void {
    const host = this.host;
    const m = host.member(addr);
    if (m !== undefined) m.dialing = true;
    // A seed may be spelled otherwise than it advertises itself; a member must prove its own address.
    dialNode(addr, { ...nodeDialParams(this.node), expectAddr: joining ? undefined : addr }).then(
      ({ conn }) => this.node.safely('dial', () => {
        const link = new PeerLink(conn, this.node.linkEvents, true);
        link.addr = addr;
        const hello = { addr: this.node.me, incarnation: this.node.incarnation, role: nodeMsg.NodeRole.data };
        link.call(Cmd.serverHello, (w) => nodeMsg.serverHello.encode(w, hello), (reply, err) => this.onHelloReply(link, addr, joining, reply, err), MEMBER_CALL_TIMEOUT_MS);
      }),
      (error: unknown) => this.node.safely('dial', () => {
        if (error instanceof NodeAuthError) this.node.log.error({ peer: addr, err: error.message }, 'cannot link to a node: the node handshake failed');
        else if (error instanceof DialError && error.tlsHandshake) this.node.log.error({ peer: addr, err: error.message }, 'cannot link to a node: the TLS handshake failed');
        this.dialFailed(addr, joining, error instanceof DialError && error.code === 'ECONNREFUSED');
      }),
    );
  }

  private dialFailed(addr: string, joining: boolean, refused: boolean): void {
    const m = this.host.member(addr);
    if (m !== undefined) {
      m.dialing = false;
      m.dialFailures++;
      const now = this.node.clock.nowMs();
      m.nextDialMs = now + Math.min(1000, 50 * 2 ** Math.min(m.dialFailures, 5));
      // A refused dial makes a member suspect sooner than silence (see failure-detector.ts); the
      // death still needs the others' confirmation.
      const silentMs = now - m.lastHeardMs;
      const half = this.node.opts.deadAfterMs / 2;
      if (refused) m.refusedAtMs = now;
      if (refused && m.role === nodeMsg.NodeRole.data && silentMs >= half) {
        this.host.onRefused(m, now);
      } else if (refused && silentMs < half) {
        // Refused too soon to count: dial again right when it can (its lease is over by then).
        m.nextDialMs = Math.min(m.nextDialMs, m.lastHeardMs + half + 1);
      }
    }
    if (joining) this.joinWaiter?.(false);
  }

  private onHelloReply(link: PeerLink, addr: string, joining: boolean, reply: Frame | null, err: string | null): void {
    const m = this.host.member(addr);
    if (m !== undefined) m.dialing = false;
    if (reply !== null && reply.command === Reply.ack) {
      link.established = true;
      this.host.onLinked(addr, link, joining);
      return;
    }
    let why = err ?? `unexpected reply ${reply?.command}`;
    if (reply !== null && reply.command === Reply.failinfo) {
      const info = failinfo.decode(new Reader(reply.payload));
      why = info.message;
      if (info.code === ErrorCode.joinThrough && joining && info.message.length > 0 && info.message.length <= JOIN_HINT_CHARS_MAX) {
        this.joinHint = info.message;
      }
      if (info.code === ErrorCode.declaredDead) {
        link.close('declared dead');
        this.host.onDeclaredDead(addr);
        if (joining) this.joinWaiter?.(false);
        return;
      }
    }
    this.node.log.info({ peer: addr, why }, 'hello refused');
    link.close('hello refused');
    this.dialFailed(addr, joining, false);
  }
}
