// The node's listening socket: binds exactly the host and port asked for and hands each accepted
// socket on (over TLS: once its handshake is through). The node is then known by the port it
// really got (unless it advertises another).
import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { formatAddress, parseAddress } from '../shared/address.js';
import type { ByteStream } from './byte-stream.js';

export interface ListenSpec {
  /** host:port to bind exactly (port 0: any free port). */
  listen: string;
  /** Connections open at once past which further ones are dropped at accept. */
  maxSockets: number;
  /** A TLS handshake not through by then is dropped. */
  handshakeTimeoutMs: number;
  /** Set: the listener speaks TLS only. */
  tls?: TlsOptions | undefined;
  onSocket(socket: ByteStream): void;
  onDrop(): void;
  /** A peer whose TLS handshake failed (a plain client on a TLS port, a bad certificate). */
  onTlsError?(error: Error, socket: ByteStream): void;
}

export interface Listening {
  /** host:port really bound (port 0 resolved). */
  readonly bound: string;
  /** The real server, where there is one (TLS certificates are reloaded on it). */
  readonly server: Server | null;
  close(): Promise<void>;
}

/** Where listener errors go (the node's logger fits). */
export interface TransportLog {
  error(obj: object, msg?: string): void;
}

export async function listen(o: ListenSpec, log: TransportLog): Promise<Listening> {
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
  return { server, bound: formatAddress({ host, port: realPort }), close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
