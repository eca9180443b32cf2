// The node's TLS: the material in use (replaced on SIGHUP without dropping connections), the
// listener's and the dialler's options made from it, and the bounded log of failed handshakes.
import type { Server } from 'node:net';
import type { ByteStream } from '../net/byte-stream.js';
import type { ConnectionOptions, Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import { loadTlsMaterial, nodeDialTlsOptions, secureContextOptions, serverTlsOptions, type TlsMaterial } from '../net/tls-material.js';
import { RateGate } from '../shared/rate-gate.js';
import type { Logger } from './log.js';

/** Failed-handshake (and TLS-on-plain-port) log lines per second at most; the rest are counted. */
const HANDSHAKE_LOGS_PER_SECOND = 10;

/** One gate for the log lines a peer provokes by speaking the wrong protocol on a port. */
export function mismatchLogGate(): RateGate {
  return new RateGate(HANDSHAKE_LOGS_PER_SECOND, 1000);
}

export class NodeTls {
  private server: TlsServer | null = null;
  private readonly gate = mismatchLogGate();

  constructor(
    private material: TlsMaterial,
    private readonly log: Logger,
  ) {}

  serverOptions(): TlsOptions {
    return serverTlsOptions(this.material);
  }

  /** Options of the next outbound node link (the material in use now). */
  dialOptions(): ConnectionOptions {
    return nodeDialTlsOptions(this.material);
  }

  attach(server: Server): void {
    this.server = server as TlsServer;
  }

  /** A handshake on the listener failed: logged with the peer's address, at a bounded rate. */
  onHandshakeError(error: Error, socket: ByteStream): void {
    const suppressed = this.gate.pass(Date.now());
    if (suppressed === null) return;
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_HTTP_REQUEST' ? ' (a plain TCP client on a TLS port?)' : '';
    this.log.warn({ client: peer, err: error.message, code, suppressed }, `TLS handshake failed${hint}`);
  }

  /**
   * Re-reads the files. On success the listener's context is replaced (new connections get the
   * new certificate, open ones keep theirs) and later dials use it; on failure nothing changes.
   */
  reload(): void {
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(this.material.files);
    } catch (error) {
      this.log.error({ err: error instanceof Error ? error.message : String(error) }, 'TLS certificates not reloaded: the old ones stay in use');
      return;
    }
    try {
      this.server?.setSecureContext(secureContextOptions(next));
    } catch (error) {
      this.log.error({ err: error instanceof Error ? error.message : String(error) }, 'TLS certificates not reloaded: the old ones stay in use');
      return;
    }
    this.material = next;
    this.log.info({ cert: next.files.certFile }, 'TLS certificates reloaded');
  }
}

/** True when the peer showed a certificate that verified against our CA (TLS sockets only). */
export function peerVerified(socket: ByteStream): boolean {
  return (socket as Partial<TLSSocket>).authorized === true;
}

/** Why the peer's certificate did not verify, as OpenSSL says it. */
export function tlsAuthError(socket: ByteStream): string {
  const e = (socket as Partial<TLSSocket>).authorizationError;
  if (e === undefined || e === null) return 'no certificate';
  const text = String(e);
  // OpenSSL names a missing client certificate as a missing issuer: say what it is.
  return (socket as Partial<TLSSocket>).getPeerCertificate?.()?.raw === undefined ? `no certificate (${text})` : text;
}
