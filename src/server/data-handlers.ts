// Client commands on the node: decode, decide who owns the bucket, apply to the store, publish the
// change to backup and loggers, reply (in order). Who serves a bucket is routing.ts's decision,
// asked once per request in served().
import type { Frame } from '../protocol/header.js';
import { DecodeError, type Reader } from '../protocol/codec.js';
import { payloadReader } from '../net/framer.js';
import { Cmd, ErrorCode, Reply, WriteFlag } from '../protocol/commands.js';
import { ValueType, valueTypeName, type Value } from '../protocol/values.js';
import * as data from '../protocol/messages/data.js';
import * as legacy from '../protocol/messages/legacy.js';
import { UpdateOp, type Update } from '../protocol/messages/node.js';
import { legacyMapName, mapRouteHashLatin1, fnv1aLatin1, fnv1aSignedCharLatin1, legacyKeyMapName, isLegacyKeyMap } from '../shared/fnv.js';
import type { ClientSession } from './client-session.js';
import type { Connection } from '../net/connection.js';
import type { Logger } from './log.js';
import type { Clock } from '../shared/clock.js';
import type { NodeStats } from './node-stats.js';
import type { Replication } from './replication.js';
import { decideRoute, replyNotServed, type RouteOp, type RouteView } from './routing.js';
import { itemCostBytes, type ItemInput, type Store, type StoredItem } from './store.js';
import type { MemoryLimit } from './memory-limit.js';
import { outcomeOfError } from './request-meter.js';

/** What the data handlers need of the node. */
export interface DataHost {
  readonly clock: Clock;
  readonly store: Store;
  readonly stats: NodeStats;
  readonly repl: Pick<Replication, 'publish' | 'hasBackup'>;
  readonly routeView: RouteView;
  readonly log: Logger;
  /** Told of every item found expired on a read (the primary publishes the expiry). */
  readonly onExpired: (b: number, map: string, key: string) => void;
  /** --max-memory: whether a write that adds an item fits (evicting first), memory-limit.ts. */
  readonly memory: Pick<MemoryLimit, 'admit'>;
}

const MAX_EXPIRES_SEC = 0x7fffffff;

export function handleClientCommand(node: DataHost, s: ClientSession, frame: Frame): void {
  try {
    dispatch(node, s, frame, payloadReader(frame));
  } catch (error) {
    answerDecodeError(node, s, frame, error);
  }
}

/** Runs a command's handler on its payload; a payload that does not decode is answered badRequest. */
export function answerBadInput(node: Pick<DataHost, 'stats' | 'log'>, s: ClientSession, frame: Frame, handle: (r: Reader) => void): void {
  try {
    handle(payloadReader(frame));
  } catch (error) {
    answerDecodeError(node, s, frame, error);
  }
}

/** A payload that did not decode is answered badRequest; any other error goes on up. */
export function answerDecodeError(node: Pick<DataHost, 'stats' | 'log'>, s: ClientSession, frame: Frame, error: unknown): void {
  if (error instanceof DecodeError || error instanceof RangeError) {
    node.stats.badRequests++;
    node.log.debug({ client: s.conn.remote, command: frame.command, err: error.message }, 'bad request');
    s.failinfo(frame, ErrorCode.badRequest, `command ${frame.command}: ${error.message}`);
    return;
  }
  throw error;
}

function dispatch(node: DataHost, s: ClientSession, frame: Frame, r: Reader): void {
  switch (frame.command) {
    case Cmd.set:
      return onSet(node, s, frame, data.set.decode(r, 'latin1'));
    case Cmd.get:
      return onGet(node, s, frame, data.get.decode(r, 'latin1'));
    case Cmd.del:
      return onDelete(node, s, frame, data.del.decode(r, 'latin1'));
    case Cmd.exists:
      return onExists(node, s, frame, data.keyOnly.decode(r, 'latin1'));
    case Cmd.expire:
      return onExpire(node, s, frame, data.expire.decode(r, 'latin1'));
    case Cmd.ttl:
      return onTtl(node, s, frame, data.keyOnly.decode(r, 'latin1'));
    case Cmd.mapGetAll:
    case Cmd.mapKeys:
    case Cmd.mapCount:
      return onMapRead(node, s, frame, data.mapOnly.decode(r, 'latin1'));
    case Cmd.mapDelete:
      return onMapDelete(node, s, frame, data.mapDelete.decode(r, 'latin1'));
    case Cmd.setInt: {
      const m = legacy.setInt.decode(r);
      return onLegacySet(node, s, frame, m, { t: 1, v: m.value });
    }
    case Cmd.setString: {
      const m = legacy.setString.decode(r);
      return onLegacySet(node, s, frame, m, { t: 3, v: m.value });
    }
    case Cmd.getInt:
    case Cmd.getString:
      return onLegacyGet(node, s, frame, legacy.legacyGet.decode(r));
    default:
      node.stats.unknownCommands++;
      s.send(frame, Reply.unknown, (w) => legacy.unknown.encode(w, frame.command));
  }
}

