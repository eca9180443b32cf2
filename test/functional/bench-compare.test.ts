// `npm run bench:compare`'s quickest mode end to end against a real redis-server and a real node: the
// JSON it writes (machine, settings, the shuffled order, every run, the per-case summaries), every
// process it started gone by the end (also after an interrupt mid-run), and a usage error. Structure only: no timing figure is judged.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanup, makeTempDir, waitFor } from '../helpers/nodes.js';
import type { RunRecord } from '../../bench/compare-run.js';

after(cleanup);

const COMPARE_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'compare.js');

function runCompare(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [COMPARE_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGINT'); // the harness stops its own servers and load processes on SIGINT
      reject(new Error(`bench:compare did not finish in ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}
/** One run as the harness writes it to its JSON (bench/compare-run.ts). */
type Run = RunRecord;
interface Summary {
  name: string;
  kind: string;
  ours: Record<string, Stat>;
  redis: Record<string, Stat>;
  ratio: Record<string, Stat>;
  failedRuns: number;
}

const CASES = ['set-100b-x50', 'mget-100-x1', 'mem-100b-1m'];

test('--quick runs each case against both systems in fresh processes and writes the documented JSON', { timeout: 240_000 }, async () => {
  const json = join(makeTempDir('oc-bench-compare-'), 'out.json');
  const r = await runCompare(['--quick', '--duration', '0.3', '--cases', CASES.join(','), '--seed', '42', '--json', json], 220_000);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const doc = JSON.parse(readFileSync(json, 'utf8')) as {
    machine: Record<string, unknown>;
    settings: { seed: number; rounds: number; durationSec: number; warmupSec: number; quick: boolean; cases: string[] };
    order: { round: number; case: string; system: string }[];
    runs: Run[];
    cases: Summary[];
  };
  for (const k of ['cpu', 'os', 'node', 'redis', 'ioredis', 'date']) assert.equal(typeof doc.machine[k], 'string', k);
  assert.ok(Number.isInteger(doc.machine['cores']) && (doc.machine['cores'] as number) >= 1);
  assert.deepEqual({ ...doc.settings, jsonPath: undefined }, { cases: CASES, rounds: 1, durationSec: 0.3, warmupSec: 0.2, seed: 42, quick: true, jsonPath: undefined });
  assert.match(r.stdout, /0\.3 s timed after 0\.2 s of warm-up \(memory cases: none\)/);
  assert.match(r.stdout, /seed 42/);

  // Every (case, system) exactly once in the one round, and the runs in that order.
  const slots = doc.order.map((s) => `${s.round} ${s.case} ${s.system}`);
  assert.deepEqual([...slots].sort(), CASES.flatMap((c) => [`1 ${c} ours`, `1 ${c} redis`]).sort());
  assert.deepEqual(doc.runs.map((x) => `${x.round} ${x.case} ${x.system}`), slots);

  const pids = new Set<number>();
  for (const run of doc.runs) {
    assert.equal(run.ok, true, `${run.case} ${run.system}: ${run.error}`);
    assert.ok(run.serverPid > 0 && run.loadPid > 0);
    pids.add(run.serverPid).add(run.loadPid);
    assert.ok(run.ops > 0, `${run.case} ${run.system} completed nothing`);
  }
  assert.equal(pids.size, doc.runs.length * 2, 'a fresh server and load process per run');
  for (const pid of pids) assert.equal(existsSync(`/proc/${pid}`), false, `process ${pid} outlived the harness`);

  assert.deepEqual(doc.cases.map((c) => c.name), CASES);
  for (const c of doc.cases) {
    assert.equal(c.failedRuns, 0);
    const metrics = c.kind === 'memory' ? ['rssBytesPerItem', 'statsBytesPerItem'] : ['opsPerSec', 'mbPerSec', 'p50Ms', 'p99Ms', 'serverCpuUsPerOp', 'loadCpuUsPerOp'];
    for (const m of metrics) {
      for (const side of [c.ours, c.redis]) {
        const s = side[m]!;
        assert.ok(s !== undefined && s.n === 1 && s.min <= s.median && s.median <= s.max, `${c.name} ${m}: ${JSON.stringify(s)}`);
      }
    }
    if (c.kind !== 'memory') {
      assert.ok(c.ours['opsPerSec']!.median > 0 && c.redis['opsPerSec']!.median > 0);
      assert.ok(c.ratio['opsPerSec']!.n === 1 && c.ratio['opsPerSec']!.median > 0);
      assert.ok(c.ours['loadCpuUsPerOp']!.median > 0 && c.redis['loadCpuUsPerOp']!.median > 0);
    } else {
      // The node's own figure and Redis's used_memory both count the items written.
      assert.ok(c.ours['statsBytesPerItem']!.median > 0 && c.redis['statsBytesPerItem']!.median > 0);
    }
  }
  // The machine is written above each of the three tables (throughput, CPU, memory).
  assert.equal(r.stdout.match(/^machine: /gm)?.length, 4, r.stdout); // once at the start, then above each table
});

test('an unknown case is a usage error: exit 2, one line, nothing started', { timeout: 30_000 }, async () => {
  const r = await runCompare(['--cases', 'set-100b-x50,nope'], 20_000);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown case 'nope'/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.equal(r.stdout, '');
});

test('a warm-up that is not a number of seconds from 0 up is a usage error: exit 2, one line, nothing started', { timeout: 30_000 }, async () => {
  for (const bad of ['soon', '-1', '', ' 2', '1e2', '0x10', '+1']) {
    const r = await runCompare(['--cases', 'set-100b-x50', `--warmup=${bad}`], 20_000);
    assert.equal(r.code, 2, `--warmup=${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--warmup must be a number in \[0, 600\]/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(r.stdout, '');
  }
});

/** The processes whose parent is `pid`, with their command lines (from /proc). */
function childrenOf(pid: number): { pid: number; args: string[] }[] {
  const out: { pid: number; args: string[] }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(name), args: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0') });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** Starts the harness on one long case, interrupts it once its load process runs, and checks what it leaves behind; returns which server ran. */
async function interruptMidRun(seed: number): Promise<'ours' | 'redis'> {
  const proc = spawn(process.execPath, [COMPARE_PATH, '--cases', 'set-100b-x50', '--rounds', '1', '--duration', '600', '--seed', String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  proc.stdout.resume();
  proc.stderr.resume();
  let kids: { pid: number; args: string[] }[] = [];
  try {
    // Synchronise on state: a load process runs beside its server (the timed phase is 600 s long).
    kids = await waitFor('a server and a load process under the harness', () => {
      const k = childrenOf(proc.pid!);
      return k.some((c) => c.args.some((a) => a.endsWith('compare-load.js'))) && k.length >= 2 ? k : undefined;
    }, 90_000);
    const server = kids.find((c) => c.args.includes('serve') || c.args[0]!.startsWith('redis-server'));
    assert.ok(server, JSON.stringify(kids));
    const ours = server.args.includes('serve');
    // ours: --data-dir DIR; redis-server rewrites its command line but works in its --dir
    const dir = ours ? server.args[server.args.indexOf('--data-dir') + 1]! : readlinkSync(`/proc/${server.pid}/cwd`);
    assert.ok(existsSync(dir), dir);
    proc.kill('SIGINT');
    assert.equal(await closed, 130);
    for (const k of kids) await waitFor(`process ${k.pid} (${k.args[0]}) to end`, () => !existsSync(`/proc/${k.pid}`) || undefined, 10_000);
    assert.equal(existsSync(dir), false, `${dir} outlived the harness`);
    return ours ? 'ours' : 'redis';
  } finally {
    // On a failed assertion: SIGINT lets the harness end its own children; any seen are killed too.
    if (proc.exitCode === null) proc.kill('SIGINT');
    for (const k of kids) if (existsSync(`/proc/${k.pid}`)) process.kill(k.pid, 'SIGKILL');
  }
}

test('an interrupt mid-run ends the server and load process it started, by PID, and removes their temp dirs', { timeout: 200_000 }, async () => {
  // Seed 1 runs Redis first, seed 2 our node (the order is the seeded shuffle's): both kinds of server.
  assert.deepEqual([await interruptMidRun(1), await interruptMidRun(2)], ['redis', 'ours']);
});
