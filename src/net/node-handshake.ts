// The dialling side of the node handshake: proves the cluster secret to the node it dialled and
// checks that node's proof, before the connection carries any node command (server_hello, probe).
// node_auth -> node_challenge (the acceptor's proof), node_proof -> ack. See docs/protocol.md.
import { Reader } from '../protocol/codec.js';
import { Cmd, ErrorCode, Reply, errorCodeName } from '../protocol/commands.js';
import type { Frame } from '../protocol/header.js';
import { nodeAuth, nodeChallenge, nodeProof } from '../protocol/messages/auth.js';
import { failinfo } from '../protocol/messages/legacy.js';
import { newNonce, nodeProofMac, proofMatches, type NodeAuthTranscript } from '../protocol/node-auth.js';
import type { ConnectionOptions } from 'node:tls';
import { Connection } from './connection.js';
import type { Clock } from '../shared/clock.js';
import { realTransport, type Transport } from './transport.js';

export interface NodeIdentity {
  addr: string;
  incarnation: bigint;
  role: number;
}

/** Why a handshake failed: the peer refused our proof, its own proof was wrong, or it broke off. */
export class NodeAuthError extends Error {
  override name = 'NodeAuthError';
  constructor(
    message: string,
    readonly kind: 'refused' | 'badProof' | 'failed',
  ) {
    super(message);
  }
}

const AUTH_ID = 1;
const PROOF_ID = 2;

/**
 * Runs the handshake on a fresh connection (it takes the connection's handlers meanwhile; the
 * caller hands them on afterwards). Resolves with the acceptor's identity once both proofs hold.
 */
export function authenticateAsNode(conn: Connection, secret: Buffer, me: NodeIdentity, peerAddr: string, timeoutMs: number, expectAddr?: string): Promise<NodeIdentity> {
  return new Promise((resolve, reject) => {
    const dialerNonce = newNonce();
    let acceptor: NodeIdentity | null = null;
    let done = false;
    const finish = (error: NodeAuthError | null): void => {
      if (done) return;
      done = true;
      conn.clock.clearTimeout(timer);
      if (error !== null) {
        conn.abort(error);
        reject(error);
      } else {
        resolve(acceptor!);
      }
    };
    const timer = conn.clock.setTimeout(() => finish(new NodeAuthError(`no answer to the node handshake from ${peerAddr} within ${timeoutMs} ms`, 'failed')), timeoutMs);
    const onReply = (frame: Frame): void => {
      if (frame.replyTo === 0) return; // the acceptor sends no command before the handshake is through
      if (frame.command === Reply.failinfo) {
        const info = failinfo.decode(new Reader(frame.payload));
        const kind = info.code === ErrorCode.authFailed ? 'refused' : 'failed';
        const hint = info.code === ErrorCode.authFailed ? ' (the cluster secrets differ?)' : '';
        return finish(new NodeAuthError(`${peerAddr} refused the node handshake: ${errorCodeName(info.code)}: ${info.message}${hint}`, kind));
      }
      if (frame.command === Reply.unknown) return finish(new NodeAuthError(`${peerAddr} does not know the node handshake (an older version?)`, 'failed'));
      if (frame.requestId === AUTH_ID && frame.command === Reply.nodeChallenge) {
        const ch = nodeChallenge.decode(new Reader(frame.payload));
        const t: NodeAuthTranscript = {
          dialerAddr: me.addr,
          dialerIncarnation: me.incarnation,
          dialerRole: me.role,
          dialerNonce,
          acceptorAddr: ch.addr,
          acceptorIncarnation: ch.incarnation,
          acceptorNonce: ch.nonce,
        };
        if (!proofMatches(secret, 'acceptor', t, ch.mac)) {
          return finish(new NodeAuthError(`${peerAddr} does not know the cluster secret (its proof is wrong)`, 'badProof'));
        }
        // BACKGROUND: any node answers node_auth from anyone with a valid acceptor proof, so whoever
        // receives our dial can relay our node_auth to a real node (or back to this node itself) and
        // hand us that node's proof. BEHAVIOR: the proof must name the node we meant to reach, and
        // never this node; otherwise our own proof would let the relay speak as us (see issue 9 review).
        if (ch.addr === me.addr) {
          return finish(new NodeAuthError(`${peerAddr} answered with a proof made by this node itself (a reflected handshake: someone else listens there)`, 'badProof'));
        }
        if (expectAddr !== undefined && ch.addr !== expectAddr) {
          return finish(new NodeAuthError(`${peerAddr} proved to be ${ch.addr}, not the node dialled (a relayed handshake: someone else listens there)`, 'badProof'));
        }
        acceptor = { addr: ch.addr, incarnation: ch.incarnation, role: 0 };
        nodeProof.encode(conn.begin(Cmd.nodeProof, 0, PROOF_ID), nodeProofMac(secret, 'dialer', t));
        conn.end();
        return;
      }
      if (frame.requestId === PROOF_ID && frame.command === Reply.ack && acceptor !== null) return finish(null);
      finish(new NodeAuthError(`${peerAddr} answered the node handshake with reply ${frame.command}`, 'failed'));
    };
    conn.start({
      onFrame: (frame) => {
        try {
          onReply(frame);
        } catch (error) {
          finish(new NodeAuthError(`${peerAddr} sent a malformed handshake reply: ${error instanceof Error ? error.message : String(error)}`, 'failed'));
        }
      },
      onClose: (reason) => finish(new NodeAuthError(`${peerAddr} closed the connection during the node handshake${reason.kind === 'error' ? `: ${reason.error.message}` : ''}`, 'failed')),
    });
    nodeAuth.encode(conn.begin(Cmd.nodeAuth, 0, AUTH_ID), { ...me, nonce: dialerNonce });
    conn.end();
  });
}

export interface NodeDialParams {
  /** How the connection is opened (default: the real network). */
  transport?: Transport;
  /** The clock of the link once it is up (default: real). */
  clock?: Clock;
  secret: Buffer;
  /** Who this side is, as it proves it. */
  me: NodeIdentity;
  /** Frame limit of the link once it is up. */
  maxFrameBytes: number;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  /** false for node links, where both ends send bulk traffic (see ConnectionOptions). */
  pauseReadOnOutput: boolean;
  /** Set: the link runs over mutual TLS (see nodeDialTlsOptions). */
  tls?: ConnectionOptions | undefined;
  /**
   * The address the node must prove it is: set whenever the dialled address is a member's own
   * (as it advertised it); unset only for a seed given by the operator, which may be spelled otherwise.
   */
  expectAddr?: string | undefined;
}

/** Dials a node and proves the cluster secret to it: a connection ready for server_hello or probe. */
export async function dialNode(addr: string, p: NodeDialParams): Promise<{ conn: Connection; peer: NodeIdentity }> {
  const socket = await (p.transport ?? realTransport).dial(addr, { timeoutMs: p.connectTimeoutMs, tls: p.tls });
  const conn = new Connection(socket, { maxFrameBytes: p.maxFrameBytes, pauseReadOnOutput: p.pauseReadOnOutput, ...(p.clock === undefined ? {} : { clock: p.clock }) });
  const peer = await authenticateAsNode(conn, p.secret, p.me, addr, p.handshakeTimeoutMs, p.expectAddr);
  return { conn, peer };
}
