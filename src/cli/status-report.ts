// The cluster status report: pure functions from node stats JSON and the client's bucket table to
// per-node rows, logging nodes, and a verdict (balanced / balancing / degraded), judged under the
// mask the nodes report (the cluster's), not the client's.
import { isValidMask } from '../shared/buckets.js';

export interface BucketTableView {
  mask: number;
  primaries: readonly string[];
  backups: readonly string[];
}

export interface TransferView {
  bucket: number;
  to: string;
  role: string;
}

export interface IncomingView {
  bucket: number;
  from: string;
}

export interface NodeRow {
  addr: string;
  /** alive | leaving | dead (declared dead lately, until the cluster forgets it), or connecting as another node sees it when this node sent no stats. */
  state: string;
  primary: number;
  backup: number;
  /** null when the client has no stats from this node (not connected). */
  items: number | null;
  /** Items in the buckets it holds as primary (the keys), and as backup (their copies); null: unknown. */
  itemsPrimary: number | null;
  itemsBackup: number | null;
  /** The bucket this node is sending away, if any. */
  transfer: TransferView | null;
  /** The bucket this node is receiving, if any. */
  incoming: IncomingView | null;
  /** false: the node answers retryLater for its buckets (no quorum, or a member is silent); null: unknown. */
  serving: boolean | null;
  /** false: the node hears at most half of the cluster; null: unknown. */
  quorum: boolean | null;
}

export interface LoggerRow {
  addr: string;
  state: string;
}

export type Verdict = 'balanced' | 'balancing' | 'degraded';

/** The exit code of `status` for each verdict (2 stays the usage or connection error). */
export const VERDICT_EXIT: Readonly<Record<Verdict, number>> = { balanced: 0, balancing: 1, degraded: 3 };

export interface StatusReport {
  nodes: NodeRow[];
  loggers: LoggerRow[];
  verdict: Verdict;
  /** Why the verdict is what it is, in a few words. */
  reason: string;
  mask: number;
  /** Keys held (primary items of every node), and their backup copies; null when some node sent no stats. */
  items: { primary: number; backup: number } | null;
}

interface Member {
  addr: string;
  role: string;
  state: string;
}

/** Bounds the members read from stats: no cluster has anywhere near this many. */
const MEMBERS_MAX = 4096;

export function buildStatus(stats: readonly unknown[], clientTable: BucketTableView): StatusReport {
  const own = stats.filter(isRecord).filter((s) => typeof s['addr'] === 'string');
  const table = onMask(clientTable, clusterMask(own) ?? clientTable.mask);
  const members = collectMembers(own);
  const nodes = dataAddresses(own, members).map((addr) => nodeRow(addr, own, members, table));
  const loggers = [...members.values()].filter((m) => m.role === 'logger').map((m) => ({ addr: m.addr, state: m.state }));
  loggers.sort((a, b) => a.addr.localeCompare(b.addr));
  const { verdict, reason } = judge(nodes, table);
  return { nodes, loggers, verdict, reason, mask: table.mask, items: totalItems(nodes) };
}

/**
 * The cluster's mask as the nodes report it (stats buckets.mask); during a widening some nodes may
 * still report the old one: the widest wins. null when no node reported one.
 */
function clusterMask(own: Record<string, unknown>[]): number | null {
  let mask: number | null = null;
  for (const s of own) {
    const m = isRecord(s['buckets']) ? num(s['buckets']['mask']) : null;
    if (m !== null && isValidMask(m) && (mask === null || m > mask)) mask = m;
  }
  return mask;
}

/**
 * The client's table seen under the cluster's mask. The client starts at the default mask and only
 * widens, so under a narrower cluster mask its entry i repeats entry i & mask; under a wider one
 * (a widening it has not heard of yet) bucket i is still served where i & its mask is.
 */
function onMask(table: BucketTableView, mask: number): BucketTableView {
  if (mask === table.mask) return table;
  const at = (list: readonly string[], i: number): string => list[i & table.mask] ?? '';
  return {
    mask,
    primaries: Array.from({ length: mask + 1 }, (_, i) => at(table.primaries, i)),
    backups: Array.from({ length: mask + 1 }, (_, i) => at(table.backups, i)),
  };
}

/** Every member any node reported, and every node itself, by address (a node's own view wins). */
function collectMembers(own: Record<string, unknown>[]): Map<string, Member> {
  const members = new Map<string, Member>();
  for (const s of own) {
    const list = Array.isArray(s['members']) ? s['members'].slice(0, MEMBERS_MAX) : [];
    for (const m of list) {
      const member = toMember(m);
      if (member !== null && !members.has(member.addr)) members.set(member.addr, member);
    }
  }
  for (const s of own) {
    const dead = Array.isArray(s['dead']) ? s['dead'].slice(0, MEMBERS_MAX) : [];
    for (const d of dead) {
      if (isRecord(d) && typeof d['addr'] === 'string' && !members.has(d['addr'])) members.set(d['addr'], { addr: d['addr'], role: 'data', state: 'dead' });
    }
  }
  for (const s of own) {
    members.set(String(s['addr']), { addr: String(s['addr']), role: str(s['role'], 'data'), state: str(s['state'], 'alive') });
  }
  return members;
}

