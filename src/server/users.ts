// The users of a node (--users-file): parsing of the file, password hashes (salted scrypt, checked
// with the async scrypt and a constant-time compare), and the one table of which role may send
// which command.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readPrivateFile } from '../shared/private-file.js';
import { Cmd } from '../protocol/commands.js';

export type Role = 'read' | 'write' | 'admin';
export const ROLES: readonly Role[] = ['read', 'write', 'admin'];

/** scrypt parameters of new hashes (opencluster passwd). */
export const SCRYPT_N = 16384;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
export const KEY_BYTES = 32;
export const SALT_BYTES = 16;
/** Longest user name, in UTF-8 bytes. */
export const USER_NAME_BYTES_MAX = 64;
/** Most memory one scrypt check may take (128 * N * r bytes); a file asking for more is refused. */
const SCRYPT_MEMORY_BYTES_MAX = 256 * 1024 * 1024;
/** Users a file may list (the file is read whole at start). */
const USERS_MAX = 100_000;

export class UsersFileError extends Error {
  override name = 'UsersFileError';
}

export interface PasswordHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

export interface User {
  name: string;
  role: Role;
  hash: PasswordHash;
}

export function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}

/** Why `name` cannot be a user name, or null when it can. */
export function userNameProblem(name: string): string | null {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes < 1 || bytes > USER_NAME_BYTES_MAX) return `a user name is 1..${USER_NAME_BYTES_MAX} bytes, got ${bytes}`;
  if (/\s/u.test(name)) return 'a user name has no white space';
  if (name.startsWith('#')) return 'a user name does not start with #';
  return null;
}

// ---- hashes ----

function scryptAsync(password: string, h: Omit<PasswordHash, 'hash'>, keyBytes: number): Promise<Buffer> {
  const options: ScryptOptions = { N: h.N, r: h.r, p: h.p, maxmem: 128 * h.N * h.r * h.p + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, 'utf8'), h.salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** A new salted hash of `password` with the default parameters. */
export async function hashPassword(password: string): Promise<PasswordHash> {
  const base = { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, salt: randomBytes(SALT_BYTES) };
  return { ...base, hash: await scryptAsync(password, base, KEY_BYTES) };
}

export function formatHash(h: PasswordHash): string {
  return `scrypt$${h.N}$${h.r}$${h.p}$${h.salt.toString('base64')}$${h.hash.toString('base64')}`;
}

/** The line of a users file for this user. */
export async function userLine(name: string, role: Role, password: string): Promise<string> {
  return `${name} ${role} ${formatHash(await hashPassword(password))}`;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function parseHash(text: string): PasswordHash {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') throw new Error('the hash is not scrypt$N$r$p$SALT$HASH');
  const [n, r, p] = parts.slice(1, 4).map((t) => (/^\d{1,9}$/.test(t!) ? Number(t) : NaN)) as [number, number, number];
  if (!(n >= 1024 && n <= 1 << 20 && (n & (n - 1)) === 0)) throw new Error(`scrypt N must be a power of 2 in 1024..1048576, got ${parts[1]}`);
  if (!(r >= 1 && r <= 32) || !(p >= 1 && p <= 16)) throw new Error(`scrypt r must be 1..32 and p 1..16, got ${parts[2]} and ${parts[3]}`);
  if (128 * n * r * p > SCRYPT_MEMORY_BYTES_MAX) throw new Error('scrypt parameters ask for more than 256 MiB');
  if (!B64.test(parts[4]!) || !B64.test(parts[5]!)) throw new Error('salt and hash must be base64');
  const salt = Buffer.from(parts[4]!, 'base64');
  const hash = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8 || salt.length > 64) throw new Error(`the salt must be 8..64 bytes, got ${salt.length}`);
  if (hash.length < 16 || hash.length > 64) throw new Error(`the hash must be 16..64 bytes, got ${hash.length}`);
  return { N: n, r, p, salt, hash };
}

// ---- the file ----

/** Parses the text of a users file; a bad line or a name listed twice is an error naming its line. */
export function parseUsers(text: string, file: string): Map<string, User> {
  const users = new Map<string, User>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = `${file} line ${i + 1}`;
    const fields = line.split(/\s+/u);
    if (fields.length !== 3) throw new UsersFileError(`${at}: want NAME ROLE HASH, got ${fields.length} fields`);
    const [name, role, hashText] = fields as [string, string, string];
    const nameProblem = userNameProblem(name);
    if (nameProblem !== null) throw new UsersFileError(`${at}: ${nameProblem}`);
    if (!isRole(role)) throw new UsersFileError(`${at}: role must be ${ROLES.join(', ')}, got "${role}"`);
    if (users.has(name)) throw new UsersFileError(`${at}: user "${name}" is listed twice`);
    if (users.size >= USERS_MAX) throw new UsersFileError(`${at}: more than ${USERS_MAX} users`);
    let hash: PasswordHash;
    try {
      hash = parseHash(hashText);
    } catch (error) {
      throw new UsersFileError(`${at}: ${(error as Error).message}`);
    }
    users.set(name, { name, role, hash });
  }
  return users;
}

