// Test helper: the netns agent (netns-agent.ts) run on a host of a TestNet: spawned, tracked, and
// ended together; or run to its end for its last line of JSON (bounded).
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestNet } from './netns.js';

const AGENT_PATH = join(dirname(fileURLToPath(import.meta.url)), 'netns-agent.js');
const AGENT_TIMEOUT_MS = 60_000;

export class Agents {
  private readonly running = new Set<ChildProcess>();

  constructor(private readonly net: TestNet) {}

  /** Starts the agent with `args` inside the host's namespace. */
  start(host: string, args: string[]): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', this.net.ns(host), process.execPath, AGENT_PATH, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.running.add(p);
    p.on('exit', () => this.running.delete(p));
    return p;
  }

  /** Runs the agent to its end and returns its last stdout line, parsed (bounded). */
  json<T>(host: string, args: string[], input = ''): Promise<T> {
    return new Promise((resolve, reject) => {
      const p = this.start(host, args);
      let out = '';
      let err = '';
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const timer = setTimeout(() => p.kill('SIGKILL'), AGENT_TIMEOUT_MS);
      p.on('exit', (code) => {
        clearTimeout(timer);
        const last = out.trim().split('\n').pop() ?? '';
        if (code !== 0) reject(new Error(`agent ${args[0]} in ${host} exited ${code}: ${err.slice(-500)}`));
        else resolve(JSON.parse(last) as T);
      });
      p.stdin!.end(input);
    });
  }

  killAll(): void {
    for (const p of this.running) p.kill('SIGKILL');
  }
}
