// The dashboard's state document: the nodes (state, buckets, items, memory, requests/s, p99), the
// bucket map, transfers in progress, and requests/s and p99 over the last minutes. Figures of other
// nodes come from their `stats` over the node links (one call in flight per member, bounded by a
// timeout); the bucket map and member states are this node's own view.
import { Cmd } from '../../protocol/commands.js';
import { Reader } from '../../protocol/codec.js';
import { jsonReply } from '../../protocol/messages/data.js';
import { MemberState } from '../../protocol/messages/node.js';
import { LATENCY_BOUNDS_MS, quantileMs } from '../request-meter.js';
import { clusterSafety, readiness } from './health.js';
import type { HttpNodeView } from './view.js';

/** Seconds of history the charts show. */
export const HISTORY_POINTS_MAX = 300;
const STATS_CALL_TIMEOUT_MS = 1000;
/** A member's figures older than this are shown as unknown. */
const STATS_STALE_MS = 5000;

export type NodeState = 'alive' | 'connecting' | 'leaving' | 'dead';

export interface NodeRow {
  addr: string;
  state: NodeState;
  self: boolean;
  primaries: number;
  backups: number;
  items: number | null;
  memoryBytes: number | null;
  requestsPerSec: number | null;
  p99Ms: number | null;
}

export interface Transfer {
  bucket: number;
  from: string;
  to: string;
  role: string;
  items: number;
}

export interface StateDoc {
  atMs: number;
  me: string;
  mask: number;
  nodes: NodeRow[];
  /** Per bucket: its primary's and backup's index in nodes (-1: none). */
  primaries: number[];
  backups: number[];
  /** Buckets being transferred now. */
  moving: number[];
  transfers: Transfer[];
  history: { atMs: number; requestsPerSec: number; p99Ms: number | null }[];
  ready: { ok: boolean; reason: string };
  safe: { ok: boolean; reason: string };
}

/** What a node's stats document says that the dashboard shows. */
interface Figures {
  atMs: number;
  items: number;
  memoryBytes: number;
  requestsTotal: number;
  latencyCounts: number[];
  transfer: { bucket: number; to: string; role: string; items: number } | null;
  /** Rates from the previous figures of the same node. */
  requestsPerSec: number | null;
  p99Ms: number | null;
  deltaCounts: number[] | null;
}

export class ClusterWatch {
  private readonly figures = new Map<string, Figures>();
  private readonly asking = new Set<string>();
  private readonly history: StateDoc['history'] = [];

  constructor(private readonly v: HttpNodeView) {}

  /** Once a second while someone watches: asks every linked member for its stats, reads our own, adds a history point. */
  tick(): void {
    const now = this.v.clock.nowMs();
    this.take(this.v.me, this.v.statsDoc(), now);
    for (const m of this.v.members.dataMembers()) {
      const link = this.v.members.linkOf(m.addr);
      if (link === null || this.asking.has(m.addr)) continue;
      this.asking.add(m.addr);
      link.call(
        Cmd.stats,
        null,
        (reply, error) => {
          this.asking.delete(m.addr);
          if (reply === null || error !== null) return;
          try {
            this.take(m.addr, jsonReply.decode(new Reader(reply.payload)), this.v.clock.nowMs());
          } catch {
            // An older node answers stats on a node link with a failure: its figures stay unknown.
          }
        },
        STATS_CALL_TIMEOUT_MS,
      );
    }
    this.addHistoryPoint(now);
  }

  private take(addr: string, doc: unknown, now: number): void {
    const f = parseFigures(doc, now);
    if (f === null) return;
    const prev = this.figures.get(addr);
    if (prev !== undefined && f.requestsTotal >= prev.requestsTotal && now > prev.atMs) {
      const dtSec = (now - prev.atMs) / 1000;
      f.requestsPerSec = (f.requestsTotal - prev.requestsTotal) / dtSec;
      f.deltaCounts = f.latencyCounts.map((n, i) => Math.max(0, n - (prev.latencyCounts[i] ?? 0)));
      f.p99Ms = quantileMs(f.deltaCounts, 0.99);
    }
    this.figures.set(addr, f);
  }

  private addHistoryPoint(now: number): void {
    let rps = 0;
    const merged = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    for (const f of this.freshFigures(now)) {
      rps += f.requestsPerSec ?? 0;
      if (f.deltaCounts !== null) f.deltaCounts.forEach((n, i) => (merged[i]! += n));
    }
    const p99 = quantileMs(merged, 0.99);
    this.history.push({ atMs: this.v.clock.wallMs(), requestsPerSec: Math.round(rps), p99Ms: p99 === Infinity ? null : p99 });
    if (this.history.length > HISTORY_POINTS_MAX) this.history.shift();
  }

