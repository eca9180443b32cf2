// /metrics: the node's Prometheus registry (one per node, never prom-client's global one). Every
// figure is read from counters the node already keeps, by collect() callbacks at scrape time, so
// the hot path only adds to plain numbers (request-meter.ts).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { MemberState, NodeRole } from '../../protocol/messages/node.js';
import { LATENCY_BOUNDS_MS, OUTCOME_NAMES, type CommandMeter } from '../request-meter.js';
import { readiness } from './health.js';
import { bucketsByRole, itemsByRole, type HttpNodeView } from './view.js';

const P = 'opencluster_';
const HISTOGRAM_NAME = `${P}request_duration_seconds`;
const HISTOGRAM_HELP = 'Time from a request\'s dispatch to its reply, by command';
type HistogramDoc = ReturnType<Histogram<string>['get']>;
/** prom-client's typings call `type` a numeric enum; at run time (and in the text) it is this string. */
const HISTOGRAM_TYPE = 'histogram' as unknown as Awaited<HistogramDoc>['type'];

/**
 * Request latency per command, straight from the meter's bucket counts: prom-client's histogram
 * shape and text format, without an observe() per request.
 */
class MeterHistogram extends Histogram<string> {
  constructor(
    registry: Registry,
    private readonly meters: () => Iterable<[string, CommandMeter]>,
  ) {
    super({ name: HISTOGRAM_NAME, help: HISTOGRAM_HELP, labelNames: ['command'], buckets: LATENCY_BOUNDS_MS.map((ms) => ms / 1000), registers: [registry] });
  }

  override get(): HistogramDoc {
    return this.fromMeter();
  }

  /** What the registry reads for the text format (prom-client calls it before get()). */
  getForPromString(): HistogramDoc {
    return this.fromMeter();
  }

  private async fromMeter(): HistogramDoc {
    const name = HISTOGRAM_NAME;
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const [command, m] of this.meters()) {
      let cumulative = 0;
      for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) {
        cumulative += m.latencyCounts[i]!;
        values.push({ labels: { command, le: LATENCY_BOUNDS_MS[i]! / 1000 }, value: cumulative, metricName: `${name}_bucket` });
      }
      values.push({ labels: { command, le: '+Inf' }, value: m.count, metricName: `${name}_bucket` });
      values.push({ labels: { command }, value: m.latencySumMs / 1000, metricName: `${name}_sum` });
      values.push({ labels: { command }, value: m.count, metricName: `${name}_count` });
    }
    return { name, help: HISTOGRAM_HELP, type: HISTOGRAM_TYPE, aggregator: 'sum', collect: () => undefined, values };
  }
}

export class NodeMetrics {
  readonly registry = new Registry();

  constructor(v: HttpNodeView) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({
        name: P + name, help, registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    const gauge = <L extends string>(name: string, help: string, labelNames: L[], read: (set: (labels: Record<L, string>, value: number) => void) => void): void => {
      new Gauge<L>({
        name: P + name, help, labelNames, registers,
        collect() {
          this.reset();
          read((labels, value) => this.set(labels as never, value));
        },
      });
    };
    new Counter<'command' | 'outcome'>({
      name: `${P}requests_total`, help: 'Client requests answered, by command and outcome (ok, miss, redirect, retry, denied, error)', labelNames: ['command', 'outcome'], registers,
      collect() {
        this.reset();
        for (const [command, m] of v.requests.commands()) {
          for (let o = 0; o < OUTCOME_NAMES.length; o++) if (m.outcomes[o]! > 0) this.inc({ command, outcome: OUTCOME_NAMES[o]! }, m.outcomes[o]!);
        }
      },
    });
    new MeterHistogram(this.registry, () => v.requests.commands());
    gauge('items', 'Items held on this node, by role (primary or backup copy)', ['role'], (set) => {
      const items = itemsByRole(v);
      set({ role: 'primary' }, items.primary);
      set({ role: 'backup' }, items.backup);
    });
    gauge('data_bytes', 'Approximate bytes of the items held on this node', [], (set) => set({}, Math.max(0, v.store.approxBytes)));
    gauge('buckets', 'Buckets this node holds, by role', ['role'], (set) => {
      const held = bucketsByRole(v);
      set({ role: 'primary' }, held.primary);
      set({ role: 'backup' }, held.backup);
    });
    gauge('connections', 'Open connections, by kind (client, node, logger)', ['kind'], (set) => {
      set({ kind: 'client' }, v.clients.size);
      set({ kind: 'node' }, v.members.dataMembers().filter((m) => m.link?.established === true).length);
      set({ kind: 'logger' }, v.repl.loggerCount);
    });
    gauge('members', 'Data nodes this node knows (itself included), by state', ['state'], (set) => {
      const counts = { alive: 1, connecting: 0, leaving: 0, dead: v.members.goneAddrs().size };
      for (const m of v.members.dataMembers()) {
        if (m.state === MemberState.leaving) counts.leaving++;
        else if (m.link?.established === true) counts.alive++;
        else counts.connecting++;
      }
      for (const [state, n] of Object.entries(counts)) set({ state }, n);
    });
    gauge('transfers_in_progress', 'Bucket transfers under way on this node, by direction', ['direction'], (set) => {
      set({ direction: 'out' }, v.migration.busy ? 1 : 0);
      set({ direction: 'in' }, v.migration.incoming === null ? 0 : 1);
    });
    counter('buckets_moved_total', 'Buckets this node handed to another node', () => v.migration.moved);
    counter('failovers_total', 'Buckets this node took over after the death of their primary', () => v.stats.failovers);
    counter('redirects_total', 'Requests answered elsewhere: try-elsewhere, retry later, or no owner', () => v.stats.redirects);
    counter('backup_failures_total', 'Full-wait writes whose backup did not confirm them', () => v.stats.backupFailures);
    counter('connections_accepted_total', 'Client port connections accepted', () => v.stats.connectionsAccepted);
    counter('connections_refused_total', 'Client port connections refused (limits)', () => v.stats.connectionsRefused);
    counter('logins_failed_total', 'Failed client logins', () => v.stats.loginsFailed);
    counter('expired_total', 'Items that expired', () => v.stats.expired);
    gauge('replication_backlog', 'Backup pushes unanswered plus full-wait writes waiting for a backup', [], (set) => set({}, v.repl.backlog));
    gauge('logger_backlog', 'Updates queued for logging nodes', [], (set) => set({}, v.repl.loggers.backlog));
    gauge('lease_held', '1 while this node holds its write lease', [], (set) => set({}, v.members.leaseValid() ? 1 : 0));
    gauge('quorum', '1 while this node hears a majority of the cluster', [], (set) => set({}, v.members.hasQuorum(v.clock.nowMs()) ? 1 : 0));
    gauge('ready', '1 while this node serves (as /health/ready)', [], (set) => set({}, readiness(v).ok ? 1 : 0));
    gauge('logging_nodes', 'Logging nodes subscribed to this node', [], (set) => set({}, [...v.members.members.values()].filter((m) => m.role === NodeRole.logger).length));
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
