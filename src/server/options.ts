// The node's options, each beside its default.
import { join } from 'node:path';
import * as L from '../shared/limits.js';
import { DEFAULT_MASK } from '../shared/buckets.js';
import type { User } from './users.js';
import type { TlsMaterial } from '../net/tls-material.js';
import type { EvictionPolicy } from './memory-limit.js';

export interface ServerOptions {
  /** host:port to bind exactly; port 0 picks a free port (the node is then known by the real one). */
  listen: string;
  /** Nodes of the cluster to join, tried in order; none: start a cluster alone. */
  nodes: string[];
  maxConnections: number;
  maxFrameBytes: number;
  logLevel: string;
  logFile: string | undefined;
  /** 'pretty': one readable line per entry (pino-pretty); 'json': one JSON object per line. */
  logFormat: 'pretty' | 'json';
  dataDir: string;
  /** Save file path; default <dataDir>/opencluster.save. */
  savefile: string;
  /** Start even when the save file cannot be read (it is left untouched). */
  ignoreBadSavefile: boolean;
  heartbeatIntervalMs: number;
  deadAfterMs: number;
  balanceIntervalMs: number;
  /** A bucket with no live copy waits ownerless this long for one to come back, then is taken over empty. */
  lostBucketGraceMs: number;
  /** Bound on the whole hand-over at shutdown. */
  shutdownTimeoutMs: number;
  /** Bucket mask of a new cluster; a joining node takes the cluster's mask instead. */
  mask: number;
  /** The mask was given (--mask): a joining node warns once when the cluster's differs. */
  maskGiven: boolean;
  /** Widen the mask when fewer than this many buckets per node would remain. */
  minBucketsPerNode: number;
  /**
   * 'majority': a silent member is declared dead only while this node hears a majority of the
   * cluster (with three or more nodes), so a cut-off minority stops instead of taking over.
   * 'off': any node declares silent members dead (two sides of a partition both go on).
   */
  quorum: 'majority' | 'off';
  /** The address given to peers and clients (NAT, containers, a wildcard listen); default: the bound one. */
  advertise: string | undefined;
  /** The cluster secret every member proves before any node command (node_auth). */
  clusterSecret: Buffer;
  /** Listening beyond loopback without users is allowed only with this (a trusted network). */
  insecure: boolean;
  /** Unproven and client connections from one address at once; 0: no bound. */
  maxConnectionsPerIp: number;
  /** A connection that has not finished its hello (or login, or node proof) within this is closed. */
  handshakeTimeoutMs: number;
  /** A hello (original protocol) client that leaves a push unacknowledged this long, with pushes waiting, is closed. */
  pushAckTimeoutMs: number;
  /** A frame not whole within this time of its first byte closes its connection. */
  frameTimeoutMs: number;
  /** Bytes of unfinished frames of all client connections together; past it the largest holders are closed. */
  pendingFrameBytesMax: number;
  /** The users of --users-file: every client logs in (auth) and is held to its role; null: no logins. */
  users: ReadonlyMap<string, User> | null;
  /** With users: 'allow' lets legacy (hello-only) clients use the legacy data commands; 'refuse' closes them. */
  legacyClients: 'allow' | 'refuse';
  /** Set: clients and nodes connect over TLS; node links are mutual (see docs/protocol.md, TLS). */
  tls: TlsMaterial | undefined;
  /** 'require': a client whose certificate does not verify against the CA is closed at once. */
  tlsClientAuth: 'none' | 'require';
  /** The HTTP side door (metrics, health, dashboard; http/server.ts); null: off. */
  http: HttpSideDoorOptions | null;
  /** Bound on the node's memory (memory-limit.ts says what counts); 0: none, the heap grows until the process fails. */
  maxMemoryBytes: number;
  /** What a write past maxMemoryBytes does: refused (noeviction) or evicts (memory-limit.ts). */
  eviction: EvictionPolicy;
}

export interface HttpSideDoorOptions {
  host: string;
  port: number;
  /** With users: /metrics and /health/* answer without a login (the dashboard still asks for an admin). */
  openMetrics: boolean;
}

export function defaultServerOptions(): ServerOptions {
  const dataDir = './data';
  return {
    listen: L.DEFAULT_LISTEN,
    nodes: [],
    maxConnections: L.DEFAULT_MAX_CONNECTIONS,
    maxFrameBytes: L.DEFAULT_MAX_FRAME_BYTES,
    logLevel: 'info',
    logFile: undefined,
    logFormat: 'json',
    dataDir,
    savefile: join(dataDir, 'opencluster.save'),
    ignoreBadSavefile: false,
    heartbeatIntervalMs: L.DEFAULT_HEARTBEAT_INTERVAL_MS,
    deadAfterMs: L.DEFAULT_DEAD_AFTER_MS,
    balanceIntervalMs: L.DEFAULT_BALANCE_INTERVAL_MS,
    lostBucketGraceMs: L.DEFAULT_LOST_BUCKET_GRACE_MS,
    shutdownTimeoutMs: 30_000,
    mask: DEFAULT_MASK,
    maskGiven: false,
    minBucketsPerNode: 4,
    quorum: 'majority',
    advertise: undefined,
    clusterSecret: Buffer.alloc(0),
    insecure: false,
    maxConnectionsPerIp: 0,
    handshakeTimeoutMs: L.DEFAULT_HANDSHAKE_TIMEOUT_MS,
    pushAckTimeoutMs: L.DEFAULT_PUSH_ACK_TIMEOUT_MS,
    frameTimeoutMs: L.DEFAULT_FRAME_TIMEOUT_MS,
    pendingFrameBytesMax: L.DEFAULT_PENDING_FRAME_BYTES_MAX,
    users: null,
    legacyClients: 'refuse',
    tls: undefined,
    tlsClientAuth: 'none',
    http: null,
    maxMemoryBytes: 0,
    eviction: 'noeviction',
  };
}
