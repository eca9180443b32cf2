// Test helper: several real nodes joined into one cluster, and checks of the goal state.
import { Cluster } from '../../src/index.js';
import { startNode, waitFor, type NodeProcess, type StartOptions } from './nodes.js';

export async function startCluster(count: number, opts: StartOptions = {}): Promise<NodeProcess[]> {
  const first = await startNode(opts);
  const nodes = [first];
  for (let i = 1; i < count; i++) {
    const n = await startNode({ ...opts, nodes: [first.addr] });
    await n.waitForLog((l) => l['msg'] === 'ready');
    nodes.push(n);
  }
  return nodes;
}

export interface NodeView {
  addr: string;
  primaries: number;
  backups: number;
  transfer: unknown;
  items: number;
  members: { addr: string; role: string; state: string }[];
}

/** Asks every node for its stats through a short-lived client. */
export async function viewOf(addrs: string[]): Promise<NodeView[]> {
  const out: NodeView[] = [];
  for (const addr of addrs) {
    const c = new Cluster({ seeds: [addr], requestTimeoutMs: 2000 });
    try {
      await c.connect();
      const all = await c.stats();
      const s = all.find((x) => x['addr'] === addr) as Record<string, unknown> | undefined;
      if (s === undefined) throw new Error(`no stats from ${addr}`);
      const buckets = s['buckets'] as { primary: number; backup: number };
      out.push({
        addr,
        primaries: buckets.primary,
        backups: buckets.backup,
        transfer: s['transfer'],
        items: s['items'] as number,
        members: s['members'] as NodeView['members'],
      });
    } finally {
      await c.close();
    }
  }
  return out;
}

/**
 * The goal state: every bucket has a primary and a backup on two different nodes (with 2+ nodes),
 * and each node's primary and backup counts are within one of buckets/N; no transfer running.
 */
export async function inGoalState(addrs: string[], buckets = 256): Promise<boolean> {
  const views = await viewOf(addrs);
  const n = addrs.length;
  const lo = Math.floor(buckets / n);
  const hi = Math.ceil(buckets / n);
  let primaries = 0;
  let backups = 0;
  for (const v of views) {
    if (v.transfer !== null) return false;
    if (v.primaries < lo || v.primaries > hi) return false;
    if (n > 1 && (v.backups < lo || v.backups > hi)) return false;
    primaries += v.primaries;
    backups += v.backups;
  }
  return primaries === buckets && (n === 1 || backups === buckets);
}

export async function waitForGoalState(addrs: string[], timeoutMs = 30000): Promise<void> {
  await waitFor(`goal state of ${addrs.join(', ')}`, async () => ((await inGoalState(addrs)) ? true : undefined), timeoutMs, 250);
}
