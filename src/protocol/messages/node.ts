// Codecs of node-to-node frames: the bucket table, copies and backup pushes, and the update stream
// of the logging node; the membership frames (hello, members, heartbeats, deaths, probes) are in
// membership.ts and re-exported here. Node-side strings are latin1 (raw bytes).
import { DecodeError, type Reader, type Writer } from '../codec.js';
import { readValue, writeValue, type Value } from '../values.js';

export * from './membership.js';

/** One bucket's owners. backup '' means none. */
export interface BucketEntry {
  hash: number;
  epoch: number;
  primary: string;
  backup: string;
}

export interface TableMsg {
  mask: number;
  entries: BucketEntry[];
}

/** table (reply 13) and table_sync (60): int mask, int count, count times (int hash, int epoch, string primary, string backup). */
export const table = {
  encode(w: Writer, m: TableMsg): void {
    w.u32AsInt(m.mask);
    w.i32(m.entries.length);
    for (const e of m.entries) {
      w.u32AsInt(e.hash);
      w.i32(e.epoch);
      w.strLatin1(e.primary);
      w.strLatin1(e.backup);
    }
  },
  decode(r: Reader): TableMsg {
    const mask = r.u32();
    const n = r.i32();
    if (n < 0 || n > mask + 1) throw new DecodeError(`table count ${n} out of range for mask ${mask}`);
    const entries: BucketEntry[] = [];
    for (let i = 0; i < n; i++) {
      entries.push({ hash: r.u32(), epoch: r.i32(), primary: r.strLatin1(), backup: r.strLatin1() });
    }
    r.done('table');
    return { mask, entries };
  },
};

/** bucket_owner (130), pushed to rich clients: int mask, int hash, int epoch, string primary, string backup. */
export const bucketOwner = {
  encode(w: Writer, mask: number, e: BucketEntry): void {
    w.u32AsInt(mask);
    w.u32AsInt(e.hash);
    w.i32(e.epoch);
    w.strLatin1(e.primary);
    w.strLatin1(e.backup);
  },
  decode(r: Reader): { mask: number; entry: BucketEntry } {
    const mask = r.u32();
    const entry = { hash: r.u32(), epoch: r.i32(), primary: r.strLatin1(), backup: r.strLatin1() };
    r.done('bucket_owner');
    return { mask, entry };
  },
};

/** widen_mask (62): int the new, wider mask. */
export const widenMask = {
  encode(w: Writer, mask: number): void {
    w.u32AsInt(mask);
  },
  decode(r: Reader): number {
    const m = r.u32();
    r.done('widen_mask');
    return m;
  },
};

export interface BucketRef {
  mask: number;
  hash: number;
}

export const CopyRole = { primary: 0, backup: 1 } as const;

export interface CopyBeginMsg extends BucketRef {
  epoch: number;
  role: number;
}

/** copy_begin (510): int mask, int hash, int epoch, int role (0: to become primary, 1: backup). */
export const copyBegin = {
  encode(w: Writer, m: CopyBeginMsg): void {
    w.u32AsInt(m.mask);
    w.u32AsInt(m.hash);
    w.i32(m.epoch);
    w.i32(m.role);
  },
  decode(r: Reader): CopyBeginMsg {
    const m = { mask: r.u32(), hash: r.u32(), epoch: r.i32(), role: r.i32() };
    r.done('copy_begin');
    return m;
  },
};

export interface Item {
  map: string;
  key: string;
  /** Absolute expiry, ms since the epoch; 0 = never. */
  expiresAtMs: number;
  value: Value;
  /** The item's version as the write's (epoch, seq) (server/versions.ts), where the frame carries it; 0 or absent: unknown. */
  vEpoch?: number;
  vSeq?: number;
}

export function writeItem(w: Writer, it: Item): void {
  w.strLatin1(it.map);
  w.strLatin1(it.key);
  w.i64n(it.expiresAtMs);
  writeValue(w, it.value);
}

