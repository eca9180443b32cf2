// The TLS flags of the CLI: --tls-cert/--tls-key/--tls-ca (and --tls-client-auth) of `serve` and
// `logger`, and the client side's --tls-ca/--tls-cert/--tls-key of every command that connects.
// Bad combinations and unreadable or non-private key files are usage errors (exit 2).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ClusterTlsOptions } from '../client/options.js';
import { loadTlsMaterial, TlsMaterialError, type TlsMaterial } from '../net/tls-material.js';
import { checkPrivateFile, PrivateFileError } from '../shared/private-file.js';
import { UsageError } from './args.js';

export interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

/** serve and logger: the node's own certificate, its key (mode 0600) and the cluster CA. */
export function addNodeTlsOptions(cmd: Command): Command {
  return cmd
    .option('--tls-cert <file>', 'TLS: this node\'s certificate (PEM); with --tls-key and --tls-ca, every link runs over TLS')
    .option('--tls-key <file>', 'TLS: the private key of --tls-cert (PEM, mode 0600)')
    .option('--tls-ca <file>', 'TLS: the cluster CA (PEM); node links must show a certificate it signed');
}

/** The node's TLS material, or undefined without the flags; all three or none. SIGHUP re-reads them. */
export function parseNodeTls(f: TlsFlags): TlsMaterial | undefined {
  const given = [f.tlsCert, f.tlsKey, f.tlsCa].filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (given !== 3) throw new UsageError('--tls-cert, --tls-key and --tls-ca go together: give all three or none');
  try {
    return loadTlsMaterial({ certFile: f.tlsCert!, keyFile: f.tlsKey!, caFile: f.tlsCa! });
  } catch (error) {
    if (error instanceof TlsMaterialError) throw new UsageError(error.message);
    throw error;
  }
}

/** serve: --tls-client-auth none|require; require needs TLS. */
export function parseClientAuth(text: string, tls: TlsMaterial | undefined): 'none' | 'require' {
  if (text !== 'none' && text !== 'require') throw new UsageError(`--tls-client-auth must be none or require, got "${text}"`);
  if (text === 'require' && tls === undefined) throw new UsageError('--tls-client-auth require needs TLS (--tls-cert, --tls-key, --tls-ca)');
  return text;
}

/** Commands that connect as a client. */
export function addClientTlsOptions(cmd: Command): Command {
  return cmd
    .option('--tls-ca <file>', 'connect over TLS, verifying the nodes against this CA (PEM)')
    .option('--tls-cert <file>', 'TLS client certificate (PEM), for nodes that require one')
    .option('--tls-key <file>', 'private key of --tls-cert (PEM, mode 0600)');
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** The client's TLS options, or undefined (plain TCP) when no TLS flag is given. */
export function parseClientTls(f: TlsFlags): ClusterTlsOptions | undefined {
  if (f.tlsCa === undefined && f.tlsCert === undefined && f.tlsKey === undefined) return undefined;
  if ((f.tlsCert === undefined) !== (f.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const tls: ClusterTlsOptions = {};
  if (f.tlsCa !== undefined) tls.ca = readFile(f.tlsCa, 'TLS CA file');
  if (f.tlsCert !== undefined && f.tlsKey !== undefined) {
    try {
      checkPrivateFile(f.tlsKey, 'TLS key file');
    } catch (error) {
      if (error instanceof PrivateFileError) throw new UsageError(error.message);
      throw error;
    }
    tls.cert = readFile(f.tlsCert, 'TLS certificate file');
    tls.key = readFile(f.tlsKey, 'TLS key file');
  }
  return tls;
}
