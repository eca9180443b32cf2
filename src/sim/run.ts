// One simulated run for a seed: K real nodes settle, C clients write (full wait) and read their own
// keys while the seed's schedule of faults plays, then everything heals and the invariants are
// checked: no acknowledged write lost or overwritten by an older value (ledger.ts), at most one node
// writing each bucket at each epoch (one-writer.ts), one settled
// cluster within a bounded virtual time (checks.ts), and no crash. Same seed, same run and trace.
import { SimClient } from './client.js';
import { wholeProblem } from './checks.js';
import { SimCluster } from './cluster.js';
import { Ledger, type Violation } from './ledger.js';
import { describeFault, drawSchedule, FAULT_KINDS, type Fault, type FaultKind } from './schedule.js';
import { sleep } from '../shared/clock.js';
import { OneWriter } from './one-writer.js';
import { assert } from '../shared/assert.js';

export interface RunOptions {
  seed: number;
  /** Nodes (default 3). */
  nodes?: number;
  /** Clients (default 3), each the only writer of its keys. */
  clients?: number;
  keysPerClient?: number;
  /** Virtual time the clients work while faults play (default 20 s). */
  durationMs?: number;
  /** The nodes' own log lines in the trace at this level and above (default: none). */
  nodeLogLevel?: string;
  /** The nodes' --quorum (default majority: the protection on). */
  quorum?: 'majority' | 'off';
  /** The faults the schedule draws from (default all). */
  faults?: readonly FaultKind[];
  faultsMax?: number;
  /** Once whole again, the cluster must settle within this much virtual time (default 60 s). */
  settleBoundMs?: number;
  /** The bucket mask of the cluster (default 63: fewer buckets, faster runs). */
  mask?: number;
}

export interface RunResult {
  seed: number;
  ok: boolean;
  violations: Violation[];
  schedule: string[];
  writes: { ack: number; unknown: number; refused: number };
  reads: number;
  /** The ledger's counters (writes by outcome, reads). */
  counts: Ledger['counts'];
  /** Virtual ms from the heal until the cluster was whole and settled (-1: it never was). */
  settleMs: number;
  virtualMs: number;
  events: number;
  sim: SimCluster;
}

const INITIAL_SETTLE_MS = 120_000;
const CLIENTS_DONE_BOUND_MS = 60_000;
const THINK_MIN_MS = 5;
const THINK_MAX_MS = 80;
const EVENTS_MAX = 20_000_000;
/** A leave's shutdown is bounded by --shutdown-timeout-ms (30 s); this is the wait for it. */
const LEAVE_BOUND_MS = 60_000;

