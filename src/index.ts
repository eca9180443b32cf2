// The package's public surface: `import { Cluster } from 'opencluster'`.
export { Cluster, ClusterMap } from './client/cluster.js';
export * from './client/errors.js';
export type { NodeStats } from './client/cluster.js';
export type { ClusterEvents } from './client/topology.js';
export type { ClusterOptions, ClusterLogger } from './client/options.js';
export type { SetOptions } from './client/ops.js';
export type { ConditionalSetOptions, DeleteOptions, IncrOptions, Versioned } from './client/atomic-ops.js';
export type { MsetEntries, MsetOptions } from './client/batch-ops.js';
export type { ScanOptions } from './client/scan.js';
export type { ClusterValue, ClusterValueInput } from './client/values.js';
export type { BucketChange, BucketTableSnapshot } from './client/bucket-table.js';
