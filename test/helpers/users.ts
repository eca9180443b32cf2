// Test helper: users files made with `opencluster passwd`, and the login frames written by hand.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { runCli } from './nodes.js';
import { int, str, type RawClient, type RawFrame } from './raw.js';

export interface TestUser {
  name: string;
  role: 'read' | 'write' | 'admin';
  password: string;
}

/** Commands of the login, as docs/protocol.md numbers them. */
export const CLIENT_HELLO = 11;
export const AUTH = 33;
export const ACK = 1;
export const FAILINFO = 3;
export const AUTH_FAILED = 16;
export const NOT_ALLOWED = 17;

/** Writes a users file (mode 0600) whose lines `opencluster passwd` printed; returns its path. */
export async function makeUsersFile(dir: string, users: TestUser[], mode = 0o600): Promise<string> {
  const lines: string[] = [];
  for (const u of users) {
    const r = await runCli(['passwd', u.name, u.role], 20000, `${u.password}\n`);
    assert.equal(r.code, 0, `passwd ${u.name}: ${r.stderr}`);
    lines.push(r.stdout.trim());
  }
  const path = join(dir, 'users');
  writeFileSync(path, `# test users\n\n${lines.join('\n')}\n`, { mode });
  chmodSync(path, mode);
  return path;
}

/** client_hello payload: int version 1, int features 0. */
export function clientHelloPayload(): Buffer {
  return Buffer.concat([int(1), int(0)]);
}

/** auth payload: string user, string password (UTF-8). */
export function authPayload(user: string, password: string): Buffer {
  return Buffer.concat([str(user), str(password)]);
}

/** Says client_hello and logs in on a raw connection; returns the auth reply. */
export async function rawLogin(c: RawClient, user: string, password: string): Promise<RawFrame> {
  assert.equal((await c.request(CLIENT_HELLO, clientHelloPayload())).command, ACK, 'client_hello ack');
  return c.request(AUTH, authPayload(user, password));
}

/** Asserts a failinfo reply with this code. */
export function assertFailinfo(f: RawFrame, code: number, what: string): void {
  assert.equal(f.command, FAILINFO, `${what}: expected failinfo, got reply ${f.command}`);
  assert.equal(f.payload.readInt32BE(0), code, `${what}: failinfo code`);
}
