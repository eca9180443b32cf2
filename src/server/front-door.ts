// The trust boundary of a node: every accepted connection starts here as an unproven client.
// It may say hello (legacy or rich) and then use the data commands, or prove the cluster secret
// (node_auth, node_proof) and only then become a member link (server_hello) or send a probe.
// Node-only commands from a connection that has not proven itself are refused (notAllowed), and
// the connection is closed after a few such refusals. With a users file, every other command
// passes the users gate (gate.ts): before a login (auth, login.ts) only hello, client_hello, auth,
// ping and goodbye, within a small frame limit; after it, what the user's role allows. Over TLS, a
// node link also needs a certificate that verified against the cluster CA, and clients may be
// required to show one.
import type { ByteStream } from '../net/byte-stream.js';
import type { Clock, Timer } from '../shared/clock.js';
import { Connection, TlsOnPlainError } from '../net/connection.js';
import { Reader, DecodeError } from '../protocol/codec.js';
import type { Frame } from '../protocol/header.js';
import { Cmd, ErrorCode, Feature, PROTOCOL_VERSION, Reply } from '../protocol/commands.js';
import * as nodeMsg from '../protocol/messages/node.js';
import * as data from '../protocol/messages/data.js';
import { nodeAuth, nodeChallenge, nodeProof } from '../protocol/messages/auth.js';
import { newNonce, nodeProofMac, proofMatches } from '../protocol/node-auth.js';
import { ClientSession, type PacingPolicy } from './client-session.js';
import { handleClientCommand, type DataHost } from './data-handlers.js';
import { handleAtomicCommand, isAtomicCommand } from './atomic-handlers.js';
import { handleBatchCommand, isBatchCommand } from './batch-handlers.js';
import { PeerLink } from './peer-link.js';
import type { Membership } from './members.js';
import type { ServerOptions } from './options.js';
import type { NodeStats } from './node-stats.js';
import type { BucketTable } from './table.js';
import type { PeerLinkEvents } from './peer-link.js';
import { Admission, ADMISSION_SWEEP_INTERVAL_MS } from './admission.js';
import { gate, type GatePolicy } from './gate.js';
import { Logins } from './login.js';
import { mismatchLogGate, peerVerified, tlsAuthError, type NodeTls } from './tls-state.js';
import type { RequestMeter } from './request-meter.js';

/** Largest frame payload accepted from a connection that has not logged in (or proven the secret). */
export const LOGIN_FRAME_BYTES_MAX = 4096;

const CAPABILITIES = ['client_hello', 'rich_pushes', 'goodbye_push', 'typed_values', 'maps', 'expiry', 'full_wait', 'unordered_replies', 'stats', 'table', 'legacy', 'node_auth'];

/** The connection proved the cluster secret, logged in, or said its hello where no login is needed. */
function handshakeDone(s: ClientSession): boolean {
  return s.peer !== null || s.login !== null || (s.kind !== 'none' && s.trusted);
}

/** Node-only commands refused on one unproven connection before it is closed. */
export const REFUSALS_MAX = 3;

/** Commands only a member link may send (after the node handshake and server_hello). */
const NODE_COMMANDS: ReadonlySet<number> = new Set([
  Cmd.shuttingDown, Cmd.members, Cmd.heartbeat, Cmd.memberGone, Cmd.tableSync, Cmd.widenMask, Cmd.copyBegin, Cmd.copyItems,
  Cmd.copyAbort, Cmd.copyFinalise, Cmd.syncUpdate, Cmd.backupRelease, Cmd.subscribeUpdates, Cmd.logBatch, Cmd.snapshotRequest, Cmd.logSnapshot,
]);

/** Commands of the node handshake and of nodes: judged by the cluster secret, never by the users gate. */
const NODE_SIDE: ReadonlySet<number> = new Set([...NODE_COMMANDS, Cmd.nodeAuth, Cmd.nodeProof, Cmd.serverHello, Cmd.probe]);