export function writeOp(flags: number): RouteOp {
  return (flags & WriteFlag.fullWait) !== 0 ? 'durableWrite' : 'write';
}

/** Whether this node serves bucket b for the request now; if not, the request is answered here. */
export function served(node: DataHost, s: ClientSession, frame: Frame, b: number, op: RouteOp): boolean {
  const d = decideRoute(node.routeView, b, op);
  if (d.kind === 'serve') return true;
  replyNotServed(node.stats, s, frame, b, d);
  return false;
}

export function expiresAt(node: DataHost, s: ClientSession, frame: Frame, expiresSec: number): number | undefined {
  if (expiresSec < 0 || expiresSec > MAX_EXPIRES_SEC) {
    s.failinfo(frame, ErrorCode.badRequest, `expires must be 0..${MAX_EXPIRES_SEC} seconds, got ${expiresSec}`);
    node.stats.badRequests++;
    return undefined;
  }
  return expiresSec === 0 ? 0 : node.clock.wallMs() + expiresSec * 1000;
}

/** A write that adds this item past --max-memory is answered outOfMemory here (nothing is applied). */
export function refusedForMemory(node: DataHost, s: ClientSession, frame: Frame, key: string, value: Value): boolean {
  if (admitsItem(node, key, value)) return false;
  s.failinfo(frame, ErrorCode.outOfMemory, OUT_OF_MEMORY_WHY);
  return true;
}

export const OUT_OF_MEMORY_WHY = 'out of memory: the node is at its --max-memory limit and its eviction policy frees nothing for this write';

/** Whether an item of `key` and `value` fits under --max-memory (evicting first, as the policy says). */
export function admitsItem(node: DataHost, key: string, value: Value): boolean {
  return node.memory.admit(itemCostBytes(key, value), node.clock.wallMs());
}

/**
 * The item a write to bucket b stores, with the version it gets (versions.ts): the bucket's epoch
 * and the seq publish() gives the write. Make it after every read that may expire an item (that
 * publishes too), right before the write is published.
 */
export function newItem(node: DataHost, b: number, value: Value, expiresAtMs: number): ItemInput {
  return { value, expiresAtMs, vEpoch: node.routeView.owners(b).epoch, vSeq: (node.store.bucket(b)?.seq ?? 0) + 1 };
}

/**
 * Publishes a change to backup and loggers, then replies: at once, or after the backup's ack.
 * A write that is not safe to send again (the atomic commands: `retrySafe` false) is answered
 * backupFailed (indeterminate) where a full wait ends in retryLater after it was applied here.
 */
export function finishWrite(node: DataHost, s: ClientSession, frame: Frame, b: number, u: Update, fullWait: boolean, reply: ((c: Connection) => void) | null, retrySafe = true): void {
  node.stats.writes++;
  if (!fullWait || !node.repl.hasBackup(b)) {
    node.repl.publish(b, u, null);
    if (reply === null) s.ack(frame);
    else s.reply(reply);
    return;
  }
  const slot = s.defer();
  const command = frame.command;
  const id = frame.requestId;
  node.repl.publish(b, u, (code, why) => {
    if (code === 0) {
      s.complete(slot, reply ?? ((c) => c.sendEmpty(Reply.ack, command, id)));
      return;
    }
    node.stats.backupFailures++;
    if (!retrySafe && code === ErrorCode.retryLater) {
      code = ErrorCode.backupFailed;
      why = `applied on the old primary, not confirmed on a backup (${why}): it may or may not stay applied`;
    }
    s.complete(
      slot,
      (c) => {
        const w = c.begin(Reply.failinfo, command, id);
        legacy.failinfo.encode(w, { code, message: why });
        c.end();
      },
      outcomeOfError(code),
    );
  });
}

function onSet(node: DataHost, s: ClientSession, frame: Frame, m: ReturnType<typeof data.set.decode>): void {
  if (m.value === null) {
    node.stats.badRequests++;
    s.failinfo(frame, ErrorCode.badRequest, 'set needs a value (type 0 is none)');
    return;
  }
  const b = node.store.bucketOf(m.map, m.key);
  if (!served(node, s, frame, b, writeOp(m.flags))) return;
  const at = expiresAt(node, s, frame, m.expiresSec);
  if (at === undefined) return;
  if (refusedForMemory(node, s, frame, m.key, m.value)) return;
  node.store.put(b, m.map, m.key, newItem(node, b, m.value, at));
  const u: Update = { op: UpdateOp.set, map: m.map, key: m.key, expiresAtMs: at, value: m.value };
  finishWrite(node, s, frame, b, u, (m.flags & WriteFlag.fullWait) !== 0, null);
}