  private *freshFigures(now: number): Iterable<Figures> {
    for (const f of this.figures.values()) if (now - f.atMs <= STATS_STALE_MS) yield f;
  }

  /** The state document as the dashboard draws it. */
  state(): StateDoc {
    const v = this.v;
    const now = v.clock.nowMs();
    const rows: NodeRow[] = [this.row(v.me, v.leaving ? 'leaving' : 'alive', true, now)];
    for (const m of v.members.dataMembers()) {
      const state: NodeState = m.state === MemberState.leaving ? 'leaving' : m.link?.established === true ? 'alive' : 'connecting';
      rows.push(this.row(m.addr, state, false, now));
    }
    for (const addr of v.members.goneAddrs()) rows.push(this.row(addr, 'dead', false, now));
    rows.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
    const index = new Map(rows.map((r, i) => [r.addr, i]));
    const primaries: number[] = [];
    const backups: number[] = [];
    for (let b = 0; b < v.table.size; b++) {
      const e = v.table.get(b);
      primaries.push(e.primary === '' ? -1 : (index.get(e.primary) ?? addRow(rows, index, e.primary)));
      backups.push(e.backup === '' ? -1 : (index.get(e.backup) ?? addRow(rows, index, e.backup)));
      const pr = rows[primaries[b]!];
      if (pr !== undefined) pr.primaries++;
      const br = rows[backups[b]!];
      if (br !== undefined) br.backups++;
    }
    const transfers: Transfer[] = [];
    for (const [addr, f] of this.figures) {
      if (f.transfer !== null && now - f.atMs <= STATS_STALE_MS) transfers.push({ from: addr, ...f.transfer });
    }
    const ready = readiness(v);
    const safe = clusterSafety(v);
    return {
      atMs: v.clock.wallMs(),
      me: v.me,
      mask: v.table.mask,
      nodes: rows,
      primaries,
      backups,
      moving: [...new Set(transfers.map((t) => t.bucket))],
      transfers,
      history: this.history,
      ready: { ok: ready.ok, reason: ready.reason },
      safe: { ok: safe.ok, reason: safe.reason },
    };
  }

  private row(addr: string, state: NodeState, self: boolean, now: number): NodeRow {
    const f = this.figures.get(addr);
    const fresh = f !== undefined && state !== 'dead' && now - f.atMs <= STATS_STALE_MS;
    return {
      addr,
      state,
      self,
      primaries: 0,
      backups: 0,
      items: fresh ? f.items : null,
      memoryBytes: fresh ? f.memoryBytes : null,
      requestsPerSec: fresh ? f.requestsPerSec : null,
      p99Ms: fresh && f.p99Ms !== Infinity ? f.p99Ms : null,
    };
  }

  /** A signature of who is in the cluster and in what state: a change is pushed at once. */
  membershipKey(): string {
    const v = this.v;
    const parts = [v.leaving ? 'L' : 'A'];
    for (const m of v.members.dataMembers()) parts.push(`${m.addr}:${m.state}:${m.link?.established === true ? 1 : 0}`);
    for (const addr of v.members.goneAddrs()) parts.push(`${addr}:dead`);
    return parts.join(',');
  }
}

/** A node the table names that this node no longer lists (it forgot it): shown as dead. */
function addRow(rows: NodeRow[], index: Map<string, number>, addr: string): number {
  rows.push({ addr, state: 'dead', self: false, primaries: 0, backups: 0, items: null, memoryBytes: null, requestsPerSec: null, p99Ms: null });
  index.set(addr, rows.length - 1);
  return rows.length - 1;
}

function parseFigures(doc: unknown, now: number): Figures | null {
  if (typeof doc !== 'object' || doc === null) return null;
  const d = doc as Record<string, unknown>;
  const num = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  const mem = (d['memoryBytes'] ?? {}) as Record<string, unknown>;
  const req = (d['requests'] ?? {}) as Record<string, unknown>;
  const counts = Array.isArray(req['latencyCounts']) ? (req['latencyCounts'] as unknown[]).slice(0, LATENCY_BOUNDS_MS.length + 1).map(num) : [];
  const t = d['transfer'] as Record<string, unknown> | null | undefined;
  const transfer = t !== null && typeof t === 'object' ? { bucket: num(t['bucket']), to: String(t['to'] ?? ''), role: String(t['role'] ?? ''), items: num(t['items']) } : null;
  return {
    atMs: now,
    // Items this node holds as primary: the backup copies would count every key twice.
    items: num(((d['itemsByRole'] ?? {}) as Record<string, unknown>)['primary'] ?? d['items']),
    memoryBytes: num(mem['rss']),
    requestsTotal: num(req['total']),
    latencyCounts: counts,
    transfer,
    requestsPerSec: null,
    p99Ms: null,
    deltaCounts: null,
  };
}