/** What the front door needs of the node (and, for the data commands it passes on, DataHost). */
export interface FrontDoorHost extends DataHost {
  readonly me: string;
  readonly clock: Clock;
  readonly incarnation: bigint;
  readonly stopped: boolean;
  readonly leaving: boolean;
  readonly opts: ServerOptions;
  readonly stats: NodeStats;
  readonly clients: Set<ClientSession>;
  readonly table: Pick<BucketTable, 'mask' | 'size' | 'level' | 'toEntries'>;
  readonly members: Pick<Membership, 'dataMembers' | 'targets' | 'onServerHello' | 'onProbe'>;
  readonly tls: NodeTls | null;
  readonly peerFrameBytes: number;
  readonly linkEvents: PeerLinkEvents;
  /** Every request's outcome and time (ClientSession meters them). */
  readonly requests: RequestMeter;
  safely(what: string, fn: () => void): void;
  statsDoc(): Record<string, unknown>;
}

export class FrontDoor {
  private nextSessionId = 1;
  readonly admission: Admission;
  private sweepTimer: Timer | null = null;
  private readonly policy: GatePolicy;
  private readonly logins: Logins;
  private readonly tlsOnPlainGate = mismatchLogGate();
  /** Pushes to hello clients go one at a time; one that stops acking (or falls far behind) is closed. */
  private readonly pacing: PacingPolicy;

  constructor(private readonly node: FrontDoorHost) {
    const o = node.opts;
    this.policy = { usersOn: o.users !== null, legacyAllowed: o.legacyClients === 'allow' };
    this.logins = new Logins(o.users, node.log, node.clock, {
      onLogin: (s) => this.onLogin(s),
      onFailure: () => node.stats.loginsFailed++,
    });
    this.admission = new Admission(
      {
        maxConnections: o.maxConnections,
        maxConnectionsPerIp: o.maxConnectionsPerIp,
        handshakeTimeoutMs: o.handshakeTimeoutMs,
        frameTimeoutMs: o.frameTimeoutMs,
        pendingFrameBytesMax: o.pendingFrameBytesMax,
      },
      node.log,
      node.clock,
      () => node.clients,
    );
    this.pacing = {
      ackTimeoutMs: o.pushAckTimeoutMs,
      onGiveUp: (s, why, waiting) => {
        const text =
          why === 'ackTimeout'
            ? `connection closed: a hello client left a push unacknowledged for --push-ack-timeout-ms ${o.pushAckTimeoutMs} with pushes waiting`
            : 'connection closed: too many pushes wait for a hello client that does not keep up with its acks';
        node.log.warn({ client: s.conn.remote, why, waiting }, text);
        s.conn.close(why === 'ackTimeout' ? 'push not acknowledged in time' : 'push queue full');
      },
    };
  }

