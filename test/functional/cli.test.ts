// The CLI against a real `opencluster serve` process: every data command, output forms, exit codes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, deadAddress, runCli, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';

let node: NodeProcess;

/** Runs the CLI against the test node. */
function cli(...args: string[]): ReturnType<typeof runCli> {
  return runCli([...args, '--cluster', node.addr]);
}

function assertOneLine(stderr: string, pattern?: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `stderr should be one line, got: ${JSON.stringify(stderr)}`);
  if (pattern) assert.match(lines[0]!, pattern);
}


before(async () => {
  node = await startNode();
});
after(cleanup);

describe('get and set', () => {
  test('a string round-trips, printed alone with a newline', async () => {
    const set = await cli('set', 'cli:s', 'héllo wörld');
    assert.equal(set.code, 0, set.stderr);
    const got = await cli('get', 'cli:s');
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, 'héllo wörld\n');
    assert.equal(got.stderr, '');
  });

  test('int, long and binary values keep their type', async () => {
    assert.equal((await cli('set', 'cli:i', '-5', '--type', 'int')).code, 0);
    assert.equal((await cli('set', 'cli:l', '9223372036854775807', '--type', 'long')).code, 0);
    assert.equal((await cli('set', 'cli:b', 'AAH/', '--type', 'binary')).code, 0);
    assert.equal((await cli('get', 'cli:i')).stdout, '-5\n');
    assert.deepEqual(JSON.parse((await cli('get', 'cli:i', '--json')).stdout), { key: 'cli:i', type: 'int', value: -5 });
    assert.deepEqual(JSON.parse((await cli('get', 'cli:l', '--json')).stdout), { key: 'cli:l', type: 'long', value: '9223372036854775807' });
    assert.deepEqual(JSON.parse((await cli('get', 'cli:b', '--json')).stdout), { key: 'cli:b', type: 'binary', value: 'AAH/' });
    assert.deepEqual(JSON.parse((await cli('get', 'cli:s', '--json')).stdout), { key: 'cli:s', type: 'string', value: 'héllo wörld' });
  });

  test('a value written as a string stays a string, even when it looks like a number', async () => {
    assert.equal((await cli('set', 'cli:n', '42')).code, 0);
    assert.deepEqual(JSON.parse((await cli('get', 'cli:n', '--json')).stdout), { key: 'cli:n', type: 'string', value: '42' });
  });

  test('set --json reports what was written', async () => {
    const r = await cli('set', 'cli:j', '7', '--type', 'long', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ok: true, key: 'cli:j', type: 'long', value: '7' });
  });

  test('a missing key exits 1 with nothing on stdout and one line on stderr', async () => {
    const r = await cli('get', 'cli:missing');
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assertOneLine(r.stderr, /not found/);
    assert.equal((await cli('get', 'cli:missing', '--json')).code, 1);
  });

  test('--expires makes the key disappear', async () => {
    assert.equal((await cli('set', 'cli:e', 'soon gone', '--expires', '1')).code, 0);
    await waitFor('the key to expire', async () => ((await cli('get', 'cli:e')).code === 1 ? true : undefined), 15000, 200);
    assert.equal((await cli('set', 'cli:e0', 'kept', '--expires', '0')).code, 0);
    assert.equal((await cli('get', 'cli:e0')).stdout, 'kept\n');
  });
});

describe('del', () => {
  test('deletes a key: 0 when it existed, 1 when it did not', async () => {
    assert.equal((await cli('set', 'cli:d', 'x')).code, 0);
    const first = await cli('del', 'cli:d', '--json');
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { key: 'cli:d', deleted: true });
    assert.equal((await cli('get', 'cli:d')).code, 1);
    const second = await cli('del', 'cli:d');
    assert.equal(second.code, 1);
    assertOneLine(second.stderr, /not found/);
  });
});

describe('map', () => {
  test('set, get, keys, all, del', async () => {
    assert.equal((await cli('map', 'set', 'cli:users', 'ada', 'Lovelace')).code, 0);
    assert.equal((await cli('map', 'set', 'cli:users', 'alan', '1912', '--type', 'int')).code, 0);
    assert.equal((await cli('map', 'set', 'cli:users', 'tmp', 'x', '--expires', '3600')).code, 0);
    assert.equal((await cli('map', 'get', 'cli:users', 'ada')).stdout, 'Lovelace\n');
    assert.deepEqual(JSON.parse((await cli('map', 'get', 'cli:users', 'alan', '--json')).stdout), {
      map: 'cli:users',
      key: 'alan',
      type: 'int',
      value: 1912,
    });
    assert.equal((await cli('map', 'keys', 'cli:users')).stdout, 'ada\nalan\ntmp\n');
    assert.deepEqual(JSON.parse((await cli('map', 'keys', 'cli:users', '--json')).stdout), { map: 'cli:users', keys: ['ada', 'alan', 'tmp'] });
    const all = await cli('map', 'all', 'cli:users', '--json');
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(JSON.parse(all.stdout), {
      map: 'cli:users',
      entries: [
        { key: 'ada', type: 'string', value: 'Lovelace' },
        { key: 'alan', type: 'int', value: 1912 },
        { key: 'tmp', type: 'string', value: 'x' },
      ],
    });
    assert.equal((await cli('map', 'all', 'cli:users')).stdout, 'ada\tLovelace\nalan\t1912\ntmp\tx\n');
    assert.equal((await cli('map', 'del', 'cli:users', 'tmp')).code, 0);
    assert.equal((await cli('map', 'del', 'cli:users', 'tmp')).code, 1);
    const missing = await cli('map', 'get', 'cli:users', 'tmp');
    assert.equal(missing.code, 1);
    assertOneLine(missing.stderr, /not found/);
  });

  test('a map key and a plain key of the same name are different items', async () => {
    assert.equal((await cli('map', 'set', 'cli:m2', 'k', 'in map')).code, 0);
    assert.equal((await cli('get', 'k')).code, 1);
  });

  test('a map with no entries lists nothing', async () => {
    const r = await cli('map', 'keys', 'cli:empty', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { map: 'cli:empty', keys: [] });
  });
});

