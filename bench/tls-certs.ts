// Benchmark helper: a throwaway CA and one node certificate (IP SAN 127.0.0.1) made with
// /usr/bin/openssl in a temp dir, for `npm run bench -- --tls`; removed by the caller.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OPENSSL = '/usr/bin/openssl';
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface BenchCerts {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  remove(): void;
}

export function makeBenchCerts(): BenchCerts {
  const dir = mkdtempSync(join(tmpdir(), 'oc-bench-tls-'));
  const run = (args: string[]): void => void execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    run(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=bench-ca']);
    run(['req', '-new', ...EC, '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=bench-node']);
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
    run(['x509', '-req', '-in', 'node.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '1', '-days', '2', '-extfile', 'ext.cnf', '-out', 'node.crt']);
    chmodSync(join(dir, 'node.key'), 0o600);
    chmodSync(join(dir, 'ca.key'), 0o600);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, ca: join(dir, 'ca.crt'), cert: join(dir, 'node.crt'), key: join(dir, 'node.key'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
