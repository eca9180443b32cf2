// The node handshake's proofs: HMAC-SHA256 under the cluster secret over both sides' fresh nonces,
// addresses, incarnations and the dialler's role, one proof per direction (so neither can be
// reflected back), compared in constant time. Pure: no I/O.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { NONCE_BYTES } from './messages/auth.js';

/** Everything both sides said in the handshake; each proof covers all of it. */
export interface NodeAuthTranscript {
  dialerAddr: string;
  dialerIncarnation: bigint;
  dialerRole: number;
  dialerNonce: Buffer;
  acceptorAddr: string;
  acceptorIncarnation: bigint;
  acceptorNonce: Buffer;
}

export type ProofSide = 'acceptor' | 'dialer';

const DOMAIN = 'opencluster node auth v1';

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** The proof of one side: HMAC-SHA256(secret, domain, side, every field length-prefixed). */
export function nodeProofMac(secret: Buffer, side: ProofSide, t: NodeAuthTranscript): Buffer {
  const h = createHmac('sha256', secret);
  const field = (b: Buffer): void => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length, 0);
    h.update(len);
    h.update(b);
  };
  const long = (v: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v, 0);
    return b;
  };
  field(Buffer.from(DOMAIN, 'latin1'));
  field(Buffer.from(side, 'latin1'));
  field(Buffer.from(t.dialerAddr, 'latin1'));
  field(long(t.dialerIncarnation));
  field(long(BigInt(t.dialerRole)));
  field(t.dialerNonce);
  field(Buffer.from(t.acceptorAddr, 'latin1'));
  field(long(t.acceptorIncarnation));
  field(t.acceptorNonce);
  return h.digest();
}

/** Constant-time check of a proof received from the other side. */
export function proofMatches(secret: Buffer, side: ProofSide, t: NodeAuthTranscript, mac: Buffer): boolean {
  const want = nodeProofMac(secret, side, t);
  return mac.length === want.length && timingSafeEqual(mac, want);
}
