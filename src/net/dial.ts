// Outbound connections: one place that opens a socket to "host:port" with a bounded wait, so every
// dialler (node links, probes, the logging node) connects the same way.
import { connect, type Socket } from 'node:net';
import { parseAddress } from '../shared/address.js';

export interface DialOptions {
  /** The dial fails if the connection is not up within this time. */
  timeoutMs: number;
}

/** An error of a dial, with the system code (ECONNREFUSED, ...) where there is one. */
export class DialError extends Error {
  override name = 'DialError';
  constructor(
    message: string,
    readonly code: string | undefined,
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
    const socket = connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => socket.destroy(new DialError(`connect to ${addr} timed out after ${opts.timeoutMs} ms`, 'ETIMEDOUT')), opts.timeoutMs);
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      reject(err instanceof DialError ? err : new DialError(`connect to ${addr}: ${err.message}`, err.code));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
