// Options from a config file and the environment: serve --print-config shows every value and its
// origin (flags over env over file over defaults); unknown keys and bad values are usage errors
// naming them; real nodes take their mask from the file, or from the environment over the file.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, makeTempDir, runCli, startNode, waitFor } from '../helpers/nodes.js';

after(cleanup);

/** Environment with every OPENCLUSTER_ option variable of serve and logger removed, plus `add`. */
function env(add: Record<string, string> = {}): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const k of Object.keys(process.env)) if (k.startsWith('OPENCLUSTER_') && k !== 'OPENCLUSTER_HOME') clean[k] = '';
  return { ...clean, ...add };
}

function configLines(stdout: string): Map<string, { value: string; origin: string }> {
  const out = new Map<string, { value: string; origin: string }>();
  for (const line of stdout.split('\n')) {
    const m = /^([a-z-]+): (.*?)  # (default|file|env|flag)$/.exec(line);
    if (m !== null) out.set(m[1]!, { value: m[2]!, origin: m[3]! });
  }
  return out;
}

test('serve --print-config: flags over env over file over defaults, each value with its origin', async () => {
  const dir = makeTempDir('oc-config-');
  const file = join(dir, 'opencluster.yaml');
  writeFileSync(file, ['listen: 127.0.0.1:23999', 'node:', '  - 127.0.0.1:24001', '  - 127.0.0.1:24002', 'max-connections: 50', 'heartbeat-ms: 100', 'quorum: off', 'insecure: true', ''].join('\n'));
  const r = await runCli(['serve', '--config', file, '--print-config', '--heartbeat-ms', '200'], 20000, undefined, env({ OPENCLUSTER_MAX_CONNECTIONS: '77', OPENCLUSTER_QUORUM: 'majority' }));
  assert.equal(r.code, 0, r.stderr);
  const c = configLines(r.stdout);
  assert.deepEqual(c.get('listen'), { value: '127.0.0.1:23999', origin: 'file' });
  assert.deepEqual(c.get('node'), { value: '[ 127.0.0.1:24001, 127.0.0.1:24002 ]', origin: 'file' });
  assert.deepEqual(c.get('max-connections'), { value: '77', origin: 'env' });
  assert.deepEqual(c.get('quorum'), { value: 'majority', origin: 'env' });
  assert.deepEqual(c.get('heartbeat-ms'), { value: '200', origin: 'flag' });
  assert.deepEqual(c.get('insecure'), { value: 'true', origin: 'file' });
  assert.deepEqual(c.get('dead-after-ms'), { value: '3000', origin: 'default' });
  assert.match(r.stdout, /^# users-file: {2}# not set$/m);
  // The printed config is itself a config file that gives the same values.
  const again = join(dir, 'printed.yaml');
  writeFileSync(again, r.stdout);
  const r2 = await runCli(['serve', '--config', again, '--print-config'], 20000, undefined, env());
  assert.equal(r2.code, 0, r2.stderr);
  const c2 = configLines(r2.stdout);
  for (const [key, { value }] of c) assert.equal(c2.get(key)?.value, value, key);
  // A list from the environment: comma-separated.
  const r3 = await runCli(['serve', '--print-config'], 20000, undefined, env({ OPENCLUSTER_NODE: '127.0.0.1:24005, 127.0.0.1:24006' }));
  assert.deepEqual(configLines(r3.stdout).get('node'), { value: '[ 127.0.0.1:24005, 127.0.0.1:24006 ]', origin: 'env' });
});

test('bad config: an unknown key, a bad value, a list for a single option, bad YAML: exit 2 naming it', async () => {
  const dir = makeTempDir('oc-config-');
  const cases: [string, RegExp][] = [
    ['listen: 127.0.0.1:0\nlisten-adress: 127.0.0.1:1\n', /unknown key "listen-adress"/],
    ['password: secret\n', /unknown key "password"/],
    ['listen: [a, b]\n', /listen takes one value, not a list/],
    ['insecure: "yes"\n', /insecure must be true or false/],
    ['- just\n- a list\n', /expected a mapping/],
    ['listen: [unclosed\n', /not valid YAML or JSON/],
    ['listen: 127.0.0.1:0\nlisten: 127.0.0.1:1\n', /not valid YAML or JSON/],
  ];
  for (const [text, why] of cases) {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, text);
    const r = await runCli(['serve', '--config', file, '--data-dir', dir], 20000, undefined, env());
    assert.equal(r.code, 2, `${text}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
  }
  const missing = await runCli(['serve', '--config', join(dir, 'nope.yaml')], 20000, undefined, env());
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read it: ENOENT/);
  const badEnv = await runCli(['serve', '--print-config'], 20000, undefined, env({ OPENCLUSTER_INSECURE: 'maybe' }));
  assert.equal(badEnv.code, 2);
  assert.match(badEnv.stderr, /OPENCLUSTER_INSECURE must be true or false/);
  const badChoice = await runCli(['logger', '--print-config', '--dir', dir, '--cluster', '127.0.0.1:1'], 20000, undefined, env({ OPENCLUSTER_FSYNC: 'sometimes' }));
  assert.equal(badChoice.code, 2);
  assert.match(badChoice.stderr, /OPENCLUSTER_FSYNC: Allowed choices are always, interval, never/);
});

test('logger: a required option may come from the file; JSON is accepted as YAML', async () => {
  const dir = makeTempDir('oc-config-');
  const file = join(dir, 'logger.json');
  writeFileSync(file, JSON.stringify({ cluster: ['127.0.0.1:24010'], dir: join(dir, 'logs'), fsync: 'never' }));
  const r = await runCli(['logger', '--config', file, '--print-config'], 20000, undefined, env());
  assert.equal(r.code, 0, r.stderr);
  const c = configLines(r.stdout);
  assert.deepEqual(c.get('dir'), { value: join(dir, 'logs'), origin: 'file' });
  assert.deepEqual(c.get('fsync'), { value: 'never', origin: 'file' });
  const none = await runCli(['logger', '--cluster', '127.0.0.1:24010'], 20000, undefined, env());
  assert.equal(none.code, 2);
  assert.match(none.stderr, /required option '--dir <dir>' not specified \(as a flag, OPENCLUSTER_DIR, or "dir" in the --config file\)/);
});

async function maskOf(addr: string): Promise<number | undefined> {
  const r = await runCli(['status', '--json', '--cluster', addr]);
  return r.stdout === '' ? undefined : (JSON.parse(r.stdout) as { mask: number }).mask;
}

test('a node takes its options from the file, and from the environment over the file', async () => {
  const dir = makeTempDir('oc-config-');
  const file = join(dir, 'opencluster.yaml');
  writeFileSync(file, 'mask: 0xf\nheartbeat-ms: 100\n');
  const fromFile = await startNode({ args: ['--config', file], env: env() });
  assert.equal(await waitFor('the mask of the file', async () => ((await maskOf(fromFile.addr)) === 0xf ? 0xf : undefined)), 0xf);
  const fromEnv = await startNode({ args: ['--config', file], env: env({ OPENCLUSTER_MASK: '0x3f' }) });
  assert.equal(await waitFor('the mask of the environment', async () => ((await maskOf(fromEnv.addr)) === 0x3f ? 0x3f : undefined)), 0x3f);
});
