// Codecs of the authentication frames: the node handshake that proves the cluster secret
// (node_auth 56, node_challenge reply 15, node_proof 57) and a client's login (auth 33).
import { DecodeError, type Reader, type Writer } from '../codec.js';

/** Bytes of every nonce of the node handshake. */
export const NONCE_BYTES = 32;
/** Bytes of an HMAC-SHA256 proof. */
export const MAC_BYTES = 32;

export interface NodeAuthMsg {
  /** The dialling node's advertised address ('logger@host:pid' for a logging node). */
  addr: string;
  incarnation: bigint;
  role: number;
  nonce: Buffer;
}

/** node_auth (56): string address, long incarnation, int role, string nonce (32 bytes). */
export const nodeAuth = {
  encode(w: Writer, m: NodeAuthMsg): void {
    w.strLatin1(m.addr);
    w.i64(m.incarnation);
    w.i32(m.role);
    w.strBytes(m.nonce);
  },
  decode(r: Reader): NodeAuthMsg {
    const m = { addr: r.strLatin1(), incarnation: r.i64(), role: r.i32(), nonce: r.strCopy() };
    r.done('node_auth');
    if (m.nonce.length !== NONCE_BYTES) throw new DecodeError(`node_auth nonce of ${m.nonce.length} bytes, want ${NONCE_BYTES}`);
    return m;
  },
};

export interface NodeChallengeMsg {
  /** The accepting node's advertised address and incarnation. */
  addr: string;
  incarnation: bigint;
  nonce: Buffer;
  /** The acceptor's proof that it knows the secret (over the whole transcript). */
  mac: Buffer;
}

/** node_challenge (reply 15): string address, long incarnation, string nonce (32), string mac (32). */
export const nodeChallenge = {
  encode(w: Writer, m: NodeChallengeMsg): void {
    w.strLatin1(m.addr);
    w.i64(m.incarnation);
    w.strBytes(m.nonce);
    w.strBytes(m.mac);
  },
  decode(r: Reader): NodeChallengeMsg {
    const m = { addr: r.strLatin1(), incarnation: r.i64(), nonce: r.strCopy(), mac: r.strCopy() };
    r.done('node_challenge');
    if (m.nonce.length !== NONCE_BYTES || m.mac.length !== MAC_BYTES) throw new DecodeError('node_challenge nonce or mac of the wrong length');
    return m;
  },
};

/** node_proof (57): string mac (32 bytes), the dialler's proof. */
export const nodeProof = {
  encode(w: Writer, mac: Buffer): void {
    w.strBytes(mac);
  },
  decode(r: Reader): Buffer {
    const mac = r.strCopy();
    r.done('node_proof');
    if (mac.length !== MAC_BYTES) throw new DecodeError(`node_proof mac of ${mac.length} bytes, want ${MAC_BYTES}`);
    return mac;
  },
};

export interface AuthMsg {
  user: string;
  password: string;
}

/** auth (33): string user name (UTF-8), string password (UTF-8). */
export const auth = {
  encode(w: Writer, m: AuthMsg): void {
    w.strUtf8(m.user);
    w.strUtf8(m.password);
  },
  decode(r: Reader): AuthMsg {
    const m = { user: r.strUtf8(), password: r.strUtf8() };
    r.done('auth');
    return m;
  },
};
