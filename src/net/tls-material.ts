// TLS material of a node or logging node: reads the certificate, key and CA files (the key must be
// private), and turns them into the listener's and the node dialler's TLS options, one place each.
import { readFileSync } from 'node:fs';
import { createSecureContext, type ConnectionOptions, type SecureContextOptions, type TlsOptions } from 'node:tls';
import { checkPrivateFile, PrivateFileError } from '../shared/private-file.js';

/** Oldest protocol version accepted on any link. */
export const TLS_MIN_VERSION = 'TLSv1.2';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** The PEM texts as read, with the files they came from (for a reload). */
export interface TlsMaterial {
  readonly files: TlsFiles;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

export class TlsMaterialError extends Error {
  override name = 'TlsMaterialError';
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TlsMaterialError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/**
 * Reads the three files and checks that they make a usable context (PEM parses, the key matches
 * the certificate). The key file must be readable by its owner only. Throws TlsMaterialError.
 */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  try {
    checkPrivateFile(files.keyFile, 'TLS key file');
  } catch (error) {
    if (error instanceof PrivateFileError) throw new TlsMaterialError(error.message);
    throw error;
  }
  const m: TlsMaterial = { files, cert: readPem(files.certFile, 'TLS certificate file'), key: readPem(files.keyFile, 'TLS key file'), ca: readPem(files.caFile, 'TLS CA file') };
  try {
    createSecureContext(secureContextOptions(m));
  } catch (error) {
    throw new TlsMaterialError(`the TLS files do not make a usable certificate (${files.certFile}, ${files.keyFile}, ${files.caFile}): ${error instanceof Error ? error.message : String(error)}`);
  }
  return m;
}

/** The part of the options a reload replaces (server.setSecureContext). */
export function secureContextOptions(m: TlsMaterial): SecureContextOptions {
  return { cert: m.cert, key: m.key, ca: m.ca, minVersion: TLS_MIN_VERSION };
}

/**
 * The listener's options. Every peer is asked for a certificate, but one without (or with one that
 * does not verify) still completes the handshake: clients need none unless client auth is
 * required, and the front door decides per connection (socket.authorized) who may be a node.
 */
export function serverTlsOptions(m: TlsMaterial): TlsOptions {
  return { ...secureContextOptions(m), requestCert: true, rejectUnauthorized: false };
}

/**
 * How a node or logging node dials a node: it shows its own certificate and verifies the peer's
 * against the cluster CA. The host name is not checked on node links: both ends are verified
 * against the cluster's own CA (the acceptor checks the dialler's certificate too) and both then
 * prove the cluster secret, so a node is known by its CA-signed certificate plus the secret, not
 * by the name or address it was dialled at (which may be a NAT or container address).
 */
export function nodeDialTlsOptions(m: TlsMaterial): ConnectionOptions {
  return { ...secureContextOptions(m), rejectUnauthorized: true, checkServerIdentity: () => undefined };
}

/** True when the first bytes of a stream look like a TLS record (handshake 0x16 or alert 0x15, version 3.x). */
export function looksLikeTls(chunk: Buffer): boolean {
  return chunk.length >= 2 && (chunk[0] === 0x16 || chunk[0] === 0x15) && chunk[1] === 0x03;
}
