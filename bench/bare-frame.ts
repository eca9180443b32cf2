// The ceiling of a Node server on this machine (issue 12): a bare frame server (12-byte header
// frames, each set stored into a Map, answered with a bare header) driven by a bare pipelined
// client, beside our node driven by our client, sets of 100 B over 10k keys at 1 and 50 in
// flight; fresh processes per run, rounds in seeded shuffled order, ratio ours / bare per round.
//   npm run bench:bare -- [--rounds N] [--duration S] [--seed N]
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Cluster } from '../src/index.js';
import { seededRandom, stat } from './compare-stats.js';
import { processCpuSec, startBenchNode, stopBenchNode } from './node-proc.js';

const HEADER_BYTES = 12;
const KEYS = 10_000;
const VALUE_BYTES = 100;
/** Payload bytes a bare frame may carry (the server refuses more). */
const PAYLOAD_BYTES_MAX = 1 << 20;
const SELF = fileURLToPath(import.meta.url);
/** Every child still running: killed by its PID if the harness exits early (an error, an interrupt). */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

function track(p: ChildProcess): ChildProcess {
  live.add(p);
  p.once('exit', () => live.delete(p));
  return p;
}

/** The bare server: frames of [u16 command, u16 replyTo, u32 requestId, u32 payloadLength]; payload = u32 key length, key, value. */
function serveBare(): void {
  const store = new Map<string, Buffer>();
  const server = createServer((sock: Socket) => {
    let pending: Buffer = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      const buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let pos = 0;
      const replies: Buffer[] = [];
      while (buf.length - pos >= HEADER_BYTES) {
        const len = buf.readUInt32BE(pos + 8);
        if (len > PAYLOAD_BYTES_MAX) return sock.destroy();
        if (buf.length - pos < HEADER_BYTES + len) break;
        const p = pos + HEADER_BYTES;
        const keyLen = buf.readUInt32BE(p);
        store.set(buf.toString('latin1', p + 4, p + 4 + keyLen), Buffer.from(buf.subarray(p + 4 + keyLen, p + len)));
        const reply = Buffer.allocUnsafe(HEADER_BYTES);
        reply.writeUInt16BE(1, 0);
        reply.writeUInt16BE(buf.readUInt16BE(pos), 2);
        reply.writeUInt32BE(buf.readUInt32BE(pos + 4), 4);
        reply.writeUInt32BE(0, 8);
        replies.push(reply);
        pos += HEADER_BYTES + len;
      }
      pending = buf.subarray(pos);
      if (replies.length > 0) sock.write(replies.length === 1 ? replies[0]! : Buffer.concat(replies));
    });
    sock.on('error', () => sock.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    console.log(JSON.stringify({ msg: 'listening', addr: `127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}` }));
  });
  process.on('SIGINT', () => server.close(() => process.exit(0)));
}

/** Sets for durationSec with `inflight` requests outstanding; prints ops/s. */
async function load(target: 'bare' | 'ours', addr: string, inflight: number, durationSec: number): Promise<void> {
  const keys = Array.from({ length: KEYS }, (_, i) => `bare:${i}`);
  const value = 'v'.repeat(VALUE_BYTES);
  let n = 0;
  const stopAt = performance.now() + durationSec * 1000;
  const cpu0 = process.cpuUsage();
  if (target === 'ours') {
    const c = new Cluster({ seeds: [addr] });
    await c.connect();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inflight }, async (_v, lane) => {
        for (let i = lane; performance.now() < stopAt; i += inflight) {
          await c.set(keys[i % KEYS]!, value);
          n++;
        }
      }),
    );
    report(n, t0, cpu0);
    await c.close();
    return;
  }
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  const sock = createConnection({ host, port, noDelay: true });
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  const frames = keys.map((k, i) => {
    const f = Buffer.alloc(HEADER_BYTES + 4 + k.length + VALUE_BYTES, 'v');
    f.writeUInt16BE(2000, 0);
    f.writeUInt32BE(i, 4);
    f.writeUInt32BE(4 + k.length + VALUE_BYTES, 8);
    f.writeUInt32BE(k.length, HEADER_BYTES);
    f.write(k, HEADER_BYTES + 4, 'latin1');
    return f;
  });
  let next = 0;
  let pending = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const send = (): void => {
      const out: Buffer[] = [];
      while (pending < inflight && performance.now() < stopAt) {
        out.push(frames[next++ % KEYS]!);
        pending++;
      }
      if (out.length > 0) sock.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      if (pending === 0) resolve();
    };
    let rest = 0;
    sock.on('data', (chunk: Buffer) => {
      const bytes = rest + chunk.length;
      const done = Math.floor(bytes / HEADER_BYTES);
      rest = bytes % HEADER_BYTES;
      pending -= done;
      n += done;
      send();
    });
    send();
  });
  report(n, t0, cpu0);
  sock.destroy();
}

