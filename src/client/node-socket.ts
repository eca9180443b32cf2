// A client's socket to one node, plain or TLS, and the words for why it closed while connecting:
// a TLS/plain mismatch shows only as a closed connection or a broken handshake, so it is named.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { TlsOnPlainError, type CloseReason, type Connection } from '../net/connection.js';
import { TLS_MIN_VERSION } from '../net/tls-material.js';
import { parseAddress } from '../shared/address.js';
import type { ClusterTlsOptions } from './options.js';

export interface NodeSocket {
  socket: Socket;
  /** Whether the TLS handshake is through (always false for plain TCP). */
  secured(): boolean;
}

/** A plain or TLS socket to the node; requests written before the TLS handshake wait for it. */
export function openNodeSocket(addr: string, tls: ClusterTlsOptions | undefined): NodeSocket {
  const { host, port } = parseAddress(addr);
  if (tls === undefined) return { socket: netConnect({ host, port }), secured: () => false };
  let secured = false;
  const socket = tlsConnect({ ...tls, host, port, minVersion: TLS_MIN_VERSION });
  socket.once('secureConnect', () => {
    secured = true;
  });
  return { socket, secured: () => secured };
}

/** Why a connection closed, in words; while still connecting, with the likely TLS cause named. */
export function closeReason(conn: Connection, reason: CloseReason, connecting: boolean, tls: ClusterTlsOptions | undefined, secured: boolean): string {
  const why = reason.kind === 'error' ? reason.error.message : reason.kind === 'local' ? reason.why : 'closed by the node';
  if (!connecting) return why;
  if (reason.kind === 'error' && reason.error instanceof TlsOnPlainError) return `${why} (the node speaks TLS: set the tls option)`;
  if (tls !== undefined && !secured) {
    const code = (reason.kind === 'error' ? (reason.error as NodeJS.ErrnoException).code : undefined) ?? 'closed';
    const hint = code === 'ECONNRESET' || code === 'closed' ? ' (is the node plain TCP, without TLS?)' : '';
    return `TLS handshake failed: ${why} [${code}]${hint}`;
  }
  if (conn.bytesIn > 0 || conn.bytesOut === 0) return why;
  if (tls === undefined) return `${why} before answering client_hello (is the node using TLS? set the tls option)`;
  return `${why} right after the TLS handshake (does the node require a client certificate? set tls.cert and tls.key)`;
}