export function readLocal(node: DataHost, s: ClientSession, frame: Frame, map: string, key: string): StoredItem | null | undefined {
  const b = node.store.bucketOf(map, key);
  if (!served(node, s, frame, b, 'read')) return undefined;
  node.stats.reads++;
  return node.store.read(b, map, key, node.clock.wallMs(), node.onExpired) ?? null;
}

function onGet(node: DataHost, s: ClientSession, frame: Frame, m: data.GetMsg): void {
  const it = readLocal(node, s, frame, m.map, m.key);
  if (it === undefined) return;
  if (it !== null && m.expectType !== ValueType.none && it.value.t !== m.expectType) {
    s.failinfo(frame, ErrorCode.wrongType, `item holds a ${valueTypeName(it.value.t)}, not a ${valueTypeName(m.expectType)}`);
    return;
  }
  const value: Value | null = it === null ? null : it.value;
  const w = s.beginReply(frame, Reply.value);
  if (w === null) return s.send(frame, Reply.value, (w2) => data.valueReply.encode(w2, value));
  data.valueReply.encode(w, value);
  s.conn.end();
}

function onExists(node: DataHost, s: ClientSession, frame: Frame, m: data.KeyRef): void {
  const it = readLocal(node, s, frame, m.map, m.key);
  if (it === undefined) return;
  s.send(frame, Reply.bool, (w) => data.boolReply.encode(w, it !== null));
}

function onTtl(node: DataHost, s: ClientSession, frame: Frame, m: data.KeyRef): void {
  const it = readLocal(node, s, frame, m.map, m.key);
  if (it === undefined) return;
  const ms = it === null ? -2 : it.expiresAtMs === 0 ? -1 : Math.max(0, it.expiresAtMs - node.clock.wallMs());
  s.send(frame, Reply.long, (w) => data.longReply.encode(w, ms));
}

export function boolReply(frame: Frame, v: boolean): (c: Connection) => void {
  return (c) => {
    const w = c.begin(Reply.bool, frame.command, frame.requestId);
    data.boolReply.encode(w, v);
    c.end();
  };
}

function onDelete(node: DataHost, s: ClientSession, frame: Frame, m: data.KeyFlagsMsg): void {
  const b = node.store.bucketOf(m.map, m.key);
  if (!served(node, s, frame, b, writeOp(m.flags))) return;
  const existed = node.store.read(b, m.map, m.key, node.clock.wallMs(), node.onExpired) !== undefined;
  node.store.remove(b, m.map, m.key);
  const u: Update = { op: UpdateOp.delete, map: m.map, key: m.key, expiresAtMs: 0, value: null };
  finishWrite(node, s, frame, b, u, (m.flags & WriteFlag.fullWait) !== 0, boolReply(frame, existed));
}

function onExpire(node: DataHost, s: ClientSession, frame: Frame, m: data.ExpireMsg): void {
  const b = node.store.bucketOf(m.map, m.key);
  if (!served(node, s, frame, b, writeOp(m.flags))) return;
  const at = expiresAt(node, s, frame, m.expiresSec);
  if (at === undefined) return;
  const it = node.store.read(b, m.map, m.key, node.clock.wallMs(), node.onExpired);
  if (it === undefined) {
    s.send(frame, Reply.bool, (w) => data.boolReply.encode(w, false));
    return;
  }
  node.store.put(b, m.map, m.key, newItem(node, b, it.value, at));
  const u: Update = { op: UpdateOp.expire, map: m.map, key: m.key, expiresAtMs: at, value: null };
  finishWrite(node, s, frame, b, u, (m.flags & WriteFlag.fullWait) !== 0, boolReply(frame, true));
}

function onMapRead(node: DataHost, s: ClientSession, frame: Frame, map: string): void {
  const b = (mapRouteHashLatin1(map) & node.store.mask) >>> 0;
  if (!served(node, s, frame, b, 'read')) return;
  node.stats.reads++;
  const entries = node.store.mapEntries(b, map, node.clock.wallMs(), node.onExpired);
  if (frame.command === Cmd.mapCount) {
    s.send(frame, Reply.long, (w) => data.longReply.encode(w, entries.length));
  } else if (frame.command === Cmd.mapKeys) {
    s.send(frame, Reply.strings, (w) => data.stringsReply.encode(w, entries.map(([k]) => k), 'latin1'));
  } else {
    const list = entries.map(([key, it]) => ({ key, value: it.value }));
    s.send(frame, Reply.entries, (w) => data.entriesReply.encode(w, list, 'latin1'));
  }
}

