// Test helper: real `opencluster serve` processes on loopback, their logs, and their cleanup.
import { createServer as createNetServer } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/src/cli/main.js, relative to dist/test/helpers. */
export const CLI_PATH = join(here, '..', '..', 'src', 'cli', 'main.js');

export interface NodeProcess {
  addr: string;
  proc: ChildProcess;
  dataDir: string;
  /** Every JSON log line the node printed so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** Waits for a log line matching the predicate (bounded). */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  signal(sig: NodeJS.Signals): void;
}

/**
 * Every node, logging node and CLI this test process starts shares one per-user default cluster
 * secret: it lives in a home of this process's own (removed at exit), never in the real one.
 */
if (process.env['OPENCLUSTER_HOME'] === undefined) {
  const home = mkdtempSync(join(tmpdir(), 'oc-home-'));
  process.env['OPENCLUSTER_HOME'] = home;
  process.on('exit', () => rmSync(home, { recursive: true, force: true }));
}

const started = new Set<NodeProcess>();
const tempDirs = new Set<string>();

export function makeTempDir(prefix = 'oc-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export interface StartOptions {
  /** Listen address; default 127.0.0.1:0 (a free port chosen by the OS). */
  listen?: string;
  nodes?: string[];
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  startTimeoutMs?: number;
  /** Run inside this network namespace (made by the test, see netns.ts); `ip netns exec` keeps the PID. */
  netns?: string;
}

export async function startNode(opts: StartOptions = {}): Promise<NodeProcess> {
  const dataDir = opts.dataDir ?? makeTempDir('oc-data-');
  const args = [CLI_PATH, 'serve', '--listen', opts.listen ?? '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'debug'];
  for (const n of opts.nodes ?? []) args.push('--node', n);
  args.push(...(opts.args ?? []));
  const [file, argv] = opts.netns === undefined ? [process.execPath, args] : ['ip', ['netns', 'exec', opts.netns, process.execPath, ...args]];
  const proc = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const logs: Record<string, unknown>[] = [];
  // For diagnosing a failed run by hand: OC_TEST_LOG_DIR=dir keeps every node's log lines there.
  const keepDir = process.env['OC_TEST_LOG_DIR'];
  const keepFile = keepDir === undefined || keepDir === '' ? undefined : join(keepDir, `node-${proc.pid ?? 'x'}.log`);
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  const onLine = (text: string): void => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { msg: text, raw: true };
    }
    logs.push(line);
    if (keepFile !== undefined) appendFileSync(keepFile, `${text}\n`);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.pred(line)) {
        waiters[i]!.resolve(line);
        waiters.splice(i, 1);
      }
    }
  };
  createInterface({ input: proc.stdout! }).on('line', onLine);
  createInterface({ input: proc.stderr! }).on('line', (l) => onLine(JSON.stringify({ msg: l, stderr: true })));
  const exited = new Promise<number | string>((resolve) => {
    proc.on('exit', (code, sig) => resolve(code ?? sig ?? 'unknown'));
  });
  const node: NodeProcess = {
    addr: '',
    proc,
    dataDir,
    logs,
    exited,
    waitForLog(pred, timeoutMs = 15000) {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const idx = waiters.findIndex((w) => w.resolve === done);
          if (idx >= 0) waiters.splice(idx, 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line of node ${node.addr || '(starting)'}`));
        }, timeoutMs);
        const done = (l: Record<string, unknown>): void => {
          clearTimeout(timer);
          resolve(l);
        };
        waiters.push({ pred, resolve: done });
        void exited.then(() => {
          // A dead process logs nothing more: fail fast rather than wait out the timeout.
          setTimeout(() => {
            const idx = waiters.findIndex((w) => w.resolve === done);
            if (idx >= 0) {
              waiters.splice(idx, 1);
              clearTimeout(timer);
              reject(new Error(`node ${node.addr || '(starting)'} exited while a log line was awaited; last logs: ${logTail(node, 5)}`));
            }
          }, 50);
        });
      });
    },
    signal(sig) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
    },
  };
  started.add(node);
  void exited.then(() => started.delete(node));
  const line = await node.waitForLog((l) => l['msg'] === 'listening', opts.startTimeoutMs ?? 15000);
  node.addr = String(line['addr']);
  return node;
}

/** Stops one node: SIGKILL by default (tests that need a graceful stop send SIGINT themselves). */
export async function killNode(node: NodeProcess, sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (node.proc.signalCode === 'SIGSTOP') node.proc.kill('SIGCONT');
  node.signal(sig);
  await node.exited;
}

/** Kills every node this test process started and removes every temp dir it made. */
export async function cleanup(): Promise<void> {
  const all = [...started];
  for (const n of all) {
    try {
      n.proc.kill('SIGCONT');
    } catch {
      // already gone
    }
    n.signal('SIGKILL');
  }
  await Promise.all(all.map((n) => n.exited));
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

/** Polls a condition until it holds or the bound passes. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/**
 * Runs the CLI to completion and returns its output (bounded); `env` adds to this process's
 * environment; `netns` runs it inside a network namespace of the test's own (see netns.ts).
 */
export function runCli(
  args: string[],
  timeoutMs = 20000,
  input?: string,
  env?: Record<string, string>,
  netns?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const argv = [CLI_PATH, ...args];
    const [file, fileArgs] = netns === undefined ? [process.execPath, argv] : ['ip', ['netns', 'exec', netns, process.execPath, ...argv]];
    const proc = spawn(file, fileArgs, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`CLI ${args.join(' ')} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) proc.stdin.end(input);
    else proc.stdin.end();
  });
}

/** The node's exit code once it exits, or a note that it still runs after waitMs. */
export async function exitCodeOf(node: NodeProcess, waitMs: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`still running after ${waitMs} ms`), waitMs)));
  const code = await Promise.race([node.exited, timeout]);
  clearTimeout(timer);
  return code;
}

/** The node's last log messages, for assertion messages. */
export function logTail(node: NodeProcess, n = 8): string {
  return node.logs
    .slice(-n)
    .map((l) => String(l['msg']) + (l['err'] ? `: ${String(l['err'])}` : ''))
    .join(' | ');
}

/**
 * Backups that fell out of step on any of these nodes (a push missed, the copy rebuilt). Planned
 * changes (joins, graceful stops) must never cause one: each is an update a backup did not get.
 */
export function backupsOutOfStep(nodes: NodeProcess[]): string[] {
  return nodes.flatMap((n) =>
    n.logs.filter((l) => l['msg'] === 'backup out of step: rebuilding it').map((l) => `${n.addr} bucket ${String(l['bucket'])}: ${String(l['why'])}`),
  );
}

/** A loopback port nothing listens on: bound, then closed. */
export async function unusedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr !== 'object') throw new Error('no address');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return addr.port;
}

/** An address nothing listens on. */
export async function deadAddress(): Promise<string> {
  return `127.0.0.1:${await unusedPort()}`;
}