export function readItem(r: Reader): Item {
  const map = r.strLatin1();
  const key = r.strLatin1();
  const expiresAtMs = r.i64n();
  const value = readValue(r);
  if (value === null) throw new DecodeError('item without a value');
  return { map, key, expiresAtMs, value };
}

export interface CopyItemsMsg extends BucketRef {
  items: Item[];
}

/**
 * copy_items (511): int mask, int hash, int count, count items (string map, string key, long
 * expires at ms, value), then count times (int epoch, long seq): each item's version (absent in
 * frames of nodes before versions: the items' versions are then unknown, 0).
 */
export const copyItems = {
  encode(w: Writer, m: CopyItemsMsg): void {
    w.u32AsInt(m.mask);
    w.u32AsInt(m.hash);
    w.i32(m.items.length);
    for (const it of m.items) writeItem(w, it);
    for (const it of m.items) {
      w.i32(it.vEpoch ?? 0);
      w.i64n(it.vSeq ?? 0);
    }
  },
  decode(r: Reader): CopyItemsMsg {
    const mask = r.u32();
    const hash = r.u32();
    const n = r.i32();
    if (n < 0 || n > 1_000_000) throw new DecodeError(`copy_items count ${n} out of range`);
    const items: Item[] = [];
    for (let i = 0; i < n; i++) items.push(readItem(r));
    if (r.remaining > 0) {
      for (const it of items) {
        it.vEpoch = r.i32();
        it.vSeq = r.i64n();
      }
    }
    r.done('copy_items');
    return { mask, hash, items };
  },
};

/** copy_abort (512) and backup_release (530): int mask, int hash. */
export const bucketRef = {
  encode(w: Writer, m: BucketRef): void {
    w.u32AsInt(m.mask);
    w.u32AsInt(m.hash);
  },
  decode(r: Reader): BucketRef {
    const m = { mask: r.u32(), hash: r.u32() };
    r.done('bucket');
    return m;
  },
};

export interface CopyFinaliseMsg extends BucketRef {
  epoch: number;
  seq: number;
  primary: string;
  backup: string;
}

/** copy_finalise (513): int mask, int hash, int new epoch, long seq, string primary, string backup. */
export const copyFinalise = {
  encode(w: Writer, m: CopyFinaliseMsg): void {
    w.u32AsInt(m.mask);
    w.u32AsInt(m.hash);
    w.i32(m.epoch);
    w.i64n(m.seq);
    w.strLatin1(m.primary);
    w.strLatin1(m.backup);
  },
  decode(r: Reader): CopyFinaliseMsg {
    const m = { mask: r.u32(), hash: r.u32(), epoch: r.i32(), seq: r.i64n(), primary: r.strLatin1(), backup: r.strLatin1() };
    r.done('copy_finalise');
    return m;
  },
};

export const UpdateOp = {
  set: 1,
  delete: 2,
  expired: 3,
  expire: 4,
  mapDelete: 5,
  /** The primary evicted the item to stay under --max-memory: applied like a delete. */
  evicted: 15,
} as const;

export type UpdateOpNumber = (typeof UpdateOp)[keyof typeof UpdateOp];

/** One change to a bucket's data, as pushed to a backup and streamed to a logger. */
export interface Update {
  op: UpdateOpNumber;
  map: string;
  key: string;
  /** set: the item's absolute expiry; expire: the new absolute expiry; 0 = never. */
  expiresAtMs: number;
  /** set only; null otherwise. */
  value: Value | null;
}

export function writeUpdate(w: Writer, u: Update): void {
  w.i32(u.op);
  w.strLatin1(u.map);
  w.strLatin1(u.key);
  w.i64n(u.expiresAtMs);
  writeValue(w, u.value);
}

export function readUpdate(r: Reader): Update {
  const op = r.i32();
  if ((op < UpdateOp.set || op > UpdateOp.mapDelete) && op !== UpdateOp.evicted) throw new DecodeError(`unknown update op ${op}`);
  const map = r.strLatin1();
  const key = r.strLatin1();
  const expiresAtMs = r.i64n();
  const value = readValue(r);
  if ((op === UpdateOp.set) !== (value !== null)) throw new DecodeError('update value does not match its op');
  return { op: op as UpdateOpNumber, map, key, expiresAtMs, value };
}

