// gamut's batch side through the CLI: the batch and scan checks, --mix with mget (named weights,
// --batch-keys), and --compare-redis running the same mix with Redis MGET (a redis-server of the test's own).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cleanup, makeTempDir, runCli, startNode, unusedPort } from '../helpers/nodes.js';

let redis: ChildProcess | null = null;
after(async () => {
  if (redis !== null && redis.exitCode === null) {
    const r = redis;
    r.kill('SIGTERM');
    await new Promise((resolve) => r.once('exit', resolve));
  }
  await cleanup();
});


/** A redis-server on loopback; resolves once it says it is ready. */
async function startRedis(): Promise<string> {
  const port = await unusedPort();
  const proc = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', makeTempDir('oc-redis-')], { stdio: ['ignore', 'pipe', 'pipe'] });
  redis = proc;
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/Ready to accept connections/i.test(out)) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`redis-server exited ${code}: ${out.slice(-300)}`)));
  });
  return `127.0.0.1:${port}`;
}

function rowStatus(stdout: string, name: string): string | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(`${name} `));
  return line?.slice(name.length).trim().split(/\s+/)[0];
}

test('the feature check runs the batch and scan cases', { timeout: 120_000 }, async () => {
  const node = await startNode();
  const r = await runCli(['gamut', '--cluster', node.addr, '--skip-load'], 100_000);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  for (const name of ['batches (mget, mset, mdelete)', 'map batches', 'scan']) assert.equal(rowStatus(r.stdout, name), 'PASS', `${name} in:\n${r.stdout}`);
});

test('--mix with mget, beside Redis MGET', { timeout: 120_000 }, async () => {
  const node = await startNode();
  const redisAddr = await startRedis();
  const r = await runCli(
    ['gamut', '--cluster', node.addr, '--skip-check', '--compare-redis', redisAddr, '--rounds', '2', '--duration', '1', '--keys', '500', '--inflight', '4', '--mix', 'get=1,mget=2', '--batch-keys', '20', '--json'],
    100_000,
  );
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const out = JSON.parse(r.stdout) as { settings: { mix: string }; load: { ours: Record<string, number>; redis: Record<string, number> } };
  assert.equal(out.settings.mix, 'get=1,mget=2', 'named weights print as named (a third positional weight is incr)');
  for (const side of [out.load.ours, out.load.redis]) {
    assert.ok(side['opsPerSec']! > 0);
    assert.equal(side['errors'], 0);
  }
});

test('--mix: named weights are checked before anything runs', { timeout: 30_000 }, async () => {
  for (const mix of ['get=1,frob=2', 'mget=0', 'get=x']) {
    const r = await runCli(['gamut', '--mix', mix, '--cluster', '127.0.0.1:1']);
    assert.equal(r.code, 2, mix);
    assert.match(r.stderr, /--mix/);
  }
  const r = await runCli(['gamut', '--batch-keys', '0', '--cluster', '127.0.0.1:1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--batch-keys/);
});
