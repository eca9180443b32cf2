// The cluster secret for `serve` and `logger`: the file given with --cluster-secret-file, else the
// per-user default (made on first use). A file others may read is a usage error (exit 2).
import { PrivateFileError, defaultSecretPath, loadOrCreateSecretFile, readSecretFile } from '../shared/private-file.js';
import { UsageError } from './args.js';

export function loadClusterSecret(file: string | undefined): { secret: Buffer; path: string } {
  try {
    if (file !== undefined) return { secret: readSecretFile(file), path: file };
    const path = defaultSecretPath();
    return { secret: loadOrCreateSecretFile(path), path };
  } catch (error) {
    if (error instanceof PrivateFileError) throw new UsageError(`--cluster-secret-file: ${error.message}`);
    throw new UsageError(`--cluster-secret-file: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export const CLUSTER_SECRET_HELP =
  'file holding the secret every node and logging node of the cluster proves (mode 0600; default $OPENCLUSTER_HOME/cluster.secret, else ~/.opencluster/cluster.secret, made on first use)';
