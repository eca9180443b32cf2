// The node's listening socket: binds exactly the host and port asked for and hands each accepted
// socket on (over TLS: once its handshake is through). The node is then known by the port it
// really got (unless it advertises another).
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { formatAddress, parseAddress } from '../shared/address.js';
import type { Logger } from './log.js';

export interface Listener {
  server: Server;
  /** host:port really bound (port 0 resolved). */
  bound: string;
}

export interface ListenOptions {
  listen: string;
  /** Sockets open at once past which the kernel's further ones are dropped at accept. */
  maxSockets: number;
  onSocket(socket: Socket): void;
  onDrop(): void;
  /** Set: the listener speaks TLS only. */
  tls?: TlsOptions | undefined;
  /** A TLS handshake not through by then is dropped (the front door's deadline starts after it). */
  handshakeTimeoutMs: number;
  /** A peer whose TLS handshake failed (a plain client on a TLS port, a bad certificate). */
  onTlsError?(error: Error, socket: Socket): void;
}

export async function listen(o: ListenOptions, log: Logger): Promise<Listener> {
  const { host, port } = parseAddress(o.listen);
  let server: Server;
  if (o.tls === undefined) {
    server = createServer({ noDelay: true }, o.onSocket);
  } else {
    const tlsServer = createTlsServer({ ...o.tls, noDelay: true, handshakeTimeout: o.handshakeTimeoutMs });
    tlsServer.on('secureConnection', o.onSocket);
    tlsServer.on('tlsClientError', (error, socket) => {
      o.onTlsError?.(error, socket);
      socket.destroy();
    });
    server = tlsServer;
  }
  server.maxConnections = o.maxSockets;
  server.on('drop', () => o.onDrop());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err: err.message }, 'listener error'));
  const addr = server.address();
  const realPort = typeof addr === 'object' && addr !== null ? addr.port : port;
  return { server, bound: formatAddress({ host, port: realPort }) };
}
