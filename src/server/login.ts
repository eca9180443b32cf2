// Client logins (auth, 33) on a node with users: a bounded number of scrypt checks at once
// node-wide, a bounded wait queue served address by address (one address flooding logins cannot
// lock out the others), reading of the connection held while its login is checked, a
// delayed answer to a failed login, and the connection closed after a few failures.
import type { Frame } from '../protocol/header.js';
import { Reader } from '../protocol/codec.js';
import { ErrorCode, Reply } from '../protocol/commands.js';
import { auth } from '../protocol/messages/auth.js';
import { failinfo } from '../protocol/messages/legacy.js';
import type { Connection } from '../net/connection.js';
import type { ClientSession, Slot } from './client-session.js';
import type { Logger } from './log.js';
import type { Clock } from '../shared/clock.js';
import { verifyLogin, type User } from './users.js';
import { FairQueue } from './fair-queue.js';
import { Outcome } from './request-meter.js';

/** scrypt checks running at once on the node (each takes ~16 MiB and some ms of a core). */
export const LOGIN_CHECKS_MAX = 4;
/** Logins waiting for a check past which a new one is answered overloaded. */
export const LOGIN_QUEUE_MAX = 64;
/** Logins waiting from one address at most: the queue serves addresses in turn (fair-queue.ts). */
export const LOGIN_QUEUE_PER_ADDRESS_MAX = 8;
/** A failed login is answered this long after the check (per connection; others go on). */
export const LOGIN_FAILURE_DELAY_MS = 1000;
/** Failed logins on one connection; the last one closes it. */
export const LOGIN_FAILURES_MAX = 3;

export interface LoginEvents {
  /** A connection logged in: its frame limit and pushes follow from here. */
  onLogin(s: ClientSession): void;
  onFailure(): void;
}

export class Logins {
  private running = 0;
  /** Checks waiting for a free slot, served address by address so that one cannot lock out the rest. */
  private readonly waiting = new FairQueue<() => void>(LOGIN_QUEUE_PER_ADDRESS_MAX, LOGIN_QUEUE_MAX);

  constructor(
    /** null: the node has no users file. */
    private readonly users: ReadonlyMap<string, User> | null,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly events: LoginEvents,
  ) {}

  /** auth (33) from a client connection; a payload that does not decode throws DecodeError (badRequest). */
  onAuth(s: ClientSession, frame: Frame): void {
    const msg = auth.decode(new Reader(frame.payload));
    const users = this.users;
    if (users === null) return s.failinfo(frame, ErrorCode.notAllowed, 'this node has no users (no --users-file): connect without a login');
    if (s.login !== null) {
      return s.failinfo(frame, ErrorCode.badRequest, `this connection is logged in as ${s.login.user} already; open a new connection to log in as another user`);
    }
    // Every slot busy: the check waits its address's turn (fair-queue.ts), or is refused at once.
    const queued = this.running >= LOGIN_CHECKS_MAX;
    let check: (() => void) | null = null;
    if (queued && !this.waiting.add(s.conn.socket.remoteAddress ?? '?', () => check?.())) {
      return s.failinfo(frame, ErrorCode.overloaded, 'too many logins are being checked (from this address, or in all); retry shortly');
    }
    // The reply keeps its place among this connection's replies; nothing after it is read until it is decided.
    const slot = s.defer();
    s.holdReadingForLogin(true);
    check = (): void => {
      if (s.conn.closed) return this.waiting.take()?.(); // gone while it waited: no scrypt for it
      this.running++;
      verifyLogin(users, msg.user, msg.password)
        .then(
          (user) => this.decided(s, frame, slot, msg.user, user),
          (error: unknown) => {
            this.log.error({ client: s.conn.remote, err: error instanceof Error ? error.message : String(error) }, 'login check failed');
            s.complete(slot, (c) => failinfoTo(c, frame, ErrorCode.internal, 'the login could not be checked; the request had no effect'), Outcome.error);
            s.holdReadingForLogin(false);
          },
        )
        .catch((error: unknown) => this.log.error({ client: s.conn.remote, err: error instanceof Error ? error.stack : String(error) }, 'login handling failed'))
        .finally(() => {
          this.running--;
          this.waiting.take()?.();
        });
    };
    if (!queued) check();
  }

  private decided(s: ClientSession, frame: Frame, slot: Slot, name: string, user: User | null): void {
    if (s.conn.closed) return;
    if (user !== null) {
      s.login = { user: user.name, role: user.role };
      this.log.info({ client: s.conn.remote, user: user.name, role: user.role }, 'client logged in');
      s.complete(slot, (c) => c.sendEmpty(Reply.ack, frame.command, frame.requestId));
      this.events.onLogin(s);
      s.holdReadingForLogin(false);
      return;
    }
    const failures = ++s.loginFailures;
    this.events.onFailure();
    this.log.warn({ client: s.conn.remote, user: name, failures }, 'login failed: wrong user name or password');
    // The answer waits; so does everything the connection sent after it (reading stays held).
    this.clock.setTimeout(() => {
      if (s.conn.closed) return;
      s.complete(slot, (c) => failinfoTo(c, frame, ErrorCode.authFailed, 'wrong user name or password'), Outcome.denied);
      if (failures >= LOGIN_FAILURES_MAX) {
        this.log.warn({ client: s.conn.remote, user: name, failures }, 'connection closed: too many failed logins');
        s.conn.close('too many failed logins');
        return;
      }
      s.holdReadingForLogin(false);
    }, LOGIN_FAILURE_DELAY_MS);
  }
}

function failinfoTo(c: Connection, frame: Frame, code: number, message: string): void {
  failinfo.encode(c.begin(Reply.failinfo, frame.command, frame.requestId), { code, message });
  c.end();
}
