// The README's "Running on a network" walk-through, run as written: its shell blocks, verbatim,
// make the CA, certificates, secret and users; each of three hosts (10.0.0.11-13, network
// namespaces of this test with no route out) runs the serve block with its own copy of the files;
// a fourth host runs the client block. `opencluster` is this checkout's CLI.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { CLI_PATH, cleanup, makeTempDir, waitFor } from '../helpers/nodes.js';
import { TestNet } from '../helpers/netns.js';

const README = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'README.md');
const TEST_TIMEOUT_MS = 120_000;
const STEP_TIMEOUT_MS = 60_000;
const net = TestNet.create(['h1', 'h2', 'h3', 'client'], { subnet: '10.0.0', first: 11 });
const unavailable = typeof net === 'string' ? net : false;
const procs = new Set<ChildProcess>();

after(async () => {
  const all = [...procs];
  for (const p of all) p.kill('SIGKILL');
  await Promise.all(all.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((r) => p.once('exit', r)))));
  if (typeof net !== 'string') net.destroy();
  await cleanup(); // the temp dirs
});

/** The ```sh blocks of the README section `title`, in order. */
function shellBlocks(title: string): string[] {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(`## ${title}\n`);
  assert.ok(start >= 0, `README has a section "${title}"`);
  const end = text.indexOf('\n## ', start + 4);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Runs bash with `script` in `cwd`, inside a host's namespace (or on this machine), `opencluster` on the PATH. */
function bash(host: string | null, cwd: string, script: string, env: Record<string, string>): ChildProcess {
  const argv = ['-e', '-c', script];
  const [file, args] = host === null ? ['bash', argv] : ['ip', ['netns', 'exec', (net as TestNet).ns(host), 'bash', ...argv]];
  const p = spawn(file, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(p);
  p.once('exit', () => procs.delete(p));
  return p;
}

function runToEnd(p: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`did not finish: ${out.slice(-500)}`));
    }, STEP_TIMEOUT_MS);
    p.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

test("the README's network walk-through works as written", { skip: unavailable, timeout: TEST_TIMEOUT_MS }, async () => {
  const blocks = shellBlocks('Running on a network');
  assert.equal(blocks.length, 3, 'setup, serve and client blocks');
  const [setup, serve, client] = blocks as [string, string, string];
  const root = makeTempDir('oc-readme-');
  const bin = join(root, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'opencluster'), `#!/bin/sh\nexec "${process.execPath}" "${CLI_PATH}" "$@"\n`);
  chmodSync(join(bin, 'opencluster'), 0o755);
  const env = { PATH: `${bin}:${process.env['PATH'] ?? ''}` };
  const made = join(root, 'made');
  mkdirSync(made);
  const s = await runToEnd(bash(null, made, setup, env));
  assert.equal(s.code, 0, `the setup block: ${s.out.slice(-800)}`);

  const ready: Promise<void>[] = [];
  for (const i of [1, 2, 3]) {
    const home = join(root, `host${i}`);
    cpSync(made, home, { recursive: true });
    const p = bash(`h${i}`, home, serve, { ...env, i: String(i) });
    let log = '';
    ready.push(
      new Promise((resolve, reject) => {
        createInterface({ input: p.stdout! }).on('line', (line) => {
          log += `${line}\n`;
          if (line.includes('"msg":"ready"')) resolve();
        });
        p.stderr!.on('data', (d: Buffer) => (log += d.toString()));
        p.once('exit', (code) => reject(new Error(`host ${i}'s node exited ${code}: ${log.slice(-800)}`)));
      }),
    );
    if (i === 1) await ready[0]; // the others join through the first
  }
  await Promise.all(ready);

  const clientHome = join(root, 'client');
  mkdirSync(clientHome);
  cpSync(join(made, 'ca.crt'), join(clientHome, 'ca.crt'));
  await waitFor('a balanced cluster', async () => {
    const r = await runToEnd(bash('client', clientHome, "OPENCLUSTER_PASSWORD='ops password' opencluster status --json --cluster 10.0.0.11:13600 --tls-ca ca.crt --user ops", env));
    return r.code === 0 && (JSON.parse(r.out) as { verdict: string }).verdict === 'balanced' ? true : undefined;
  }, 60_000, 500);
  const c = await runToEnd(bash('client', clientHome, client, env));
  assert.equal(c.code, 0, `the client block: ${c.out}`);
  assert.match(c.out, /verdict: balanced/);
  assert.match(c.out, /^OK$/m, 'the set printed OK');
  const get = await runToEnd(bash('client', clientHome, "OPENCLUSTER_PASSWORD='report password' opencluster get greeting --cluster 10.0.0.11:13600 --tls-ca ca.crt --user report", env));
  assert.equal(get.out, 'hello\n');
});