function report(n: number, t0: number, cpu0: NodeJS.CpuUsage): void {
  const sec = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ ops: n, opsPerSec: n / sec, loadCpuUsPerOp: (cpu.user + cpu.system) / n }));
}

/** Runs one load process to its end; its JSON result. */
function runLoad(target: string, addr: string, inflight: number, durationSec: number): Promise<{ opsPerSec: number }> {
  return new Promise((resolve, reject) => {
    const p = track(spawn(process.execPath, [SELF, 'load', target, addr, String(inflight), String(durationSec)], { stdio: ['ignore', 'pipe', 'inherit'] }));
    let last = '';
    createInterface({ input: p.stdout! }).on('line', (l) => (last = l));
    p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(last) as { opsPerSec: number }) : reject(new Error(`load exited ${code}`))));
  });
}

async function startBare(): Promise<{ addr: string; stop: () => Promise<void>; pid: number }> {
  const p = track(spawn(process.execPath, [SELF, 'serve'], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  const addr = await new Promise<string>((resolve) => createInterface({ input: p.stdout! }).on('line', (l) => resolve((JSON.parse(l) as { addr: string }).addr)));
  const stop = async (): Promise<void> => {
    p.kill('SIGINT');
    await exited;
  };
  return { addr, pid: p.pid!, stop };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, duration: { type: 'string', default: '3' }, seed: { type: 'string', default: '1' } } });
  const rounds = Number(values.rounds);
  const durationSec = Number(values.duration);
  if (!(rounds >= 1 && rounds <= 20 && durationSec > 0 && durationSec <= 30)) throw new Error('--rounds 1..20, --duration 0..30 s');
  const rnd = seededRandom(Number(values.seed));
  const results = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  for (let round = 1; round <= rounds; round++) {
    const runs = ['bare-x1', 'bare-x50', 'ours-x1', 'ours-x50'].sort(() => rnd() - 0.5);
    for (const run of runs) {
      const [target, inflight] = [run.slice(0, 4), Number(run.slice(6))];
      const server = target === 'bare' ? await startBare() : await startBenchNode();
      const pid = 'pid' in server ? server.pid : server.proc.pid!;
      const cpu0 = processCpuSec(pid);
      const r = await runLoad(target, server.addr, inflight, durationSec);
      const serverUs = ((processCpuSec(pid) - cpu0) * 1e6) / (r.opsPerSec * durationSec);
      if ('stop' in server) await server.stop();
      else await stopBenchNode(server);
      results.set(run, [...(results.get(run) ?? []), r.opsPerSec]);
      cpu.set(run, [...(cpu.get(run) ?? []), serverUs]);
      console.error(`round ${round} ${run}: ${Math.round(r.opsPerSec)} ops/s, server ${serverUs.toFixed(1)} us/op`);
    }
  }
  console.log(`sets of ${VALUE_BYTES} B over ${KEYS} keys, ${rounds} rounds x ${durationSec} s, seed ${values.seed}; median (min-max)`);
  for (const x of [1, 50]) {
    const b = results.get(`bare-x${x}`)!;
    const o = results.get(`ours-x${x}`)!;
    const ratio = stat(o.map((v, i) => v / b[i]!))!;
    const f = (s: ReturnType<typeof stat>, d = 0): string => `${s!.median.toFixed(d)} (${s!.min.toFixed(d)}-${s!.max.toFixed(d)})`;
    console.log(`x${x}: bare ${f(stat(b))} ops/s, ${f(stat(cpu.get(`bare-x${x}`)!), 1)} us/op; ours ${f(stat(o))} ops/s, ${f(stat(cpu.get(`ours-x${x}`)!), 1)} us/op; ours / bare ${f(ratio, 2)}`);
  }
}

const mode = process.argv[2];
if (mode === 'serve') serveBare();
else if (mode === 'load') await load(process.argv[3] as 'bare' | 'ours', process.argv[4]!, Number(process.argv[5]), Number(process.argv[6]));
else await main();
