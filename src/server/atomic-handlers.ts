// The atomic single-key commands on the node (incr, set_if, get_and_set, get_and_delete,
// get_with_version, delete_if): each reads and writes its item in one synchronous step on the
// bucket's primary and publishes the result as an ordinary set or delete (backup, full wait, loggers).
import type { Frame } from '../protocol/header.js';
import { Reader, DecodeError } from '../protocol/codec.js';
import { Cmd, ErrorCode, Reply, WriteFlag } from '../protocol/commands.js';
import { valueTypeName, type Value } from '../protocol/values.js';
import * as data from '../protocol/messages/data.js';
import * as atomic from '../protocol/messages/atomic.js';
import { UpdateOp, type Update } from '../protocol/messages/node.js';
import type { Connection } from '../net/connection.js';
import type { ClientSession } from './client-session.js';
import type { StoredItem } from './store.js';
import { answerBadInput, boolReply, expiresAt, finishWrite, newItem, readLocal, refusedForMemory, served, writeOp, type DataHost } from './data-handlers.js';
import { versionOf } from './versions.js';
import { fail } from '../shared/assert.js';

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The commands this file answers (front-door.ts sends them here). */
export function isAtomicCommand(command: number): boolean {
  return command >= Cmd.incr && command <= Cmd.deleteIf;
}

export function handleAtomicCommand(node: DataHost, s: ClientSession, frame: Frame): void {
  answerBadInput(node, s, frame, (r) => dispatch(node, s, frame, r));
}

function dispatch(node: DataHost, s: ClientSession, frame: Frame, r: Reader): void {
  switch (frame.command) {
    case Cmd.incr:
      return onIncr(node, s, frame, atomic.incr.decode(r, 'latin1'));
    case Cmd.setIf:
      return onSetIf(node, s, frame, atomic.setIf.decode(r, 'latin1'));
    case Cmd.getAndSet:
      return onGetAndSet(node, s, frame, atomic.getAndSet.decode(r, 'latin1'));
    case Cmd.getAndDelete:
      return onDeleteIf(node, s, frame, atomic.getAndDelete.decode(r, 'latin1'), false);
    case Cmd.deleteIf:
      return onDeleteIf(node, s, frame, atomic.deleteIf.decode(r, 'latin1'), true);
    case Cmd.getWithVersion:
      return onGetWithVersion(node, s, frame, data.keyOnly.decode(r, 'latin1'));
    default:
      throw new DecodeError(`command ${frame.command} is not an atomic command`);
  }
}

function fullWait(flags: number): boolean {
  return (flags & WriteFlag.fullWait) !== 0;
}

/** The primary's current item (an expired one reads as missing and is published as expired). */
function current(node: DataHost, b: number, map: string, key: string): StoredItem | undefined {
  return node.store.read(b, map, key, node.clock.wallMs(), node.onExpired);
}

function valueReply(frame: Frame, v: Value | null): (c: Connection) => void {
  return (c) => {
    const w = c.begin(Reply.value, frame.command, frame.requestId);
    data.valueReply.encode(w, v);
    c.end();
  };
}

function longReply(frame: Frame, v: bigint): (c: Connection) => void {
  return (c) => {
    const w = c.begin(Reply.long, frame.command, frame.requestId);
    w.i64(v);
    c.end();
  };
}

/** Stores the new value as the next version and publishes it as a set; the reply follows the write (or outOfMemory, nothing applied). */
function writeItem(node: DataHost, s: ClientSession, frame: Frame, b: number, ref: { map: string; key: string; flags: number }, value: Value, atMs: number, reply: (v: bigint) => (c: Connection) => void): void {
  if (refusedForMemory(node, s, frame, ref.key, value)) return;
  const it = newItem(node, b, value, atMs);
  node.store.put(b, ref.map, ref.key, it);
  const u: Update = { op: UpdateOp.set, map: ref.map, key: ref.key, expiresAtMs: atMs, value };
  finishWrite(node, s, frame, b, u, fullWait(ref.flags), reply(versionOf(it)), false);
  // The item's version is the (epoch, seq) publish() gave this very write (versions.ts).
  if (node.store.bucket(b)?.seq !== it.vSeq) fail(`bucket ${b}: the write took another seq than its version's`);
}

/**
 * BEHAVIOR: an int item stays an int and a long a long; a sum outside the type's range is answered
 * overflow and changes nothing (never a wrap). A missing item starts from `initial` (its type is
 * the new item's) and takes the command's expiry; an existing item keeps its expiry.
 */
