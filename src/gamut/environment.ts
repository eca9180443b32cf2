// What a gamut run measured: the cluster (node count, the versions its nodes report) and the
// machine gamut ran on (CPU model, cores, Node version, OS, memory), for the report.
import { cpus, platform, release, totalmem } from 'node:os';
import type { Cluster } from '../index.js';

export interface ClusterFacts {
  nodes: number;
  /** Each version the nodes report, with how many report it; empty when stats were refused (not admin). */
  versions: { version: string; nodes: number }[];
}

export interface MachineFacts {
  cpu: string;
  cores: number;
  node: string;
  os: string;
  memoryGb: number;
}

export function machineFacts(): MachineFacts {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    node: process.version,
    os: `${platform()} ${release()}`,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** The cluster as the control client sees it; the versions need stats (role admin with users). */
export async function clusterFacts(cluster: Cluster): Promise<ClusterFacts> {
  const nodes = cluster.nodes().length;
  let stats: unknown[] = [];
  try {
    stats = await cluster.stats();
  } catch {
    // stats refused (a user without role admin) or a node gone: versions unknown
  }
  const counts = new Map<string, number>();
  for (const s of stats) {
    const v = typeof s === 'object' && s !== null && typeof (s as { version?: unknown }).version === 'string' ? (s as { version: string }).version : 'unknown';
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return { nodes, versions: [...counts].map(([version, n]) => ({ version, nodes: n })) };
}
