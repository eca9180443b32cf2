// Files that hold secrets (the cluster secret, the users file): refused when others may read them,
// created 0600. The default cluster secret is made once per user, like Erlang's cookie, so that
// nodes and logging nodes of one user on one machine share it with no setup.
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export class PrivateFileError extends Error {
  override name = 'PrivateFileError';
}

/** Shortest cluster secret accepted, in bytes of the file's (trimmed) text. */
export const SECRET_BYTES_MIN = 16;

/** Throws unless `path` is a regular file that neither group nor others can read or write. */
export function checkPrivateFile(path: string, what: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (error) {
    throw new PrivateFileError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (!st.isFile()) throw new PrivateFileError(`the ${what} ${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new PrivateFileError(`the ${what} ${path} may be read by others (mode ${mode}); run: chmod 600 ${path}`);
  }
}

/** Reads a private text file after checking its mode. */
export function readPrivateFile(path: string, what: string): string {
  checkPrivateFile(path, what);
  return readFileSync(path, 'utf8');
}

/** The cluster secret in `path`: its text without surrounding white space, at least 16 bytes. */
export function readSecretFile(path: string): Buffer {
  const secret = Buffer.from(readPrivateFile(path, 'cluster secret file').trim(), 'utf8');
  if (secret.length < SECRET_BYTES_MIN) throw new PrivateFileError(`the cluster secret in ${path} is shorter than ${SECRET_BYTES_MIN} bytes`);
  return secret;
}

/** Where the per-user default secret lives: $OPENCLUSTER_HOME/cluster.secret, else ~/.opencluster/cluster.secret. */
export function defaultSecretPath(env: NodeJS.ProcessEnv = process.env): string {
  const home = env['OPENCLUSTER_HOME'];
  return join(home !== undefined && home !== '' ? home : join(homedir(), '.opencluster'), 'cluster.secret');
}

/**
 * The secret in `path`, made first if there is none (32 random bytes in hex, mode 0600). Several
 * processes may start at once: the file is written aside and linked into place, which fails if
 * another got there first, so every one of them reads the same whole secret.
 */
export function loadOrCreateSecretFile(path: string): Buffer {
  try {
    statSync(path);
    return readSecretFile(path);
  } catch (error) {
    if (error instanceof PrivateFileError && !/ENOENT/.test(error.message)) throw error;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${randomBytes(32).toString('hex')}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temp);
  }
  return readSecretFile(path);
}
