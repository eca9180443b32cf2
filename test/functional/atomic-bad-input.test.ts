// Malformed atomic commands, sent by hand: each is answered failinfo badRequest (or overflow /
// versionMismatch where the frame is well formed), the connection stays usable, and nothing is stored;
// with --users-file, the atomic writes need role write.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ClusterError } from '../../src/index.js';
import { cleanup, makeTempDir, startNode, type NodeProcess } from '../helpers/nodes.js';
import { makeUsersFile } from '../helpers/users.js';
import { checkHealthy, failCode, int, long, R, RawClient, str } from '../helpers/raw.js';

const INCR = 2220;
const SET_IF = 2221;
const GET_AND_SET = 2222;
const DELETE_IF = 2225;
const GET_WITH_VERSION = 2224;
const EXISTS = 2203;
const VALUE = 5;
const BAD_REQUEST = 3;
const VERSION_MISMATCH = 20;
const OVERFLOW = 21;

let node: NodeProcess;
before(async () => {
  node = await startNode();
});
after(cleanup);

const ref = (key: string): Buffer => Buffer.concat([str(''), str(key)]);
const intValue = (v: number): Buffer => Buffer.concat([int(1), int(v)]);
const longValue = (v: bigint): Buffer => Buffer.concat([int(2), long(v)]);
const stringValue = (s: string): Buffer => Buffer.concat([int(3), str(s)]);
const incrPayload = (key: string, by: bigint, initial: Buffer, expires = 0): Buffer => Buffer.concat([ref(key), int(expires), int(0), long(by), initial]);
const setIfPayload = (key: string, condition: number, version: bigint, value: Buffer): Buffer => Buffer.concat([ref(key), int(0), int(0), int(condition), long(version), value]);

test('malformed atomic frames: badRequest each, the connection and the node keep working, nothing stored', async () => {
  const c = await RawClient.connect(node.addr);
  try {
    const bad: [string, number, Buffer][] = [
      ['incr without initial', INCR, Buffer.concat([ref('k'), int(0), int(0), long(1n)])],
      ['incr with a string initial', INCR, incrPayload('k', 1n, stringValue('x'))],
      ['incr with a none initial', INCR, incrPayload('k', 1n, int(0))],
      ['incr with trailing bytes', INCR, Buffer.concat([incrPayload('k', 1n, intValue(0)), int(7)])],
      ['incr with a negative expiry', INCR, incrPayload('k', 1n, intValue(0), -1)],
      ['set_if condition 0', SET_IF, setIfPayload('k', 0, 0n, stringValue('v'))],
      ['set_if condition 4', SET_IF, setIfPayload('k', 4, 0n, stringValue('v'))],
      ['set_if without a value', SET_IF, setIfPayload('k', 1, 0n, int(0))],
      ['set_if with an unknown value type', SET_IF, setIfPayload('k', 1, 0n, int(9))],
      ['get_and_set without a value', GET_AND_SET, Buffer.concat([ref('k'), int(0), int(0), int(0)])],
      ['delete_if without a version', DELETE_IF, Buffer.concat([ref('k'), int(0)])],
      ['get_with_version with trailing bytes', GET_WITH_VERSION, Buffer.concat([ref('k'), int(1)])],
      ['a key string past the end', INCR, Buffer.concat([str(''), int(1000), Buffer.from('k')])],
    ];
    for (const [what, command, payload] of bad) {
      const f = await c.request(command, payload);
      assert.equal(f.command, R.failinfo, `${what}: answered ${f.command}`);
      assert.equal(failCode(f), BAD_REQUEST, `${what}: code ${failCode(f)}`);
    }
    const exists = await c.request(EXISTS, ref('k'));
    assert.equal(exists.payload.readInt32BE(0), 0, 'nothing was stored under k');
    // well formed, but refused: overflow and a version that does not match
    const max = await c.request(INCR, incrPayload('l', 2n ** 63n - 1n, longValue(1n)));
    assert.equal(failCode(max), OVERFLOW);
    const mismatch = await c.request(SET_IF, setIfPayload('k', 3, 12345n, stringValue('v')));
    assert.equal(failCode(mismatch), VERSION_MISMATCH);
    // and the same connection still works
    const ok = await c.request(INCR, incrPayload('k', 5n, intValue(10)));
    assert.equal(ok.command, VALUE);
    assert.deepEqual(ok.payload, intValue(15));
  } finally {
    c.destroy();
  }
  assert.equal(node.proc.exitCode, null);
  assert.equal(await checkHealthy(node.addr, 'atomic-bad-input'), undefined);
});

test('roles: a read user may getWithVersion, not incr or set ifAbsent; a write user may', async () => {
  const dir = makeTempDir('oc-atomic-users-');
  const users = [{ name: 'reader', role: 'read' as const, password: 'read-pw-123456' }, { name: 'writer', role: 'write' as const, password: 'write-pw-123456' }];
  const secured = await startNode({ args: ['--users-file', await makeUsersFile(dir, users)] });
  const writer = new Cluster({ seeds: [secured.addr], user: 'writer', password: 'write-pw-123456' });
  const reader = new Cluster({ seeds: [secured.addr], user: 'reader', password: 'read-pw-123456' });
  await writer.connect();
  await reader.connect();
  try {
    assert.equal(await writer.incr('n'), 1);
    assert.equal(await writer.set('once', 'x', { ifAbsent: true }), true);
    assert.equal((await reader.getWithVersion('n'))!.value, 1);
    for (const call of [() => reader.incr('n'), () => reader.set('once', 'y', { ifAbsent: true }), () => reader.getAndDelete('once'), () => reader.getAndSet('once', 'z')]) {
      await assert.rejects(call(), (e: unknown) => e instanceof ClusterError && e.code === 'NOT_ALLOWED');
    }
    assert.equal(await writer.get('n'), 1);
    assert.equal(await writer.get('once'), 'x');
  } finally {
    await writer.close();
    await reader.close();
  }
});
