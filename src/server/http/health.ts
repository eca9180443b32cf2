// The health verdicts of the HTTP side door, one home each: live (the process answers), ready (this
// node serves its buckets now) and cluster-safe (every bucket has a primary and a backup, nothing moves).
import { MemberState } from '../../protocol/messages/node.js';
import type { HttpNodeView } from './view.js';

export interface Verdict {
  ok: boolean;
  /** Why not (or what holds when ok), for people: `leaving`, `no quorum`, ... */
  reason: string;
  [detail: string]: unknown;
}

/** 200 only while the node serves: joined, lease held, quorum heard, not leaving or rejoining. */
export function readiness(v: HttpNodeView): Verdict {
  if (v.leaving || v.stopped) return { ok: false, reason: 'leaving' };
  if (v.rejoining) return { ok: false, reason: 'rejoining the cluster as a new member' };
  if (v.table.blank) return { ok: false, reason: 'not joined to a cluster yet' };
  if (!v.members.hasQuorum(v.clock.nowMs())) return { ok: false, reason: 'no quorum: this node does not hear a majority of the cluster' };
  if (!v.members.leaseValid()) return { ok: false, reason: 'no write lease: a member is silent' };
  return { ok: true, reason: 'serving' };
}

/** 200 only when every bucket has a primary and a backup and no bucket moves anywhere. */
export function clusterSafety(v: HttpNodeView): Verdict {
  if (v.table.blank) return { ok: false, reason: 'not joined to a cluster yet' };
  let noPrimary = 0;
  let noBackup = 0;
  for (let b = 0; b < v.table.size; b++) {
    const e = v.table.get(b);
    if (e.primary === '') noPrimary++;
    else if (e.backup === '') noBackup++;
  }
  if (noPrimary > 0) return { ok: false, reason: `${noPrimary} bucket(s) without a primary`, bucketsWithoutPrimary: noPrimary };
  if (noBackup > 0) return { ok: false, reason: `${noBackup} bucket(s) without a backup`, bucketsWithoutBackup: noBackup };
  if (v.migration.busy || v.migration.incoming !== null) return { ok: false, reason: 'a bucket is moving (this node)' };
  for (const m of v.members.dataMembers()) {
    if (m.transferring > 0) return { ok: false, reason: `a bucket is moving (${m.addr})` };
    if (m.state === MemberState.leaving) return { ok: false, reason: `${m.addr} is leaving` };
  }
  if (v.leaving) return { ok: false, reason: 'this node is leaving' };
  return { ok: true, reason: 'every bucket has a primary and a backup; nothing moves' };
}
