// The CLI's atomic commands against a real node: incr/decr (--by, --initial, --long, overflow),
// set --if-absent/--if-exists, getset and getdel, in text and --json, with their exit codes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, runCli, startNode, type NodeProcess } from '../helpers/nodes.js';

let node: NodeProcess;

function cli(...args: string[]): ReturnType<typeof runCli> {
  return runCli([...args, '--cluster', node.addr]);
}

before(async () => {
  node = await startNode();
});
after(cleanup);

test('incr and decr print the new value; overflow and wrong type exit 2 and change nothing', async () => {
  assert.deepEqual(await cli('incr', 'c'), { code: 0, stdout: '1\n', stderr: '' });
  assert.equal((await cli('incr', 'c', '--by', '41')).stdout, '42\n');
  assert.equal((await cli('decr', 'c', '--by', '2')).stdout, '40\n');
  assert.equal((await cli('decr', 'c')).stdout, '39\n');
  assert.equal((await cli('get', 'c', '--json')).stdout.trim(), JSON.stringify({ key: 'c', type: 'int', value: 39 }));
  assert.equal((await cli('incr', 'from', '--initial', '100', '--by', '5')).stdout, '105\n');
  const long = await cli('incr', 'l', '--long', '--json');
  assert.equal(long.stdout.trim(), JSON.stringify({ key: 'l', type: 'long', value: '1' }));
  const big = await cli('incr', 'big', '--by', '10000000000');
  assert.equal(big.stdout, '10000000000\n', 'a --by past the int range makes a long');
  await cli('set', 'max', '2147483647', '--type', 'int');
  const over = await cli('incr', 'max');
  assert.equal(over.code, 2);
  assert.match(over.stderr, /^error: OVERFLOW: /);
  assert.equal((await cli('get', 'max')).stdout, '2147483647\n');
  await cli('set', 'text', 'abc');
  const wrong = await cli('incr', 'text');
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /^error: WRONG_TYPE: /);
  const bad = await cli('incr', 'c', '--by', 'x');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not an integer/);
});

test('set --if-absent / --if-exists exit 1 when they do not store', async () => {
  assert.equal((await cli('set', 'once', 'a', '--if-absent')).code, 0);
  const again = await cli('set', 'once', 'b', '--if-absent');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /not stored: key "once" exists/);
  assert.equal((await cli('get', 'once')).stdout, 'a\n');
  const json = await cli('set', 'once', 'b', '--if-absent', '--json');
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout), { ok: false, key: 'once', written: false });
  assert.equal((await cli('set', 'nobody', 'x', '--if-exists')).code, 1);
  assert.equal((await cli('get', 'nobody')).code, 1);
  assert.equal((await cli('set', 'once', 'c', '--if-exists')).code, 0);
  assert.equal((await cli('get', 'once')).stdout, 'c\n');
  const both = await cli('set', 'once', 'd', '--if-exists', '--if-absent');
  assert.equal(both.code, 2);
});

test('getset prints the old value; getdel prints and deletes, exit 1 when missing', async () => {
  assert.deepEqual(await cli('getset', 'gs', 'one'), { code: 0, stdout: '', stderr: '' });
  assert.equal((await cli('getset', 'gs', 'two')).stdout, 'one\n');
  assert.equal((await cli('getset', 'gs', '3', '--type', 'int', '--json')).stdout.trim(), JSON.stringify({ key: 'gs', old: { type: 'string', value: 'two' } }));
  assert.equal((await cli('getdel', 'gs', '--json')).stdout.trim(), JSON.stringify({ key: 'gs', type: 'int', value: 3 }));
  const gone = await cli('getdel', 'gs');
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /not found/);
});