  /** Starts the deadline checks (handshake, frame); stop() ends them. */
  start(): void {
    if (this.sweepTimer !== null) return;
    const clock = this.node.clock;
    this.sweepTimer = clock.setInterval(() => this.node.safely('admission sweep', () => this.admission.sweep(clock.nowMs(), handshakeDone)), ADMISSION_SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  stop(): void {
    if (this.sweepTimer !== null) this.node.clock.clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  onSocket(socket: ByteStream): void {
    const node = this.node;
    if (node.stopped) {
      socket.destroy();
      return;
    }
    if (node.opts.tlsClientAuth === 'require' && !peerVerified(socket)) {
      const client = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      this.admission.notice('clientCert', { client, why: tlsAuthError(socket) }, 'connection closed: client certificates are required (--tls-client-auth require) and this one has none that verifies');
      socket.destroy();
      return;
    }
    const slot = this.admission.admit(socket);
    if (slot === null) {
      node.stats.connectionsRefused++;
      socket.destroy();
      return;
    }
    node.stats.connectionsAccepted++;
    const admission = this.admission;
    const usersOn = this.policy.usersOn;
    const maxFrameBytes = usersOn ? Math.min(LOGIN_FRAME_BYTES_MAX, node.opts.maxFrameBytes) : node.opts.maxFrameBytes;
    const conn = new Connection(socket, { maxFrameBytes, clock: node.clock, onBufferedChange: (d) => admission.onBuffered(d) });
    const session = new ClientSession(conn, this.nextSessionId++, !usersOn, this.pacing, node.requests);
    session.slot = slot;
    node.clients.add(session);
    conn.start({
      onFrame: (frame) => this.onFrame(session, frame),
      onClose: (reason) => {
        node.clients.delete(session);
        session.dispose();
        admission.onClosed(session);
        if (session.nodeAuth !== null && session.peer === null) {
          // The dialler checks this node's proof first and hangs up if it is wrong: its secret differs.
          admission.notice('nodeAuth', { client: conn.remote, claimed: session.nodeAuth.dialerAddr }, 'node handshake abandoned: the peer did not prove the cluster secret (another secret?)');
        }
        if (reason.kind === 'error' && reason.error instanceof TlsOnPlainError) {
          const suppressed = this.tlsOnPlainGate.pass(node.clock.wallMs());
          if (suppressed !== null) node.log.warn({ client: conn.remote, suppressed }, 'a TLS client connected to a plain port (connection closed; start the node with --tls-cert/--tls-key/--tls-ca, or connect without TLS)');
        } else if (reason.kind === 'error') {
          node.stats.protocolErrors++;
          admission.notice('protocolError', { client: conn.remote, why: reason.error.message }, 'client connection closed on error', 'info');
        }
      },
    });
  }

  private onFrame(s: ClientSession, frame: Frame): void {
    if (frame.replyTo !== 0) return s.onReply(frame); // acks of our pushes (paced for hello clients); others dropped
    s.beginRequest(frame.command);
    try {
      this.dispatch(s, frame);
    } catch (error) {
      if (error instanceof DecodeError) {
        this.node.stats.badRequests++;
        return s.failinfo(frame, ErrorCode.badRequest, `command ${frame.command}: ${error.message}`);
      }
      this.node.log.error({ err: error instanceof Error ? error.stack : String(error), command: frame.command }, 'request failed');
      s.failinfo(frame, ErrorCode.internal, 'internal error; the request had no effect');
    } finally {
      s.endRequest();
    }
  }

  private dispatch(s: ClientSession, frame: Frame): void {
    const node = this.node;
    if (s.slot === 'nodeOnly' && frame.command !== Cmd.nodeAuth && frame.command !== Cmd.nodeProof) {
      // Every client slot is taken: this connection came in on the reserve kept for nodes.
      this.admission.refuseFull(s);
      s.failinfo(frame, ErrorCode.overloaded, `this node serves --max-connections ${node.opts.maxConnections} clients at once; try again later`);
      s.conn.close('no client slot free');
      return;
    }
    if (this.policy.usersOn && s.peer === null && !NODE_SIDE.has(frame.command)) {
      const verdict = gate(this.policy, { login: s.login, legacy: s.kind === 'legacy' }, frame.command);
      if (!verdict.ok) return this.notAllowed(s, frame, verdict.why, verdict.close);
    }
    switch (frame.command) {
      case Cmd.hello:
        return this.onHello(s, frame);
      case Cmd.clientHello:
        return this.onRichHello(s, frame);
      case Cmd.goodbye:
        s.ack(frame);
        s.saidGoodbye = true;
        s.conn.close('client said goodbye');
        return;
      case Cmd.ping:
        return s.ack(frame);
      case Cmd.auth:
        return this.logins.onAuth(s, frame);
      case Cmd.nodeAuth:
        return this.onNodeAuth(s, frame);
      case Cmd.nodeProof:
        return this.onNodeProof(s, frame);
      case Cmd.serverHello:
        return this.becomeLink(s, frame);
      case Cmd.probe: {
        const msg = nodeMsg.probe.decode(new Reader(frame.payload));
        if (s.peer === null || s.peer.addr !== msg.from || s.peer.incarnation !== msg.fromIncarnation) {
          return this.refuse(s, frame, 'probe from a connection that has not proven the cluster secret as its sender');
        }
        const verdict = node.members.onProbe(msg);
        return s.send(frame, Reply.long, (w) => data.longReply.encode(w, verdict));
      }
      case Cmd.capabilities:
        return s.send(frame, Reply.strings, (w) => data.stringsReply.encode(w, [...CAPABILITIES, `max_frame_bytes=${node.opts.maxFrameBytes}`], 'latin1'));
      case Cmd.stats:
        return s.send(frame, Reply.json, (w) => data.jsonReply.encode(w, node.statsDoc()));
      case Cmd.getTable: {
        const msg = { mask: node.table.mask, entries: node.table.toEntries() };
        return s.send(frame, Reply.table, (w) => nodeMsg.table.encode(w, msg));
      }
      default:
        if (NODE_COMMANDS.has(frame.command)) return this.refuse(s, frame, 'node command on a client connection');
        if (isAtomicCommand(frame.command)) return handleAtomicCommand(node, s, frame);
        if (isBatchCommand(frame.command)) return handleBatchCommand(node, s, frame);
        return handleClientCommand(node, s, frame);
    }
  }

  /** A command the users gate refused; a refused legacy hello also ends the connection. */
  private notAllowed(s: ClientSession, frame: Frame, why: string, close: boolean): void {
    this.node.stats.notAllowed++;
    s.failinfo(frame, ErrorCode.notAllowed, why);
    if (close) {
      this.admission.notice('legacy', { client: s.conn.remote, command: frame.command }, 'connection closed: a legacy client (hello) on a node with users (--legacy-clients refuse)');
      s.conn.close('legacy client refused');
    } else {
      this.node.log.debug({ client: s.conn.remote, command: frame.command, user: s.login?.user }, 'command not allowed');
    }
  }

  /** A client logged in: the node's own frame limit, and the cluster's addresses a rich client missed before. */
  private onLogin(s: ClientSession): void {
    s.conn.setMaxFrameBytes(this.node.opts.maxFrameBytes);
    if (s.trusted) return;
    s.trusted = true;
    if (s.kind === 'rich') for (const m of this.node.members.dataMembers()) s.pushServerInfo(m.addr);
  }

  /** A node-only command from an unproven connection: refused, and past a few the connection ends. */
  private refuse(s: ClientSession, frame: Frame, why: string): void {
    this.node.stats.nodeCommandsRefused++;
    s.failinfo(frame, ErrorCode.notAllowed, `${why}: prove the cluster secret first (node_auth)`);
    if (++s.refusals >= REFUSALS_MAX) {
      this.admission.notice('nodeCommands', { client: s.conn.remote, command: frame.command, refusals: s.refusals }, 'connection closed: it kept sending node commands without proving the cluster secret');
      s.conn.close('too many refused node commands');
    }
  }

  private onHello(s: ClientSession, frame: Frame): void {
    if (this.node.leaving) return this.redirectHello(s, frame);
    if (s.peer !== null) return s.failinfo(frame, ErrorCode.badRequest, 'a node connection cannot say hello');
    s.becomeLegacy();
    if (!s.trusted) {
      // A legacy client admitted without a login (--legacy-clients allow): the node's frame limit and pushes.
      s.trusted = true;
      s.conn.setMaxFrameBytes(this.node.opts.maxFrameBytes);
    }
    s.ack(frame);
    const node = this.node;
    for (const m of node.members.dataMembers()) s.pushServerInfo(m.addr);
    for (let b = 0; b < node.table.size; b++) {
      const level = node.table.level(b, node.me);
      if (level >= 0) s.pushHashmask(node.table.mask, b, level);
    }
  }

  private onRichHello(s: ClientSession, frame: Frame): void {
    const hello = data.clientHello.decode(new Reader(frame.payload));
    if (hello.version < 1 || hello.version > PROTOCOL_VERSION) {
      return s.failinfo(frame, ErrorCode.badRequest, `protocol version ${hello.version} not supported (1..${PROTOCOL_VERSION})`);
    }
    if (this.node.leaving) return this.redirectHello(s, frame);
    if (s.peer !== null) return s.failinfo(frame, ErrorCode.badRequest, 'a node connection cannot say client_hello');
    s.kind = 'rich';
    s.features = hello.features & (Feature.richPushes | Feature.goodbyePush | Feature.unorderedReplies);
    s.ack(frame);
    for (const m of this.node.members.dataMembers()) s.pushServerInfo(m.addr);
  }

  /** A new client while this node shuts down is sent to a node that stays. */
  private redirectHello(s: ClientSession, frame: Frame): void {
    const other = this.node.members.targets()[0];
    if (other === undefined) return s.failinfo(frame, ErrorCode.shuttingDown, 'this node is shutting down');
    s.tryElsewhere(frame, other.addr);
  }

  /** node_auth: the start of the node handshake; answered with this node's challenge and proof. */
  private onNodeAuth(s: ClientSession, frame: Frame): void {
    if (s.kind !== 'none' || s.peer !== null || s.nodeAuth !== null) {
      return s.failinfo(frame, ErrorCode.badRequest, 'node_auth must be the first command of a fresh connection');
    }
    const msg = nodeAuth.decode(new Reader(frame.payload));
    const node = this.node;
    if (msg.addr === node.me) {
      // No node dials itself: this is a dial of ours relayed back to us, to reflect our own proof.
      this.admission.notice('nodeAuthSelf', { client: s.conn.remote }, 'node link refused: node_auth names this node itself (a reflected handshake)');
      s.failinfo(frame, ErrorCode.notAllowed, 'node_auth names this node itself');
      s.conn.close('node_auth names this node itself');
      return;
    }
    if (node.tls !== null && !peerVerified(s.conn.socket)) {
      // Mutual TLS on node links: knowing the secret is not enough without a CA-signed certificate.
      const why = tlsAuthError(s.conn.socket);
      this.admission.notice('nodeCert', { client: s.conn.remote, claimed: msg.addr, why }, 'node link refused: the peer has no certificate signed by the cluster CA');
      s.failinfo(frame, ErrorCode.notAllowed, `node links need a TLS certificate signed by the cluster CA (${why})`);
      s.conn.close('node link without a verified certificate');
      return;
    }
    s.nodeAuth = {
      dialerAddr: msg.addr,
      dialerIncarnation: msg.incarnation,
      dialerRole: msg.role,
      dialerNonce: msg.nonce,
      acceptorAddr: node.me,
      acceptorIncarnation: node.incarnation,
      acceptorNonce: newNonce(),
    };
    const t = s.nodeAuth;
    const mac = nodeProofMac(node.opts.clusterSecret, 'acceptor', t);
    s.send(frame, Reply.nodeChallenge, (w) => nodeChallenge.encode(w, { addr: t.acceptorAddr, incarnation: t.acceptorIncarnation, nonce: t.acceptorNonce, mac }));
  }

  /** node_proof: the dialler's proof; the connection is a proven node once it holds. */
  private onNodeProof(s: ClientSession, frame: Frame): void {
    const t = s.nodeAuth;
    if (t === null || s.peer !== null) return this.refuse(s, frame, 'node_proof without node_auth');
    const mac = nodeProof.decode(new Reader(frame.payload));
    if (!proofMatches(this.node.opts.clusterSecret, 'dialer', t, mac)) {
      this.node.stats.nodeAuthFailed++;
      this.admission.notice('nodeAuthFailed', { client: s.conn.remote, claimed: t.dialerAddr }, 'node authentication failed: the peer does not know the cluster secret');
      s.failinfo(frame, ErrorCode.authFailed, 'wrong proof: this node has another cluster secret');
      s.conn.close('node authentication failed');
      return;
    }
    s.peer = { addr: t.dialerAddr, incarnation: t.dialerIncarnation, role: t.dialerRole };
    // A proven node holds no client slot and no unfinished-frame budget of the clients.
    this.admission.onProvenNode(s);
    s.conn.stopBufferedReports();
    s.conn.setMaxFrameBytes(this.node.opts.maxFrameBytes);
    s.ack(frame);
  }

  /** server_hello from a proven node, naming the identity it proved: the connection becomes a member link. */
  private becomeLink(s: ClientSession, frame: Frame): void {
    const hello = nodeMsg.serverHello.decode(new Reader(frame.payload));
    const p = s.peer;
    if (p === null) return this.refuse(s, frame, 'server_hello on a connection that has not proven the cluster secret');
    if (p.addr !== hello.addr || p.incarnation !== hello.incarnation || p.role !== hello.role) {
      return s.failinfo(frame, ErrorCode.notAllowed, 'server_hello names another node than the one that proved the secret');
    }
    const node = this.node;
    node.clients.delete(s);
    s.conn.becomeBidirectional(node.peerFrameBytes);
    const link = new PeerLink(s.conn, node.linkEvents, false);
    node.members.onServerHello(link, frame);
  }
}
