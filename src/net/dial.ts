// Outbound connections: one place that opens a socket to "host:port" with a bounded wait, so every
// dialler (node links, probes, the logging node) connects the same way.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { parseAddress } from '../shared/address.js';

export interface DialOptions {
  /** The dial fails if the connection is not up within this time. */
  timeoutMs: number;
  /** Set: the link runs over TLS, and the dial resolves only once the handshake is through. */
  tls?: ConnectionOptions | undefined;
}

/** An error of a dial, with the system code (ECONNREFUSED, ...) where there is one. */
export class DialError extends Error {
  override name = 'DialError';
  constructor(
    message: string,
    readonly code: string | undefined,
    /** The TCP connection was made but the TLS handshake failed. */
    readonly tlsHandshake = false,
  ) {
    super(message);
  }
}

/** Opens a connection to addr; resolves once it is up, rejects with a DialError otherwise. */
export function dialSocket(addr: string, opts: DialOptions): Promise<Socket> {
  let target;
  try {
    target = parseAddress(addr);
  } catch (error) {
    return Promise.reject(new DialError(`cannot dial ${addr}: ${error instanceof Error ? error.message : String(error)}`, 'EBADADDR'));
  }
  return new Promise((resolve, reject) => {
    const tls = opts.tls;
    const socket = tls === undefined ? connect({ host: target.host, port: target.port }) : tlsConnect({ ...tls, host: target.host, port: target.port });
    const timer = setTimeout(() => socket.destroy(new DialError(`connect to ${addr} timed out after ${opts.timeoutMs} ms`, 'ETIMEDOUT')), opts.timeoutMs);
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      if (err instanceof DialError) return reject(err);
      // A TLS failure names its reason (unknown CA, expired, a plain node that broke off the handshake).
      const tlsHandshake = tls !== undefined && tcpUp;
      const what = tlsHandshake ? 'TLS handshake with' : 'connect to';
      const hint = tlsHandshake && err.code === 'ECONNRESET' ? ' (is the node plain TCP, without TLS?)' : '';
      reject(new DialError(`${what} ${addr}: ${err.message}${hint}`, err.code, tlsHandshake));
    };
    let tcpUp = false;
    socket.once('connect', () => {
      tcpUp = true;
    });
    socket.once('error', onError);
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
