// Test helper: a throwaway PKI made with /usr/bin/openssl in a temp dir: a cluster CA, node
// certificates with the IP SAN 127.0.0.1, a client certificate, an expired certificate and one
// from another CA. Keys are EC P-256, mode 0600. The dir is removed with the other temp dirs.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './nodes.js';

const OPENSSL = '/usr/bin/openssl';

export interface CertPair {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  /** The cluster CA's certificate (and its key, for issuing more). */
  ca: CertPair;
  /** A node certificate (IP SAN 127.0.0.1), serial 0x1001. */
  node: CertPair;
  client: CertPair;
  /** Signed by the cluster CA, valid only in January 2020. */
  expired: CertPair;
  /** A CA nobody in the cluster trusts, and a node certificate it signed. */
  otherCa: CertPair;
  otherNode: CertPair;
  /** Issues one more certificate from the cluster CA (e.g. to replace a node's on SIGHUP), for these IP SANs (default 127.0.0.1). */
  issue(name: string, serial: number, ips?: readonly string[]): CertPair;
}

function openssl(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKeyAndCsr(dir: string, name: string, cn: string): CertPair {
  const key = join(dir, `${name}.key`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', join(dir, `${name}.csr`), '-subj', `/CN=${cn}`], dir);
  chmodSync(key, 0o600);
  return { cert: join(dir, `${name}.crt`), key };
}

function makeCa(dir: string, name: string): CertPair {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/CN=${name}`], dir);
  chmodSync(key, 0o600);
  return { cert, key };
}

function ext(ips: readonly string[]): string {
  return `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n`;
}

const EXT = ext(['127.0.0.1']);

function sign(dir: string, ca: CertPair, name: string, serial: number, ips: readonly string[] = ['127.0.0.1']): CertPair {
  const pair = newKeyAndCsr(dir, name, name);
  writeFileSync(join(dir, `${name}.ext`), ext(ips));
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${serial.toString(16)}`, '-days', '30', '-extfile', `${name}.ext`, '-out', pair.cert], dir);
  return pair;
}

/** `openssl x509 -req` (3.0) cannot back-date; `openssl ca` takes explicit start and end dates. */
function signExpired(dir: string, ca: CertPair, name: string): CertPair {
  const pair = newKeyAndCsr(dir, name, name);
  const db = join(dir, 'ca-db');
  mkdirSync(db, { recursive: true });
  writeFileSync(join(db, 'index.txt'), '');
  writeFileSync(join(db, 'serial'), '2001\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    `[ca]\ndefault_ca=c\n[c]\ndatabase=${db}/index.txt\nnew_certs_dir=${db}\nserial=${db}/serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n[ext]\n${EXT}`,
  );
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', ca.cert, '-keyfile', ca.key, '-in', `${name}.csr`, '-out', pair.cert, '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-extensions', 'ext', '-notext'], dir);
  return pair;
}

export function makePki(): TestPki {
  const dir = makeTempDir('oc-pki-');
  const ca = makeCa(dir, 'cluster-ca');
  const otherCa = makeCa(dir, 'other-ca');
  return {
    dir,
    ca,
    node: sign(dir, ca, 'node', 0x1001),
    client: sign(dir, ca, 'client', 0x1002),
    expired: signExpired(dir, ca, 'expired'),
    otherCa,
    otherNode: sign(dir, otherCa, 'other-node', 0x3001),
    issue: (name, serial, ips) => sign(dir, ca, name, serial, ips),
  };
}

/** The `serve`/`logger` flags for a certificate of this PKI. */
export function tlsArgs(pki: TestPki, pair: CertPair = pki.node): string[] {
  return ['--tls-cert', pair.cert, '--tls-key', pair.key, '--tls-ca', pki.ca.cert];
}
