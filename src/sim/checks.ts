// The cluster-wide invariants a simulated run checks once the network is whole again: every node
// has the same member list (each member once) and the same bucket table, every bucket has a running
// primary (and a running backup on another node with 2+ nodes), no bucket is being moved, and no
// backup push or full-wait write is under way.
import type { ClusterNode } from '../server/node.js';

/** What keeps the running nodes from being one settled cluster, or null when nothing does. */
export function wholeProblem(nodes: readonly ClusterNode[]): string | null {
  const first = nodes[0];
  if (first === undefined) return 'no node runs';
  const running = new Set(nodes.map((n) => n.me));
  const members = (n: ClusterNode): string =>
    n.members
      .memberList()
      .map((m) => `${m.addr}#${m.incarnation}/${m.state}`)
      .sort()
      .join(',');
  const wantMembers = members(first);
  const wantTable = JSON.stringify(first.table.toEntries());
  for (const n of nodes) {
    const list = n.members.memberList().map((m) => m.addr);
    if (new Set(list).size !== list.length) return `${n.me} lists a member twice: ${list.join(',')}`;
    for (const a of list) if (!running.has(a)) return `${n.me} lists ${a}, which does not run`;
    if (list.length !== nodes.length) return `${n.me} lists ${list.length} members, ${nodes.length} run`;
    const m = members(n);
    if (m !== wantMembers) return `member lists differ: ${first.me} has ${wantMembers}, ${n.me} has ${m}`;
    if (n.migration.busy || n.migration.incoming !== null) return `${n.me} is moving a bucket`;
    if (!n.repl.quiet) return `${n.me} has backup pushes or full-wait writes under way`;
    if (JSON.stringify(n.table.toEntries()) !== wantTable) return `bucket tables differ between ${first.me} and ${n.me}`;
  }
  for (const e of first.table.toEntries()) {
    if (!running.has(e.primary)) return `bucket ${e.hash} has no running primary (${e.primary || 'none'})`;
    if (nodes.length >= 2 && (!running.has(e.backup) || e.backup === e.primary)) return `bucket ${e.hash} has no running backup (${e.backup || 'none'})`;
  }
  return null;
}