function onMapDelete(node: DataHost, s: ClientSession, frame: Frame, m: data.MapDeleteMsg): void {
  const b = (mapRouteHashLatin1(m.map) & node.store.mask) >>> 0;
  if (!served(node, s, frame, b, writeOp(m.flags))) return;
  const existed = node.store.mapEntries(b, m.map, node.clock.wallMs(), node.onExpired).length > 0;
  node.store.removeMap(b, m.map);
  const u: Update = { op: UpdateOp.mapDelete, map: m.map, key: '', expiresAtMs: 0, value: null };
  finishWrite(node, s, frame, b, u, (m.flags & WriteFlag.fullWait) !== 0, boolReply(frame, existed));
}

// ---- legacy commands (PROTOCOL.md): items named by hash ----

function legacyBucket(node: DataHost, mapHash: number, keyHash: number): number {
  return ((mapHash !== 0 ? mapHash : keyHash) & node.store.mask) >>> 0;
}

/** The name of the map with this hash in bucket b, or the legacy name for it. */
function legacyMap(node: DataHost, b: number, mapHash: number): string {
  if (mapHash === 0) return '';
  const bucket = node.store.bucket(b);
  if (bucket !== undefined) {
    for (const name of bucket.maps.keys()) if (mapRouteHashLatin1(name) === mapHash && !isLegacyKeyMap(name)) return name;
  }
  return legacyMapName(mapHash);
}

function onLegacySet(node: DataHost, s: ClientSession, frame: Frame, m: legacy.LegacySet<unknown>, value: Value): void {
  const b = legacyBucket(node, m.mapHash, m.keyHash);
  if (!served(node, s, frame, b, m.fullWait !== 0 ? 'durableWrite' : 'write')) return;
  const fnv = fnv1aLatin1(m.name) === m.keyHash;
  if (!fnv && fnv1aSignedCharLatin1(m.name) !== m.keyHash) {
    node.stats.badRequests++;
    s.failinfo(frame, ErrorCode.badRequest, `key hash 0x${m.keyHash.toString(16)} is neither the FNV-1a hash of the name nor the original client's signed-char variant of it`);
    return;
  }
  const at = expiresAt(node, s, frame, m.expiresSec);
  if (at === undefined) return;
  if (refusedForMemory(node, s, frame, m.name, value)) return;
  // A plain key hashed by the original client's signed-char FNV (a name with bytes >= 0x80) stays
  // under the hash it was given: in the map that routes by that hash (see LEGACY_KEY_PREFIX).
  const map = m.mapHash !== 0 ? legacyMap(node, b, m.mapHash) : fnv ? '' : legacyKeyMapName(m.keyHash);
  node.store.put(b, map, m.name, newItem(node, b, value, at));
  const u: Update = { op: UpdateOp.set, map, key: m.name, expiresAtMs: at, value };
  finishWrite(node, s, frame, b, u, m.fullWait !== 0, null);
}

function onLegacyGet(node: DataHost, s: ClientSession, frame: Frame, m: legacy.HashRef): void {
  const b = legacyBucket(node, m.mapHash, m.keyHash);
  if (!served(node, s, frame, b, 'read')) return;
  node.stats.reads++;
  const want = frame.command === Cmd.getInt ? ValueType.int32 : ValueType.string;
  const found = findByHash(node, b, m.mapHash, m.keyHash);
  if (found === undefined || found.value.t !== want) {
    s.fail(frame);
    return;
  }
  const v = found.value;
  if (v.t === 1) s.send(frame, Reply.dataInt, (w) => legacy.dataInt.encode(w, { mapHash: m.mapHash, keyHash: m.keyHash, value: v.v }));
  else if (v.t === 3) s.send(frame, Reply.dataString, (w) => legacy.dataString.encode(w, { mapHash: m.mapHash, keyHash: m.keyHash, value: v.v }));
}

/** Scans bucket b for a live item with these hashes (the first found, see docs/protocol.md). */
function findByHash(node: DataHost, b: number, mapHash: number, keyHash: number): StoredItem | undefined {
  const bucket = node.store.bucket(b);
  if (bucket === undefined) return undefined;
  const now = node.clock.wallMs();
  const tables =
    mapHash === 0
      ? [bucket.items, bucket.maps.get(legacyKeyMapName(keyHash)) ?? new Map<string, StoredItem>()]
      : [...bucket.maps].filter(([name]) => mapRouteHashLatin1(name) === mapHash && !isLegacyKeyMap(name)).map(([, t]) => t);
  for (const table of tables) {
    for (const [key, it] of table) {
      if (hashOfName(key, keyHash) && (it.expiresAtMs === 0 || it.expiresAtMs > now)) return it;
    }
  }
  return undefined;
}

/** The name hashes to keyHash: by FNV-1a, or by the original client's signed-char variant (bytes >= 0x80). */
function hashOfName(name: string, keyHash: number): boolean {
  return fnv1aLatin1(name) === keyHash || fnv1aSignedCharLatin1(name) === keyHash;
}