export async function runSeed(o: RunOptions): Promise<RunResult> {
  const k = o.nodes ?? 3;
  const c = o.clients ?? 3;
  const durationMs = o.durationMs ?? 20_000;
  const settleBoundMs = o.settleBoundMs ?? 60_000;
  assert(k >= 1 && k <= 9 && c >= 1 && c <= 20, `bad run size: ${k} nodes, ${c} clients`);
  const writers = new OneWriter();
  const sim = new SimCluster({
    seed: o.seed,
    network: { minDelayMs: 0.05, maxDelayMs: 2 },
    node: { quorum: o.quorum ?? 'majority', mask: o.mask ?? 63 },
    nodeLogLevel: o.nodeLogLevel,
    observeWrite: (writer, b, epoch) => writers.note(writer, b, epoch),
  });
  const ledger = new Ledger(() => sim.clock.nowMs());
  writers.onViolation = (detail) => ledger.violations.push({ kind: 'twoWriters', atMs: sim.clock.nowMs(), detail });
  const hosts = Array.from({ length: k }, (_, i) => `10.0.0.${i + 1}`);
  const scheduleRandom = sim.random.fork();
  const clientRandom = sim.random.fork();
  const schedule: Fault[] =
    k >= 2 ? drawSchedule(scheduleRandom, { hosts, durationMs, kinds: o.faults ?? FAULT_KINDS, faultsMax: o.faultsMax ?? 3 }) : [];
  const result: RunResult = {
    seed: o.seed,
    ok: false,
    violations: ledger.violations,
    schedule: schedule.map(describeFault),
    writes: ledger.counts,
    reads: 0,
    counts: ledger.counts,
    settleMs: -1,
    virtualMs: 0,
    events: 0,
    sim,
  };
  const fail = (kind: Violation['kind'], detail: string): void => {
    ledger.violations.push({ kind, atMs: sim.clock.nowMs(), detail });
  };
  try {
    const first = await sim.start(hosts[0]!);
    for (const h of hosts.slice(1)) await sim.start(h, [first.me]);
    if (!(await sim.runUntilSettled(INITIAL_SETTLE_MS))) {
      fail('notSettled', `the ${k} nodes did not settle within ${INITIAL_SETTLE_MS} ms at the start`);
      return finish(result, sim);
    }
    const addrs = [...sim.nodes.keys()];
    const t0 = sim.clock.nowMs();
    sim.trace.add(`run: ${c} clients for ${durationMs} ms; schedule: ${result.schedule.join('; ') || '(none)'}`);
    for (const f of schedule) plan(sim, t0, f);

    let stopping = false;
    let done = 0;
    const clients = Array.from(
      { length: c },
      (_, i) =>
        new SimClient({ name: `c${i + 1}`, host: `10.0.1.${i + 1}`, nodes: addrs, net: sim.net, clock: sim.clock, random: clientRandom.fork(), trace: sim.trace, ledger }),
    );
    clients.forEach((client, i) => {
      const random = clientRandom.fork();
      const keys = Array.from({ length: o.keysPerClient ?? 4 }, (_, j) => `k${i + 1}.${j}`);
      void (async () => {
        try {
          while (!stopping) {
            const key = random.pick(keys);
            if (random.chance(0.7)) await client.write(key);
            else await client.read(key);
            await sleep(sim.clock, random.int(THINK_MIN_MS, THINK_MAX_MS));
          }
        } finally {
          done++;
        }
      })();
    });
    await runUntil(sim, { untilMs: t0 + durationMs });
    stopping = true;
    await runUntil(sim, { until: () => done === c, untilMs: sim.clock.nowMs() + CLIENTS_DONE_BOUND_MS });
    if (done !== c) fail('crash', `clients still busy ${CLIENTS_DONE_BOUND_MS} ms after the end`);
    for (const cl of clients) cl.close();

    // Whole again: every link healed, every host running.
    sim.net.healAll();
    // A leave still handing over ends first (on the clock: this code runs outside it), then every
    // host that does not run starts again.
    await runUntil(sim, { until: () => !hosts.some((h) => sim.isLeaving(h)), untilMs: sim.clock.nowMs() + LEAVE_BOUND_MS });
    if (hosts.some((h) => sim.isLeaving(h))) fail('crash', `a leave did not end within ${LEAVE_BOUND_MS} ms`);
    for (const h of hosts) if (!sim.hosts.includes(h)) await sim.restart(h);
    const healedMs = sim.clock.nowMs();
    sim.trace.add('end: healed everything; waiting for one settled cluster');
    await runUntil(sim, { until: () => wholeProblem([...sim.nodes.values()]) === null, untilMs: healedMs + settleBoundMs });
    const problem = wholeProblem([...sim.nodes.values()]);
    if (problem !== null) {
      fail('notWhole', `${settleBoundMs} ms after the heal: ${problem}`);
      return finish(result, sim);
    }
    result.settleMs = sim.clock.nowMs() - healedMs;
    checkValues(sim, ledger);
  } catch (error) {
    fail('crash', error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  return finish(result, sim);
}

/** Runs the shared clock within the run's event bound; a crash of a node's callback throws. */
async function runUntil(sim: SimCluster, limits: { untilMs: number; until?: () => boolean }): Promise<void> {
  const left = EVENTS_MAX - sim.clock.eventsRun;
  assert(left > 0, `the run used its ${EVENTS_MAX} events`);
  await sim.clock.run({ ...limits, maxEvents: left });
}

/** Puts one fault of the schedule on the clock: its start and its end. */
function plan(sim: SimCluster, t0: number, f: Fault): void {
  const at = (ms: number, fn: () => void): void => sim.clock.at(t0 + ms, fn);
  switch (f.kind) {
    case 'cut':
    case 'cutOneWay':
      at(f.atMs, () => sim.net.cut(f.a, f.b, { oneWay: f.kind === 'cutOneWay' }));
      at(f.healMs, () => sim.net.heal(f.a, f.b));
      return;
    case 'isolate':
      at(f.atMs, () => sim.net.isolate(f.host));
      at(f.healMs, () => sim.net.rejoin(f.host));
      return;
    case 'stall':
      at(f.atMs, () => {
        if (sim.hosts.includes(f.host)) sim.stall(f.host, f.forMs);
      });
      return;
    case 'leave':
      at(f.atMs, () => {
        if (sim.hosts.includes(f.host)) void sim.leave(f.host);
      });
      // Joins again once gone (a leave still handing over at that time is waited for).
      at(f.rejoinMs, () => void rejoinWhenGone(sim, f.host));
      return;
    case 'kill':
      at(f.atMs, () => {
        if (sim.hosts.includes(f.host)) sim.kill(f.host);
      });
      at(f.restartMs, () => {
        if (!sim.hosts.includes(f.host)) void sim.restart(f.host);
      });
      return;
  }
}

/**
 * Starts the host's node again once its leave is over (bounded: the leave's own shutdown timeout).
 * Runs on the clock (a callback of it): its sleeps advance with the run.
 */
async function rejoinWhenGone(sim: SimCluster, host: string): Promise<void> {
  const untilMs = sim.clock.nowMs() + LEAVE_BOUND_MS;
  while (sim.isLeaving(host) && sim.clock.nowMs() < untilMs) await sleep(sim.clock, 100);
  if (!sim.hosts.includes(host)) await sim.restart(host);
}

/** Every key's value at its primary (and its backup) against the ledger. */
export function checkValues(sim: SimCluster, ledger: Ledger): void {
  const nodes = [...sim.nodes.values()];
  const entries = nodes[0]!.table.toEntries();
  for (const key of ledger.keys()) {
    const b = nodes[0]!.store.bucketOf('', key);
    const e = entries[b]!;
    const valueAt = (addr: string): string | null => {
      const n = sim.nodes.get(addr)!;
      const it = n.store.read(b, '', key, n.clock.wallMs(), null);
      return it === undefined ? null : it.value.t === 3 || it.value.t === 4 ? it.value.v.toString('latin1') : `(type ${it.value.t})`;
    };
    const primary = valueAt(e.primary);
    ledger.checkFinal(key, primary, `${e.primary} (primary of bucket ${b})`);
    if (e.backup !== '') {
      const backup = valueAt(e.backup);
      if (backup !== primary) {
        ledger.violations.push({ kind: 'replicaDiverged', atMs: sim.clock.nowMs(), detail: `${key}: primary ${e.primary} holds ${primary ?? '(none)'}, backup ${e.backup} holds ${backup ?? '(none)'}` });
      }
    }
  }
}

function finish(result: RunResult, sim: SimCluster): RunResult {
  sim.stop();
  result.ok = result.violations.length === 0;
  result.reads = result.counts.reads;
  result.virtualMs = sim.clock.nowMs();
  result.events = sim.clock.eventsRun;
  return result;
}

/** A failed run told for a person: seed, schedule, violations, the trace's last lines. */
export function describeRun(r: RunResult, traceLines = 80): string {
  const lines = [`seed ${r.seed}: ${r.ok ? 'ok' : `${r.violations.length} violation(s)`}`, 'schedule:', ...r.schedule.map((s) => `  ${s}`)];
  if (r.schedule.length === 0) lines.push('  (no faults)');
  lines.push(`writes: ${r.writes.ack} acknowledged, ${r.writes.unknown} unknown, ${r.writes.refused} refused; settled ${r.settleMs} ms after the heal`);
  for (const v of r.violations) lines.push(`VIOLATION ${v.kind} at ${v.atMs.toFixed(3)}: ${v.detail}`);
  if (!r.ok) {
    // Readable: the segments' sends and deliveries are left out (a replay of the seed has them all).
    // Ends at the first violation (reads and writes that broke the rule are found when they end).
    const firstMs = Math.min(...r.violations.map((v) => v.atMs));
    const text = r.sim.trace
      .text()
      .split('\n')
      .filter((l) => l !== '' && !/^\S+ (send|deliver) /.test(l) && Number(l.slice(0, l.indexOf(' '))) <= firstMs);
    lines.push(`trace up to ${firstMs.toFixed(3)} (last ${traceLines} lines without sends and deliveries; replay with --seed ${r.seed}):`, ...text.slice(-traceLines));
  }
  return lines.join('\n');
}
