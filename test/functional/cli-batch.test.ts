// The CLI commands that catch up with the library, through runCli against real nodes: ttl, exists,
// expire, persist, mget, mset, scan [PREFIX], map count, map clear, a value from stdin or --file,
// --cluster PORT and a list of seeds, "unknown command" whatever follows, --json on misses and errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, deadAddress, makeTempDir, runCli, startNode, type NodeProcess } from '../helpers/nodes.js';

let node: NodeProcess;

function cli(...args: string[]): ReturnType<typeof runCli> {
  return runCli([...args, '--cluster', node.addr]);
}


before(async () => {
  node = await startNode();
});
after(cleanup);

test('ttl, expire, persist, exists: text, exit codes, --json on hits and misses', async () => {
  assert.equal((await cli('set', 'cb:t', 'v')).code, 0);
  let r = await cli('ttl', 'cb:t');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '-1 (no expiry)\n');
  r = await cli('expire', 'cb:t', '100');
  assert.deepEqual([r.code, r.stdout], [0, 'OK\n']);
  r = await cli('ttl', 'cb:t', '--json');
  const ttl = JSON.parse(r.stdout) as { key: string; ttlMs: number };
  assert.equal(ttl.key, 'cb:t');
  assert.ok(ttl.ttlMs > 90_000 && ttl.ttlMs <= 100_000, r.stdout);
  r = await cli('persist', 'cb:t');
  assert.deepEqual([r.code, r.stdout], [0, 'OK\n']);
  assert.equal((await cli('ttl', 'cb:t')).stdout, '-1 (no expiry)\n');
  r = await cli('exists', 'cb:t');
  assert.deepEqual([r.code, r.stdout], [0, 'yes\n']);
  // Misses: exit 1, one line on stderr, JSON on stdout with --json.
  r = await cli('exists', 'cb:none', '--json');
  assert.deepEqual([r.code, JSON.parse(r.stdout)], [1, { key: 'cb:none', exists: false }]);
  r = await cli('ttl', 'cb:none', '--json');
  assert.deepEqual([r.code, JSON.parse(r.stdout)], [1, { key: 'cb:none', found: false }]);
  r = await cli('expire', 'cb:none', '5');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not found: key "cb:none"/);
  r = await cli('persist', 'cb:none', '--json');
  assert.deepEqual([r.code, JSON.parse(r.stdout)], [1, { key: 'cb:none', ok: false, found: false }]);
  r = await cli('get', 'cb:none', '--json');
  assert.deepEqual([r.code, JSON.parse(r.stdout)], [1, { key: 'cb:none', found: false }]);
  r = await cli('del', 'cb:none', '--json');
  assert.deepEqual([r.code, JSON.parse(r.stdout)], [1, { key: 'cb:none', deleted: false }]);
  r = await cli('expire', 'cb:t', 'soon');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--expires must be a non-negative integer/);
});

test('mset and mget: pairs in, values out in order, (nil) for misses; --json', async () => {
  let r = await cli('mset', 'cb:a', '1', 'cb:b', '2', 'cb:c', '3', '--type', 'int');
  assert.deepEqual([r.code, r.stdout], [0, 'OK\n'], r.stderr);
  r = await cli('mget', 'cb:c', 'cb:zz', 'cb:a');
  assert.deepEqual([r.code, r.stdout], [0, '3\n(nil)\n1\n']);
  r = await cli('mget', 'cb:a', 'cb:zz', '--json');
  assert.deepEqual(JSON.parse(r.stdout), { results: [{ key: 'cb:a', found: true, type: 'int', value: 1 }, { key: 'cb:zz', found: false }] });
  r = await cli('mset', 'cb:a', '1', 'cb:b');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /KEY VALUE pairs/);
  r = await cli('mset', 'cb:x', 'notanint', '--type', 'int', '--json');
  assert.equal(r.code, 2);
  assert.deepEqual(JSON.parse(r.stdout).error, 'USAGE');
});

