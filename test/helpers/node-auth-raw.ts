// Test helper: the node handshake (node_auth 56, node_challenge 15, node_proof 57) built by hand
// from docs/protocol.md, over a RawClient, so tests can play a node that knows a given secret.
import { createHmac, randomBytes } from 'node:crypto';
import { int, long, str, type RawClient, type RawFrame } from './raw.js';


function lenPrefixed(b: Buffer): Buffer {
  return Buffer.concat([int(b.length), b]);
}

interface Transcript {
  dialerAddr: string;
  dialerInc: bigint;
  dialerRole: number;
  dialerNonce: Buffer;
  acceptorAddr: string;
  acceptorInc: bigint;
  acceptorNonce: Buffer;
}

/** HMAC-SHA256 over the fields as docs/protocol.md lists them. */
export function proof(secret: Buffer, side: 'acceptor' | 'dialer', t: Transcript): Buffer {
  const h = createHmac('sha256', secret);
  for (const f of [
    Buffer.from('opencluster node auth v1'),
    Buffer.from(side),
    Buffer.from(t.dialerAddr, 'latin1'),
    long(t.dialerInc),
    long(BigInt(t.dialerRole)),
    t.dialerNonce,
    Buffer.from(t.acceptorAddr, 'latin1'),
    long(t.acceptorInc),
    t.acceptorNonce,
  ]) {
    h.update(lenPrefixed(f));
  }
  return h.digest();
}

export interface HandshakeResult {
  challenge: RawFrame;
  /** Whether the acceptor's proof checked out under `secret`. */
  acceptorProofOk: boolean;
  /** The reply to node_proof. */
  proofReply: RawFrame;
}

/** Plays the dialling node: node_auth, then node_proof made with `secret`. */
export async function rawNodeHandshake(c: RawClient, secret: Buffer, me: { addr: string; incarnation: bigint; role: number }): Promise<HandshakeResult> {
  const nonce = randomBytes(32);
  const challenge = await c.request(56, Buffer.concat([str(me.addr), long(me.incarnation), int(me.role), str(nonce)]));
  if (challenge.command !== 15) throw new Error(`node_auth answered ${challenge.command}, not node_challenge (15)`);
  const p = challenge.payload;
  let off = 0;
  const takeStr = (): Buffer => {
    const n = p.readInt32BE(off);
    const b = p.subarray(off + 4, off + 4 + n);
    off += 4 + n;
    return b;
  };
  const acceptorAddr = takeStr().toString('latin1');
  const acceptorInc = p.readBigInt64BE(off);
  off += 8;
  const acceptorNonce = takeStr();
  const acceptorMac = takeStr();
  const t: Transcript = { dialerAddr: me.addr, dialerInc: me.incarnation, dialerRole: me.role, dialerNonce: nonce, acceptorAddr, acceptorInc, acceptorNonce };
  const acceptorProofOk = proof(secret, 'acceptor', t).equals(acceptorMac);
  const proofReply = await c.request(57, str(proof(secret, 'dialer', t)));
  return { challenge, acceptorProofOk, proofReply };
}