function onIncr(node: DataHost, s: ClientSession, frame: Frame, m: atomic.IncrMsg): void {
  const b = node.store.bucketOf(m.map, m.key);
  if (!served(node, s, frame, b, writeOp(m.flags))) return;
  const at = expiresAt(node, s, frame, m.expiresSec);
  if (at === undefined) return;
  const it = current(node, b, m.map, m.key);
  const base = it === undefined ? m.initial : it.value;
  if (base.t !== 1 && base.t !== 2) {
    s.failinfo(frame, ErrorCode.wrongType, `item holds a ${valueTypeName(base.t)}, not an int or a long`);
    return;
  }
  const sum = BigInt(base.v) + m.by;
  const [min, max] = base.t === 1 ? [INT32_MIN, INT32_MAX] : [INT64_MIN, INT64_MAX];
  if (sum < min || sum > max) {
    s.failinfo(frame, ErrorCode.overflow, `${base.v} + ${m.by} is outside the ${valueTypeName(base.t)} range ${min}..${max}`);
    return;
  }
  const next: Value = base.t === 1 ? { t: 1, v: Number(sum) } : { t: 2, v: sum };
  writeItem(node, s, frame, b, m, next, it === undefined ? at : it.expiresAtMs, () => valueReply(frame, next));
}

/** Written: the new version; a false ifAbsent/ifExists: 0; a version that differs: versionMismatch. */
function onSetIf(node: DataHost, s: ClientSession, frame: Frame, m: atomic.SetIfMsg): void {
  const b = node.store.bucketOf(m.map, m.key);
  if (!served(node, s, frame, b, writeOp(m.flags))) return;
  const at = expiresAt(node, s, frame, m.expiresSec);
  if (at === undefined) return;
  const it = current(node, b, m.map, m.key);
  if ((m.condition === atomic.SetCondition.ifAbsent && it !== undefined) || (m.condition === atomic.SetCondition.ifExists && it === undefined)) {
    s.send(frame, Reply.long, (w) => w.i64(0n));
    return;
  }
  if (m.condition === atomic.SetCondition.ifVersion && !versionMatches(s, frame, it, m.version)) return;
  writeItem(node, s, frame, b, m, m.value, at, (v) => longReply(frame, v));
}

function versionMatches(s: ClientSession, frame: Frame, it: StoredItem | undefined, version: bigint): boolean {
  if (it !== undefined && versionOf(it) === version) return true;
  const why = it === undefined ? `no such item (expected version ${version})` : `item is at version ${versionOf(it)}, not ${version}`;
  s.failinfo(frame, ErrorCode.versionMismatch, why);
  return false;
}

function onGetAndSet(node: DataHost, s: ClientSession, frame: Frame, m: atomic.GetAndSetMsg): void {
  const b = node.store.bucketOf(m.map, m.key);
  if (!served(node, s, frame, b, writeOp(m.flags))) return;
  const at = expiresAt(node, s, frame, m.expiresSec);
  if (at === undefined) return;
  const old = current(node, b, m.map, m.key)?.value ?? null;
  writeItem(node, s, frame, b, m, m.value, at, () => valueReply(frame, old));
}

/** get_and_delete (reply: the old value, none if missing) and delete_if (true; versionMismatch). */
function onDeleteIf(node: DataHost, s: ClientSession, frame: Frame, m: atomic.DeleteIfMsg, checkVersion: boolean): void {
  const b = node.store.bucketOf(m.map, m.key);
  if (!served(node, s, frame, b, writeOp(m.flags))) return;
  const it = current(node, b, m.map, m.key);
  if (checkVersion && !versionMatches(s, frame, it, m.version)) return;
  if (it === undefined) {
    s.send(frame, Reply.value, (w) => data.valueReply.encode(w, null));
    return;
  }
  node.store.remove(b, m.map, m.key);
  const u: Update = { op: UpdateOp.delete, map: m.map, key: m.key, expiresAtMs: 0, value: null };
  finishWrite(node, s, frame, b, u, fullWait(m.flags), checkVersion ? boolReply(frame, true) : valueReply(frame, it.value), false);
}

function onGetWithVersion(node: DataHost, s: ClientSession, frame: Frame, m: data.KeyRef): void {
  const it = readLocal(node, s, frame, m.map, m.key);
  if (it === undefined) return;
  const msg = it === null ? { value: null, version: 0n } : { value: it.value, version: versionOf(it) };
  s.send(frame, Reply.versioned, (w) => atomic.versionedReply.encode(w, msg));
}
