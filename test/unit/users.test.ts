// Unit tests of the users file, password checks, the role table and the users gate (pure parts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHash, hashPassword, parseUsers, roleAllows, userLine, verifyLogin, UsersFileError } from '../../src/server/users.js';
import { gate } from '../../src/server/gate.js';
import { Cmd } from '../../src/protocol/commands.js';

test('a passwd line parses back and verifies its password only', async () => {
  const users = parseUsers(`# comment\n\n${await userLine('ada', 'write', 'pw one')}\n`, 'f');
  assert.equal(users.get('ada')?.role, 'write');
  assert.equal((await verifyLogin(users, 'ada', 'pw one'))?.name, 'ada');
  assert.equal(await verifyLogin(users, 'ada', 'pw two'), null);
  assert.equal(await verifyLogin(users, 'bob', 'pw one'), null, 'an unknown user');
});

test('bad lines and duplicate names are errors naming the line', async () => {
  const hash = formatHash(await hashPassword('x'));
  const cases: [string, RegExp][] = [
    [`ada admin`, /f line 1: want NAME ROLE HASH/],
    [`\nada root ${hash}`, /f line 2: role must be/],
    [`ada admin ${hash}\nada read ${hash}`, /f line 2: user "ada" is listed twice/],
    [`ada admin scrypt$3$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==`, /line 1: scrypt N/],
    [`ada admin scrypt$16384$8$1$!!$AAAAAAAAAAAAAAAAAAAAAA==`, /line 1: salt and hash must be base64/],
    [`ada admin md5$abc`, /line 1: the hash is not scrypt/],
  ];
  for (const [text, want] of cases) assert.throws(() => parseUsers(text, 'f'), (e: unknown) => e instanceof UsersFileError && want.test(e.message), text);
});

test('the role table', () => {
  assert.ok(roleAllows('read', Cmd.get) && roleAllows('read', Cmd.getTable) && roleAllows('read', Cmd.getInt));
  assert.ok(!roleAllows('read', Cmd.set) && !roleAllows('read', Cmd.setInt) && !roleAllows('read', Cmd.stats));
  assert.ok(roleAllows('write', Cmd.set) && roleAllows('write', Cmd.mapDelete) && !roleAllows('write', Cmd.stats));
  assert.ok(roleAllows('admin', Cmd.stats) && roleAllows('admin', Cmd.set) && roleAllows('admin', 9999));
});

test('the gate: no users, before a login, legacy, after a login', () => {
  const none = { login: null, legacy: false };
  assert.deepEqual(gate({ usersOn: false, legacyAllowed: false }, none, Cmd.stats), { ok: true });
  const on = { usersOn: true, legacyAllowed: false };
  for (const c of [Cmd.clientHello, Cmd.auth, Cmd.ping, Cmd.goodbye]) assert.equal(gate(on, none, c).ok, true, `command ${c}`);
  const refused = gate(on, none, Cmd.get);
  assert.ok(!refused.ok && /log in first \(auth\)/.test(refused.why) && !refused.close);
  const hello = gate(on, none, Cmd.hello);
  assert.ok(!hello.ok && hello.close, 'legacy hello refused and closed');
  const allow = { usersOn: true, legacyAllowed: true };
  assert.equal(gate(allow, none, Cmd.hello).ok, true);
  assert.equal(gate(allow, { login: null, legacy: true }, Cmd.setInt).ok, true);
  assert.equal(gate(allow, { login: null, legacy: true }, Cmd.set).ok, false);
  const reader = { login: { user: 'r', role: 'read' as const }, legacy: false };
  assert.equal(gate(on, reader, Cmd.get).ok, true);
  const w = gate(on, reader, Cmd.set);
  assert.ok(!w.ok && w.why === 'user r (role read) may not send command 2200');
});
