// Benchmark helper: `opencluster serve` processes on loopback ports chosen by the OS, their CPU use
// from /proc, and their teardown (by PID) with their temp dirs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/src/cli/main.js, seen from dist/bench. */
export const CLI_PATH = join(here, '..', 'src', 'cli', 'main.js');
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SEC = 100;

export interface BenchNode {
  addr: string;
  proc: ChildProcess;
  dataDir: string;
  exited: Promise<void>;
}

const started = new Set<BenchNode>();

/** Starts a node and resolves once it logged 'listening' with its address. */
export async function startBenchNode(joinAddr?: string, extraArgs: readonly string[] = []): Promise<BenchNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'oc-bench-'));
  const args = [CLI_PATH, 'serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'info', ...extraArgs];
  if (joinAddr) args.push('--node', joinAddr);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const node: BenchNode = { addr: '', proc, dataDir, exited };
  started.add(node);
  const stderr: string[] = [];
  createInterface({ input: proc.stderr! }).on('line', (l) => stderr.length < 20 && stderr.push(l));
  node.addr = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not log 'listening' within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    void exited.then(() => reject(new Error(`node exited before listening: ${stderr.join(' | ')}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const addr = listeningAddr(line);
      if (addr !== null) {
        clearTimeout(timer);
        resolve(addr);
      }
    });
  });
  return node;
}

/** The address in the node's JSON log line {"msg":"listening","addr":...}, else null. */
export function listeningAddr(line: string): string | null {
  try {
    const parsed = JSON.parse(line) as { msg?: unknown; addr?: unknown };
    return parsed.msg === 'listening' && typeof parsed.addr === 'string' ? parsed.addr : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) the process used so far, from /proc/<pid>/stat. */
export function processCpuSec(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS_PER_SEC;
}

/** Stops one node: SIGINT, then SIGKILL if it has not exited in time; removes its data dir. */
export async function stopBenchNode(node: BenchNode): Promise<void> {
  if (node.proc.exitCode === null && node.proc.signalCode === null) {
    node.proc.kill('SIGINT');
    const timer = setTimeout(() => node.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await node.exited;
    clearTimeout(timer);
  }
  rmSync(node.dataDir, { recursive: true, force: true });
  started.delete(node);
}

export async function stopAllBenchNodes(): Promise<void> {
  await Promise.all([...started].map(stopBenchNode));
}