describe('ping, stats, status', () => {
  test('ping answers', async () => {
    const r = await cli('ping');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^PONG \d+(\.\d+)? ms\n$/);
    const j = JSON.parse((await cli('ping', '--json')).stdout) as { ok: boolean; rttMs: number };
    assert.equal(j.ok, true);
    assert.equal(typeof j.rttMs, 'number');
  });

  test('stats prints the node with its counters', async () => {
    const r = await cli('stats', '--json');
    assert.equal(r.code, 0, r.stderr);
    const stats = JSON.parse(r.stdout) as { addr: string; items: number }[];
    assert.equal(stats.length, 1);
    assert.equal(stats[0]!.addr, node.addr);
    assert.equal(typeof stats[0]!.items, 'number');
    assert.ok(stats[0]!.items >= 5, `items ${stats[0]!.items} should count the keys written above`);
    const text = await cli('stats');
    assert.equal(text.code, 0);
    assert.ok(text.stdout.includes(node.addr));
    assert.match(text.stdout, /^items: \d+$/m);
  });

  test('status on a single node: every primary there, balanced', async () => {
    const r = await cli('status', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      nodes: { addr: string; state: string; primary: number; backup: number; items: number; transfer: unknown; incoming: unknown }[];
      loggers: unknown[];
      verdict: string;
      mask: number;
    };
    assert.equal(report.verdict, 'balanced');
    assert.equal(report.mask, 0xff);
    assert.deepEqual(report.loggers, []);
    assert.equal(report.nodes.length, 1);
    const [n] = report.nodes;
    assert.equal(n!.addr, node.addr);
    assert.equal(n!.state, 'alive');
    assert.equal(n!.primary, 256);
    assert.equal(n!.backup, 0);
    assert.equal(n!.transfer, null);
    assert.equal(n!.incoming, null);
    const text = await cli('status');
    assert.equal(text.code, 0, text.stderr);
    assert.ok(text.stdout.includes(node.addr));
    assert.match(text.stdout, /\b256\b/);
    assert.match(text.stdout, /^verdict: balanced\b/m);
  });
});

describe('usage and connection errors exit 2 with one line', () => {
  test('bad --type, bad int, bad long, bad --expires, bad --cluster', async () => {
    const cases: [string[], RegExp][] = [
      [['set', 'k', 'v', '--type', 'float'], /--type/],
      [['set', 'k', 'twelve', '--type', 'int'], /not an integer/],
      [['set', 'k', '2147483648', '--type', 'int'], /int range/],
      [['set', 'k', '9223372036854775808', '--type', 'long'], /long range/],
      [['set', 'k', 'v', '--expires', '-1'], /--expires/],
      [['set', 'k', 'v', '--expires', '1.5'], /--expires/],
      [['map', 'set', 'm', 'k', 'v', '--type', 'double'], /--type/],
    ];
    for (const [args, pattern] of cases) {
      const r = await cli(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assertOneLine(r.stderr, pattern);
    }
    const badCluster = await runCli(['get', 'k', '--cluster', '127.0.0.1:99999']);
    assert.equal(badCluster.code, 2);
    assertOneLine(badCluster.stderr, /--cluster/);
  });

  test('the bad value was not written', async () => {
    assert.equal((await cli('get', 'k')).code, 1);
  });

  test('validation happens before connecting', async () => {
    const r = await runCli(['set', 'k', 'v', '--type', 'float', '--cluster', await deadAddress()]);
    assert.equal(r.code, 2);
    assertOneLine(r.stderr, /--type/);
  });

  test('commander usage errors: unknown option, missing argument, unknown command, extra argument', async () => {
    const cases: string[][] = [
      ['get', 'k', '--bogus'],
      ['get'],
      ['set', 'k'],
      ['frobnicate'],
      ['get', 'k', 'extra'],
      ['map'],
      ['map', 'frob', 'm'],
      [],
      ['serve', '--listen', '127.0.0.1:0', '--quorum', 'sometimes'],
      ['serve', '--listen', '127.0.0.1:0', '--mask', '0x10'],
      ['serve', '--listen', '127.0.0.1:0', '--dead-after-ms', '300', '--heartbeat-ms', '200'],
    ];
    for (const args of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assertOneLine(r.stderr);
    }
  });

  test('an unreachable --cluster fails fast', async () => {
    const addr = await deadAddress();
    for (const args of [['get', 'k'], ['ping'], ['status', '--json']]) {
      const r = await runCli([...args, '--cluster', addr], 15000);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      // --json: the error as JSON on stdout too (issue 11); else nothing on stdout.
      if (args.includes('--json')) assert.equal((JSON.parse(r.stdout) as { error: string }).error, 'NOT_CONNECTED');
      else assert.equal(r.stdout, '');
      assertOneLine(r.stderr, new RegExp(addr.replace(/\./g, '\\.')));
    }
  });

  test('--help and --version exit 0', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    for (const cmd of ['serve', 'get', 'set', 'del', 'map', 'ping', 'stats', 'status']) assert.match(help.stdout, new RegExp(`\\b${cmd}\\b`));
    const version = await runCli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