function toMember(m: unknown): Member | null {
  if (!isRecord(m) || typeof m['addr'] !== 'string') return null;
  return { addr: m['addr'], role: str(m['role'], 'data'), state: str(m['state'], 'alive') };
}

function dataAddresses(own: Record<string, unknown>[], members: Map<string, Member>): string[] {
  const addrs = new Set<string>();
  for (const m of members.values()) if (m.role !== 'logger') addrs.add(m.addr);
  for (const s of own) if (str(s['role'], 'data') !== 'logger') addrs.add(String(s['addr']));
  return [...addrs].sort();
}

function nodeRow(addr: string, own: Record<string, unknown>[], members: Map<string, Member>, table: BucketTableView): NodeRow {
  const s = own.find((x) => x['addr'] === addr);
  const buckets = s !== undefined && isRecord(s['buckets']) ? s['buckets'] : {};
  return {
    addr,
    state: members.get(addr)?.state ?? 'alive',
    primary: num(buckets['primary']) ?? countOf(table.primaries, addr),
    backup: num(buckets['backup']) ?? countOf(table.backups, addr),
    items: s === undefined ? null : num(s['items']),
    itemsPrimary: s === undefined || !isRecord(s['itemsByRole']) ? null : num(s['itemsByRole']['primary']),
    itemsBackup: s === undefined || !isRecord(s['itemsByRole']) ? null : num(s['itemsByRole']['backup']),
    transfer: s === undefined ? null : toTransfer(s['transfer']),
    incoming: s === undefined ? null : toIncoming(s['incoming']),
    serving: s === undefined || typeof s['serving'] !== 'boolean' ? null : s['serving'],
    quorum: s === undefined || typeof s['quorum'] !== 'boolean' ? null : s['quorum'],
  };
}

function totalItems(nodes: readonly NodeRow[]): { primary: number; backup: number } | null {
  const live = nodes.filter((n) => n.state !== 'dead');
  if (live.some((n) => n.itemsPrimary === null || n.itemsBackup === null)) return null;
  return { primary: live.reduce((a, n) => a + n.itemsPrimary!, 0), backup: live.reduce((a, n) => a + n.itemsBackup!, 0) };
}

function toTransfer(t: unknown): TransferView | null {
  if (!isRecord(t)) return null;
  return { bucket: num(t['bucket']) ?? -1, to: str(t['to'], '?'), role: str(t['role'], 'primary') };
}

function toIncoming(t: unknown): IncomingView | null {
  if (!isRecord(t)) return null;
  return { bucket: num(t['bucket']) ?? -1, from: str(t['from'], '?') };
}

/** The verdict over the bucket table and the node rows. */
export function judge(all: readonly NodeRow[], table: BucketTableView): { verdict: Verdict; reason: string } {
  // A dead node is shown, but counts for nothing once its buckets are taken over.
  const dead = new Set(all.filter((n) => n.state === 'dead').map((n) => n.addr));
  const nodes = all.filter((n) => !dead.has(n.addr));
  const alive = nodes.filter((n) => n.state === 'alive');
  const dataNodes = Math.max(nodes.filter((n) => n.state !== 'leaving').length, 1);
  const onDead = table.primaries.filter((p) => dead.has(p)).length;
  if (onDead > 0) return { verdict: 'degraded', reason: `${onDead} bucket(s) with a dead primary, not yet taken over` };
  const noQuorum = nodes.filter((n) => n.quorum === false);
  if (noQuorum.length > 0) return { verdict: 'degraded', reason: `no quorum on ${noQuorum.map((n) => n.addr).join(', ')}: it hears at most half of the cluster and serves nothing` };
  const noPrimary = table.primaries.filter((p) => p === '').length;
  if (noPrimary > 0) return { verdict: 'degraded', reason: `${noPrimary} bucket(s) without a primary` };
  const stalled = nodes.filter((n) => n.serving === false);
  if (stalled.length > 0) return { verdict: 'degraded', reason: `not serving on ${stalled.map((n) => n.addr).join(', ')}: a member is silent` };
  const noBackup = table.backups.filter((b, i) => b === '' || b === table.primaries[i] || dead.has(b)).length;
  if (dataNodes >= 2 && noBackup > 0) return { verdict: 'degraded', reason: `${noBackup} bucket(s) without a backup` };
  const moving = nodes.filter((n) => n.transfer !== null || n.incoming !== null).length;
  if (moving > 0) return { verdict: 'balancing', reason: `${moving} node(s) transferring a bucket` };
  const notAlive = nodes.filter((n) => n.state !== 'alive');
  if (notAlive.length > 0) return { verdict: 'balancing', reason: `${notAlive.map((n) => `${n.addr} ${n.state}`).join(', ')}` };
  const fair = (table.mask + 1) / dataNodes;
  const off = alive.filter((n) => Math.abs(n.primary - fair) > 1 || (dataNodes >= 2 && Math.abs(n.backup - fair) > 1));
  if (off.length > 0) return { verdict: 'balancing', reason: `${off.length} node(s) not within one of ${fair.toFixed(1)} buckets` };
  return { verdict: 'balanced', reason: `every bucket has a primary${dataNodes >= 2 ? ' and a backup' : ''}, counts even` };
}

function countOf(list: readonly string[], addr: string): number {
  let n = 0;
  for (const x of list) if (x === addr) n++;
  return n;
}

function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return null;
}

function str(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v : fallback;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