export interface SyncUpdateMsg extends BucketRef {
  epoch: number;
  seq: number;
  update: Update;
}

/** sync_update (520): int mask, int hash, int epoch, long seq, update (int op, string map, string key, long expires at ms, value). */
export const syncUpdate = {
  encode(w: Writer, m: SyncUpdateMsg): void {
    syncUpdateBody(w, m);
  },
  decode(r: Reader): SyncUpdateMsg {
    const mask = r.u32();
    const hash = r.u32();
    const epoch = r.i32();
    const seq = r.i64n();
    const update = readUpdate(r);
    r.done('sync_update');
    return { mask, hash, epoch, seq, update };
  },
};

/** log_batch (541): int count, count times (int mask, int hash, int epoch, long seq, update). */
export const logBatch = {
  encode(w: Writer, list: readonly SyncUpdateMsg[]): void {
    w.i32(list.length);
    for (const m of list) syncUpdateBody(w, m);
  },
  decode(r: Reader): SyncUpdateMsg[] {
    const n = r.i32();
    if (n < 0 || n > 1_000_000) throw new DecodeError(`log_batch count ${n} out of range`);
    const out: SyncUpdateMsg[] = [];
    for (let i = 0; i < n; i++) {
      const mask = r.u32();
      const hash = r.u32();
      const epoch = r.i32();
      const seq = r.i64n();
      out.push({ mask, hash, epoch, seq, update: readUpdate(r) });
    }
    r.done('log_batch');
    return out;
  },
};

function syncUpdateBody(w: Writer, m: SyncUpdateMsg): void {
  w.u32AsInt(m.mask);
  w.u32AsInt(m.hash);
  w.i32(m.epoch);
  w.i64n(m.seq);
  writeUpdate(w, m.update);
}

/** subscribe_updates (540) flags. */
export const SubscribeFlag = {
  /** Send a snapshot of every bucket this node is primary of first, and answer snapshot_request. */
  snapshots: 1,
} as const;

/** subscribe_updates (540): empty (no snapshots: the first version), or int flags. */
export const subscribeUpdates = {
  encode(w: Writer, flags: number): void {
    w.i32(flags);
  },
  decode(r: Reader): number {
    if (r.remaining === 0) return 0;
    const flags = r.i32();
    r.done('subscribe_updates');
    return flags;
  },
};

/** snapshot_request (542): int mask, int hash: a snapshot of that bucket from its primary. */
export const snapshotRequest = bucketRef;

export interface LogSnapshotMsg extends BucketRef {
  epoch: number;
  /** The bucket's seq at the snapshot: the logger continues the bucket's stream after it. */
  seq: number;
  /** Items of the whole snapshot, and the index of this part's first item. */
  total: number;
  offset: number;
  items: Item[];
}

/** log_snapshot (543): int mask, int hash, int epoch, long seq, int total, int offset, int count, count items. */
export const logSnapshot = {
  encode(w: Writer, m: LogSnapshotMsg): void {
    w.u32AsInt(m.mask);
    w.u32AsInt(m.hash);
    w.i32(m.epoch);
    w.i64n(m.seq);
    w.i32(m.total);
    w.i32(m.offset);
    w.i32(m.items.length);
    for (const it of m.items) writeItem(w, it);
  },
  decode(r: Reader): LogSnapshotMsg {
    const mask = r.u32();
    const hash = r.u32();
    const epoch = r.i32();
    const seq = r.i64n();
    const total = r.i32();
    const offset = r.i32();
    const n = r.i32();
    if (total < 0 || offset < 0 || n < 0 || n > 1_000_000 || offset + n > total) throw new DecodeError(`log_snapshot part ${offset}+${n} of ${total} out of range`);
    const items: Item[] = [];
    for (let i = 0; i < n; i++) items.push(readItem(r));
    r.done('log_snapshot');
    return { mask, hash, epoch, seq, total, offset, items };
  },
};
