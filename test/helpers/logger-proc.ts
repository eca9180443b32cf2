// A logging node process for tests: `opencluster logger` spawned with its JSON log lines kept,
// waited on by predicate (bounded), stopped with SIGINT; every one started is killed at cleanup.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI_PATH } from './nodes.js';

export type LogLine = Record<string, unknown>;

export interface LoggerProc {
  proc: ChildProcess;
  dir: string;
  logs: LogLine[];
  exited: Promise<number | string>;
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

const loggers = new Set<LoggerProc>();

/** Starts `opencluster logger --dir DIR --cluster ...` and waits until it streams from a node. */
export async function startLoggerProc(nodes: string[], dir: string): Promise<LoggerProc> {
  const args = [CLI_PATH, 'logger', '--dir', dir, '--log-level', 'debug', ...nodes.flatMap((n) => ['--cluster', n])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  const onLine = (text: string, stderr: boolean): void => {
    let line: LogLine;
    try {
      line = stderr ? { msg: text, stderr } : (JSON.parse(text) as LogLine);
    } catch {
      line = { msg: text, raw: true };
    }
    logs.push(line);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.pred(line)) waiters.splice(i, 1)[0]!.resolve(line);
    }
  };
  createInterface({ input: proc.stdout! }).on('line', (l) => onLine(l, false));
  createInterface({ input: proc.stderr! }).on('line', (l) => onLine(l, true));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig ?? 'unknown')));
  const lp: LoggerProc = {
    proc,
    dir,
    logs,
    exited,
    waitForLog(pred, timeoutMs = 15000) {
      const found = logs.find(pred);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`logger: timed out waiting for a log line; last lines: ${JSON.stringify(logs.slice(-5))}`)), timeoutMs);
        waiters.push({ pred, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
  };
  loggers.add(lp);
  void exited.then(() => loggers.delete(lp));
  await lp.waitForLog((l) => l['msg'] === 'logger started');
  return lp;
}

export async function stopLoggerProc(lp: LoggerProc): Promise<number | string> {
  lp.proc.kill('SIGINT');
  return lp.exited;
}

/** Kills every logger still running (by its own PID) and waits for them. */
export async function killLoggers(): Promise<void> {
  for (const l of loggers) l.proc.kill('SIGKILL');
  await Promise.all([...loggers].map((l) => l.exited));
}
