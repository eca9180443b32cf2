// The users gate: whether a client connection may send a command, given whether the node has users,
// whether it lets legacy (hello-only) clients in, and who the connection logged in as. Pure; the
// front door applies the verdict. Node commands never reach it (they need the cluster secret).
import { Cmd } from '../protocol/commands.js';
import { ALWAYS_ALLOWED, LEGACY_DATA_COMMANDS, roleAllows, type Role } from './users.js';

export interface GatePolicy {
  /** The node has a users file: every connection logs in (auth) before anything else. */
  usersOn: boolean;
  /** --legacy-clients allow: a hello-only client may use the legacy data commands (role write). */
  legacyAllowed: boolean;
}

export interface GateSubject {
  /** The user this connection logged in as, or null. */
  login: { user: string; role: Role } | null;
  /** Said hello (10): a legacy client. */
  legacy: boolean;
}

export type Verdict = { ok: true } | { ok: false; why: string; close: boolean };

const OK: Verdict = { ok: true };

export function gate(policy: GatePolicy, s: GateSubject, command: number): Verdict {
  if (!policy.usersOn) return OK;
  const login = s.login;
  if (command === Cmd.hello && login === null && !policy.legacyAllowed) {
    return { ok: false, why: 'legacy clients (hello without a login) are refused: this node has users (use client_hello and auth, or start the node with --legacy-clients allow)', close: true };
  }
  if (ALWAYS_ALLOWED.has(command)) return OK;
  if (login !== null) {
    if (roleAllows(login.role, command)) return OK;
    return { ok: false, why: `user ${login.user} (role ${login.role}) may not send command ${command}`, close: false };
  }
  if (s.legacy && policy.legacyAllowed) {
    if (LEGACY_DATA_COMMANDS.has(command)) return OK;
    return { ok: false, why: `a legacy client (hello, no login) may send only the legacy commands, not ${command}: log in first (auth)`, close: false };
  }
  return { ok: false, why: `log in first (auth): command ${command} before a login`, close: false };
}