test('scan [PREFIX] and scan --map list every key; map count and map clear', async () => {
  const keys = Array.from({ length: 30 }, (_, i) => `cbs:${i}`);
  const pairs = keys.flatMap((k) => [k, 'v']);
  assert.equal((await cli('mset', ...pairs)).code, 0);
  let r = await cli('scan', 'cbs:', '--count', '7');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').sort(), keys.slice().sort());
  r = await cli('scan', 'cbs:1', '--json');
  assert.deepEqual((JSON.parse(r.stdout) as { keys: string[] }).keys.sort(), ['cbs:1', 'cbs:10', 'cbs:11', 'cbs:12', 'cbs:13', 'cbs:14', 'cbs:15', 'cbs:16', 'cbs:17', 'cbs:18', 'cbs:19']);
  r = await cli('scan');
  assert.ok(keys.every((k) => r.stdout.split('\n').includes(k)), 'scan without a prefix lists them too');
  for (const k of ['e1', 'e2', 'e3']) assert.equal((await cli('map', 'set', 'cbm', k, 'x')).code, 0);
  r = await cli('map', 'count', 'cbm');
  assert.deepEqual([r.code, r.stdout], [0, '3\n']);
  r = await cli('scan', '--map', 'cbm');
  assert.deepEqual(r.stdout, 'e1\ne2\ne3\n');
  r = await cli('map', 'clear', 'cbm');
  assert.deepEqual([r.code, r.stdout], [0, 'cleared\n']);
  r = await cli('map', 'count', 'cbm', '--json');
  assert.deepEqual(JSON.parse(r.stdout), { map: 'cbm', count: 0 });
  r = await cli('map', 'clear', 'cbm', '--json');
  assert.deepEqual([r.code, JSON.parse(r.stdout)], [1, { map: 'cbm', cleared: false }]);
  r = await cli('scan', '--count', '0');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--count must be an integer/);
});

test('a value from stdin (-) or --file: larger than a command line can carry, bytes kept', async () => {
  const big = 'x'.repeat(512 * 1024) + '\n';
  let r = await runCli(['set', 'cb:big', '-', '--cluster', node.addr], 20000, big);
  assert.equal(r.code, 0, r.stderr);
  r = await cli('get', 'cb:big');
  assert.equal(r.stdout, `${big}\n`, 'the value, trailing newline included, then the newline get prints');
  const dir = makeTempDir();
  const file = join(dir, 'v.bin');
  writeFileSync(file, Buffer.from([0, 1, 2, 255]));
  r = await cli('set', 'cb:bin', '--file', file, '--type', 'binary');
  assert.equal(r.code, 0, r.stderr);
  r = await cli('get', 'cb:bin', '--json');
  assert.deepEqual(JSON.parse(r.stdout), { key: 'cb:bin', type: 'binary', value: Buffer.from([0, 1, 2, 255]).toString('base64') });
  r = await runCli(['map', 'set', 'cbf', 'n', '-', '--type', 'int', '--cluster', node.addr], 20000, '42\n');
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await cli('map', 'get', 'cbf', 'n', '--json')).stdout, '{"map":"cbf","key":"n","type":"int","value":42}\n');
  r = await cli('set', 'cb:x', 'v', '--file', file);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not two of them/);
  r = await cli('set', 'cb:x');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /missing VALUE/);
  r = await cli('set', 'cb:x', '--file', join(dir, 'nope'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot read the value from --file/);
});

test('--cluster PORT is 127.0.0.1:PORT; --cluster takes a list of seeds', async () => {
  const port = node.addr.slice(node.addr.lastIndexOf(':') + 1);
  let r = await runCli(['set', 'cb:p', 'v', '--cluster', port]);
  assert.equal(r.code, 0, r.stderr);
  const dead = await deadAddress();
  r = await runCli(['get', 'cb:p', '--cluster', `${dead},${node.addr}`]);
  assert.deepEqual([r.code, r.stdout], [0, 'v\n'], r.stderr);
  r = await runCli(['get', 'cb:p', '--cluster', `${dead}`, '--json']);
  assert.equal(r.code, 2);
  assert.equal((JSON.parse(r.stdout) as { error: string }).error, 'NOT_CONNECTED');
  r = await runCli(['get', 'cb:p', '--cluster', `${node.addr},`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /empty address/);
});

test('an unknown command says so whatever options follow it', async () => {
  for (const args of [['frobnicate'], ['frobnicate', '--json'], ['frobnicate', '--cluster', '1', '--bogus', 'x']]) {
    const r = await runCli(args);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: unknown command "frobnicate"/, args.join(' '));
  }
});
