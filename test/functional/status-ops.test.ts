// The operator's view on three real nodes: status items split into primary and backup, --watch
// redrawing a bounded number of times, stats in INFO-like sections with readable units, and CLI
// commands that stop quietly when the reader of their output goes away (`| head -1`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Cluster } from '../../src/index.js';
import { CLI_PATH, cleanup, runCli, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';

/** Writes KEYS keys through one client (a CLI per key would take minutes). */
async function writeKeys(seed: string): Promise<void> {
  const client = new Cluster({ seeds: [seed] });
  await client.connect();
  try {
    for (let i = 0; i < KEYS; i++) await client.set(`ops:${i}`, String(i));
  } finally {
    await client.close();
  }
}

const KEYS = 120;
let nodes: NodeProcess[] = [];

interface Report {
  verdict: string;
  items: { primary: number; backup: number } | null;
  nodes: { addr: string; state: string; itemsPrimary: number | null; itemsBackup: number | null }[];
}

before(async () => {
  const first = await startNode();
  nodes = [first, await startNode({ nodes: [first.addr] }), await startNode({ nodes: [first.addr] })];
  await writeKeys(first.addr);
});
after(cleanup);

async function balanced(): Promise<Report> {
  return waitFor('a balanced three-node cluster holding every key and its backup', async () => {
    const r = await runCli(['status', '--json', '--cluster', nodes[0]!.addr]);
    const rep = JSON.parse(r.stdout) as Report;
    return r.code === 0 && rep.verdict === 'balanced' && rep.items?.backup === KEYS ? rep : undefined;
  }, 60_000, 500);
}

test('status counts every key once as primary and once as backup, per node and in total', async () => {
  const rep = await balanced();
  assert.deepEqual(rep.items, { primary: KEYS, backup: KEYS });
  assert.equal(rep.nodes.length, 3);
  assert.equal(rep.nodes.reduce((a, n) => a + n.itemsPrimary!, 0), KEYS);
  assert.equal(rep.nodes.reduce((a, n) => a + n.itemsBackup!, 0), KEYS);
  const text = await runCli(['status', '--cluster', nodes[0]!.addr]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^NODE +STATE +PRIMARY +BACKUP +ITEMS +BACKUP ITEMS +TRANSFER$/m);
  assert.match(text.stdout, new RegExp(`^items: ${KEYS} \\(and ${KEYS} backup copies\\)$`, 'm'));
});

test('status --watch --watch-count 3 draws three reports and exits with the verdict', async () => {
  await balanced();
  const r = await runCli(['status', '--watch', '--watch-count', '3', '--cluster', nodes[0]!.addr]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.match(/^verdict: balanced/gm)?.length, 3, r.stdout);
  const json = await runCli(['status', '--watch', '--watch-count', '2', '--json', '--cluster', nodes[0]!.addr]);
  assert.equal(json.code, 0, json.stderr);
  const docs = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Report);
  assert.equal(docs.length, 2, 'one JSON document a line, per redraw');
  const bad = await runCli(['status', '--watch-count', '2', '--cluster', nodes[0]!.addr]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--watch-count needs --watch/);
});

test('status --watch stops on SIGINT with the verdict as exit code', async () => {
  await balanced();
  const proc = spawn(process.execPath, [CLI_PATH, 'status', '--watch', '--cluster', nodes[0]!.addr], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^verdict: /m.test(out)) resolve();
    });
  });
  proc.kill('SIGINT');
  assert.equal(await exited, 0, err);
});

test('stats reads like INFO: sections, MB and s, ops/s; --json keeps the raw document', async () => {
  const r = await runCli(['stats', '--cluster', nodes[0]!.addr]);
  assert.equal(r.code, 0, r.stderr);
  for (const section of ['# Server', '# Keyspace', '# Memory', '# Connections', '# Operations', '# Buckets', '# Members']) {
    assert.ok(r.stdout.includes(`\n${section}\n`), `section ${section} in ${r.stdout}`);
  }
  assert.match(r.stdout, /^uptime: \d+\.\d s$/m);
  assert.match(r.stdout, /^rss: \d+\.\d MB$/m);
  assert.match(r.stdout, /^writes: \d+ \(\d+\.\d ops\/s since start\)$/m);
  assert.match(r.stdout, /^items primary: \d+$/m);
  assert.doesNotMatch(r.stdout, /memoryBytes|uptimeMs/, 'no raw names');
  const json = await runCli(['stats', '--json', '--cluster', nodes[0]!.addr]);
  const docs = JSON.parse(json.stdout) as { uptimeMs: number; memoryBytes: { rss: number } }[];
  assert.ok(docs.length >= 1 && typeof docs[0]!.uptimeMs === 'number' && typeof docs[0]!.memoryBytes.rss === 'number');
});

/** Runs `opencluster ARGS | head -1` in bash with pipefail: the exit code is the CLI's unless head fails. */
function pipedToHead(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const quoted = [process.execPath, CLI_PATH, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    const proc = spawn('bash', ['-c', `set -o pipefail; ${quoted} | head -1`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('a closed output pipe (| head -1) ends status, stats and get quietly', async () => {
  await balanced();
  // --watch writes its second report a second after the first, long after head has gone.
  const watch = await pipedToHead(['status', '--watch', '--watch-count', '3', '--cluster', nodes[0]!.addr]);
  assert.equal(watch.stderr, '', 'no EPIPE stack trace');
  assert.equal(watch.code, 0);
  assert.match(watch.stdout, /^NODE /);
  for (const args of [['status', '--cluster', nodes[0]!.addr], ['stats', '--cluster', nodes[1]!.addr], ['get', 'ops:1', '--cluster', nodes[2]!.addr]]) {
    const r = await pipedToHead(args);
    assert.equal(r.stderr, '', `${args[0]}: no error on a closed pipe`);
    assert.equal(r.code, 0, args[0]);
    assert.equal(r.stdout.split('\n').length, 2, 'one line through head');
  }
});