/** Reads and checks a users file (refused when others may read it). */
export function loadUsersFile(path: string): Map<string, User> {
  return parseUsers(readPrivateFile(path, 'users file'), path);
}

/** Stands in for an unknown user, so a wrong name costs the same scrypt as a wrong password. */
const DUMMY_HASH: PasswordHash = { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, salt: randomBytes(SALT_BYTES), hash: randomBytes(KEY_BYTES) };

/** The user when `password` is theirs, else null; an unknown name takes as long as a known one. */
export async function verifyLogin(users: ReadonlyMap<string, User>, name: string, password: string): Promise<User | null> {
  const user = users.get(name);
  const h = user?.hash ?? DUMMY_HASH;
  const key = await scryptAsync(password, h, h.hash.length);
  const same = timingSafeEqual(key, h.hash);
  return same && user !== undefined ? user : null;
}

// ---- who may send what ----

/** Commands any connection may send, logged in or not. */
export const ALWAYS_ALLOWED: ReadonlySet<number> = new Set([Cmd.hello, Cmd.clientHello, Cmd.auth, Cmd.ping, Cmd.goodbye]);

const READ_COMMANDS: readonly number[] = [
  Cmd.get, Cmd.exists, Cmd.ttl, Cmd.mapGetAll, Cmd.mapKeys, Cmd.mapCount, Cmd.getInt, Cmd.getString, Cmd.getTable, Cmd.capabilities,
  Cmd.getWithVersion,
  Cmd.mget, Cmd.scan, // batches and scan (issue 11 B)
];
/** Batch writes (issue 11 B). */
const BATCH_WRITE_COMMANDS: readonly number[] = [Cmd.mset, Cmd.mdelete];
const WRITE_COMMANDS: readonly number[] = [...READ_COMMANDS, ...BATCH_WRITE_COMMANDS, Cmd.set, Cmd.del, Cmd.expire, Cmd.mapDelete, Cmd.setInt, Cmd.setString,
  Cmd.incr, Cmd.setIf, Cmd.getAndSet, Cmd.getAndDelete, Cmd.deleteIf];

/** The legacy data commands: all a hello-only client may use (with --legacy-clients allow). */
export const LEGACY_DATA_COMMANDS: ReadonlySet<number> = new Set([Cmd.setInt, Cmd.setString, Cmd.getInt, Cmd.getString]);

const ROLE_COMMANDS: Readonly<Record<'read' | 'write', ReadonlySet<number>>> = {
  read: new Set(READ_COMMANDS),
  write: new Set(WRITE_COMMANDS),
};

/** Whether a user of `role` may send `command` (admin: every client command, stats included). */
export function roleAllows(role: Role, command: number): boolean {
  if (ALWAYS_ALLOWED.has(command)) return true;
  if (role === 'admin') return true;
  return ROLE_COMMANDS[role].has(command);
}
