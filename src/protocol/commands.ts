// Command and reply numbers: the fixed ones of shared/PROTOCOL.md and the project's own.
// Every number here is documented in docs/protocol.md.

/** Replies (header bytes 0-1 of a reply). */
export const Reply = {
  ack: 1,
  fail: 2,
  failinfo: 3,
  tryelsewhere: 4,
  value: 5,
  bool: 6,
  long: 7,
  strings: 8,
  unknown: 9,
  entries: 11,
  json: 12,
  // batches and scan (issue 11 B)
  batch: 25,
  scanPage: 26,
  table: 13,
  heartbeat: 14,
  nodeChallenge: 15,
  // issue 11 part A: an item's value with its version
  versioned: 20,
  dataInt: 2105,
  dataString: 2125,
} as const;

/** Commands (header bytes 0-1 of a command; bytes 2-3 are 0). */
export const Cmd = {
  // legacy, fixed by PROTOCOL.md
  hello: 10,
  goodbye: 20,
  ping: 30,
  serverInfo: 100,
  hashmask: 120,
  setInt: 2000,
  setString: 2020,
  getInt: 2100,
  getString: 2120,
  // client hello with richer pushes, capabilities, stats, table
  clientHello: 11,
  capabilities: 31,
  // a client's login (with --users-file)
  auth: 33,
  stats: 32,
  getTable: 40,
  // pushes to clients that said clientHello
  serverGone: 110,
  serverLeaving: 115,
  bucketOwner: 130,
  // data commands naming items by full name
  set: 2200,
  get: 2201,
  del: 2202,
  exists: 2203,
  expire: 2204,
  ttl: 2205,
  mapGetAll: 2210,
  mapKeys: 2211,
  mapCount: 2212,
  mapDelete: 2213,
  // atomic single-key commands, conditional writes and versions (issue 11 part A: 2220-2239)
  incr: 2220,
  setIf: 2221,
  getAndSet: 2222,
  getAndDelete: 2223,
  getWithVersion: 2224,
  deleteIf: 2225,
  // batches and scan (issue 11 B): per-key answers in input order
  mget: 2240,
  mset: 2241,
  mdelete: 2242,
  scan: 2243,
  // node to node
  shuttingDown: 15,
  serverHello: 50,
  members: 51,
  heartbeat: 52,
  memberGone: 53,
  probe: 54,
  // node authentication: proves the cluster secret before any node command
  nodeAuth: 56,
  nodeProof: 57,
  tableSync: 60,
  widenMask: 62,
  copyBegin: 510,
  copyItems: 511,
  copyAbort: 512,
  copyFinalise: 513,
  syncUpdate: 520,
  backupRelease: 530,
  subscribeUpdates: 540,
  logBatch: 541,
  snapshotRequest: 542,
  logSnapshot: 543,
} as const;

export type CmdNumber = (typeof Cmd)[keyof typeof Cmd];

/** failinfo error codes. */
export const ErrorCode = {
  notFound: 1,
  wrongType: 2,
  badRequest: 3,
  tooLarge: 4,
  retryLater: 5,
  shuttingDown: 6,
  staleEpoch: 7,
  backupFailed: 8,
  busy: 9,
  declaredDead: 10,
  notMember: 11,
  internal: 12,
  noOwner: 13,
  overloaded: 14,
  seqGap: 15,
  authFailed: 16,
  notAllowed: 17,
  /** server_hello of a joiner refused by the higher node of a two-node cluster: join through the address in the message. */
  joinThrough: 18,
  // issue 11 part A (20-23)
  versionMismatch: 20,
  overflow: 21,
  // batches and scan (issue 11 B)
  /** Per key of a batch: not done because the reply reached its size bound; send it again. */
  batchFull: 24,
  /** scan: the node's bucket mask is wider than the request's; split the bucket and go on. */
  maskChanged: 25,
  // issue 11, part C (memory limit): 26-27
  /** A write past the node's --max-memory with --eviction noeviction (or nothing left to evict). */
  outOfMemory: 26,
} as const;

export type ErrorCodeNumber = (typeof ErrorCode)[keyof typeof ErrorCode];

export function errorCodeName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) if (value === code) return name;
  return `code${code}`;
}

/** Features a client announces in clientHello (bit flags). */
export const Feature = {
  richPushes: 1,
  goodbyePush: 2,
  /** The client matches replies by request id: the node may write each reply once it is ready, out of request order. */
  unorderedReplies: 4,
} as const;

/** Flags of the data commands. */
export const WriteFlag = {
  fullWait: 1,
} as const;

export const PROTOCOL_VERSION = 1;
