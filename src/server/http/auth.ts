// Who may use the HTTP side door: with a users file, an admin login by HTTP Basic, checked against
// the same users and scrypt check as the client port's auth (users.ts). A bounded number of checks
// run at once; past it a request is answered 503 instead of queueing.
import type { IncomingMessage } from 'node:http';
import { verifyLogin, type User } from '../users.js';

/** scrypt checks of HTTP logins running at once (each takes ~16 MiB and some ms of a core). */
export const HTTP_LOGIN_CHECKS_MAX = 2;

export type AuthVerdict = 'ok' | 'missing' | 'wrong' | 'notAdmin' | 'busy';

export class HttpAuth {
  private checking = 0;

  constructor(private readonly users: ReadonlyMap<string, User> | null) {}

  get required(): boolean {
    return this.users !== null;
  }

  async check(req: IncomingMessage): Promise<AuthVerdict> {
    if (this.users === null) return 'ok';
    const creds = basicCredentials(req.headers.authorization);
    if (creds === null) return 'missing';
    if (this.checking >= HTTP_LOGIN_CHECKS_MAX) return 'busy';
    this.checking++;
    try {
      const user = await verifyLogin(this.users, creds.user, creds.password);
      if (user === null) return 'wrong';
      return user.role === 'admin' ? 'ok' : 'notAdmin';
    } finally {
      this.checking--;
    }
  }
}

/** user and password of an `Authorization: Basic ...` header, or null when there is none or it is malformed. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  if (header === undefined) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(header);
  if (m === null) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
