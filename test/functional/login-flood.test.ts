// Logins flooded from one address (wrong passwords on many connections) do not lock out a user
// logging in from another: the node's login queue serves addresses in turn.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { cleanup, makeTempDir, startNode } from '../helpers/nodes.js';
import { frame } from '../helpers/raw.js';
import { ACK, AUTH, CLIENT_HELLO, authPayload, clientHelloPayload, makeUsersFile, rawLogin } from '../helpers/users.js';
import { RawClient } from '../helpers/raw.js';

const FLOOD_CONNECTIONS = 72;
const sockets: Socket[] = [];

after(async () => {
  for (const s of sockets) s.destroy();
  await cleanup();
});

test('72 connections flooding wrong logins from 127.0.0.2 do not lock out a login from 127.0.0.1', { timeout: 60_000 }, async () => {
  const dir = makeTempDir('oc-flood-');
  const users = await makeUsersFile(dir, [{ name: 'alice', role: 'write', password: 'right password' }]);
  const node = await startNode({ args: ['--users-file', users] });
  const [host, port] = [node.addr.slice(0, node.addr.lastIndexOf(':')), Number(node.addr.slice(node.addr.lastIndexOf(':') + 1))];
  const flood = Buffer.concat([frame(CLIENT_HELLO, 0, 1, clientHelloPayload()), frame(AUTH, 0, 2, authPayload('alice', 'wrong')), frame(AUTH, 0, 3, authPayload('alice', 'wrong'))]);
  await Promise.all(
    Array.from({ length: FLOOD_CONNECTIONS }, () =>
      new Promise<void>((resolve, reject) => {
        const s = connect({ host, port, localAddress: '127.0.0.2' });
        sockets.push(s);
        s.on('error', () => undefined);
        s.once('connect', () => {
          s.write(flood);
          resolve();
        });
        s.once('error', reject);
      }),
    ),
  );
  const c = await RawClient.connect(node.addr);
  const reply = await rawLogin(c, 'alice', 'right password');
  assert.equal(reply.command, ACK, `the login from another address is answered ack, not failinfo ${reply.command === 3 ? reply.payload.readInt32BE(0) : ''}`);
  c.destroy();
});
