// `npm run bench:compare`'s processes: a fresh redis-server or `opencluster serve` per run, the load
// process, their CPU and RSS from /proc, and their end by PID (SIGKILL of whatever is left if the
// harness itself exits early). Also installs Debian's redis-server when it is missing.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_PATH, listeningAddr, processCpuSec } from './node-proc.js';

export { processCpuSec };
const here = dirname(fileURLToPath(import.meta.url));
const LOAD_PATH = join(here, 'compare-load.js');
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const PAGE_BYTES = 4096;

/** Every child still running and every server's temp dir; on the harness's exit (an interrupt, an error) each child is killed by its PID and each dir removed. */
const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
process.on('exit', () => {
  for (const p of live) if (p.pid !== undefined) p.kill('SIGKILL');
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

export interface Server {
  system: 'ours' | 'redis';
  addr: string;
  pid: number;
  proc: ChildProcess;
  dir: string;
}

function track(proc: ChildProcess): ChildProcess {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  return proc;
}

/** Resident set size of a process in bytes, from /proc/<pid>/stat (field 24, pages). */
export function processRssBytes(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[21]) * PAGE_BYTES;
}

export function ensureRedisServer(): void {
  if (spawnSync('redis-server', ['--version']).status === 0) return;
  console.error('bench:compare: installing redis-server with apt-get');
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const run = (args: string[]): void => {
    execFileSync(sudo.length > 0 ? 'sudo' : args[0]!, sudo.length > 0 ? args : args.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', 'redis-server']);
}

export function redisVersion(): string {
  const out = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /v=(\S+)/.exec(out)?.[1] ?? 'unknown';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startRedis(): Promise<Server> {
  const dir = tempDir('oc-cmp-redis-');
  const port = await freePort();
  const proc = track(spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }));
  const server: Server = { system: 'redis', addr: `127.0.0.1:${port}`, pid: proc.pid!, proc, dir };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stopServer(server);
      throw new Error(`redis-server on port ${port} did not start`);
    }
    await sleep(20);
  }
  return server;
}

async function startOurs(): Promise<Server> {
  const dir = tempDir('oc-cmp-node-');
  const args = [CLI_PATH, 'serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--log-level', 'info'];
  const proc = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const server: Server = { system: 'ours', addr: '', pid: proc.pid!, proc, dir };
  const stderr: string[] = [];
  proc.stderr!.on('data', (d: Buffer) => stderr.length < 20 && stderr.push(d.toString()));
  try {
    server.addr = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the node did not log 'listening' in ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      proc.once('exit', () => reject(new Error(`the node exited before listening: ${stderr.join('')}`)));
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        const addr = listeningAddr(line);
        if (addr !== null) {
          clearTimeout(timer);
          resolve(addr);
        }
      });
    });
  } catch (e) {
    await stopServer(server);
    throw e;
  }
  proc.stdout!.resume(); // its log lines after 'listening' are read and dropped
  return server;
}

export function startServer(system: 'ours' | 'redis'): Promise<Server> {
  return system === 'ours' ? startOurs() : startRedis();
}

/** Ends a process by its PID: SIGINT (ours) or SIGTERM (redis), then SIGKILL after STOP_TIMEOUT_MS. */
async function stopProc(proc: ChildProcess, sig: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill(sig);
  const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

export async function stopServer(s: Server): Promise<void> {
  await stopProc(s.proc, s.system === 'ours' ? 'SIGINT' : 'SIGTERM');
  rmSync(s.dir, { recursive: true, force: true });
  liveDirs.delete(s.dir);
}

export interface LoadProc {
  pid: number;
  /** Resolves with each JSON line the load process prints, in order (null once it has exited). */
  next(timeoutMs: number): Promise<Record<string, unknown> | null>;
  send(line: string): void;
  stop(): Promise<void>;
}

/** Starts `node dist/bench/compare-load.js <plan>`; its stdout is read as JSON lines. */
export function startLoad(planJson: string): LoadProc {
  const proc = track(spawn(process.execPath, [LOAD_PATH, planJson], { stdio: ['pipe', 'pipe', 'pipe'] }));
  const queue: (Record<string, unknown> | null)[] = [];
  const waiters: ((v: Record<string, unknown> | null) => void)[] = [];
  const push = (v: Record<string, unknown> | null): void => {
    const w = waiters.shift();
    if (w) w(v);
    else queue.push(v);
  };
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a JSON line: a stray print, dropped
    }
  });
  let closed = false;
  // 'close', not 'exit': every line on stdout has been read by then.
  proc.once('close', (code) => {
    if (code !== 0 && stderr.length > 0) push({ event: 'error', message: stderr.trim().split('\n').slice(-3).join(' | ') });
    closed = true;
    push(null);
  });
  return {
    pid: proc.pid!,
    next(timeoutMs) {
      const v = queue.shift();
      if (v !== undefined) return Promise.resolve(v);
      if (closed) return Promise.resolve(null);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the load process said nothing for ${timeoutMs} ms`)), timeoutMs);
        waiters.push((x) => {
          clearTimeout(timer);
          resolve(x);
        });
      });
    },
    send(line) {
      proc.stdin!.write(`${line}\n`);
    },
    stop: () => stopProc(proc, 'SIGTERM'),
  };
}
