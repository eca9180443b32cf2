// Batch commands on the node (mget, mset, mdelete: many keys in one frame, each key routed,
// applied and answered on its own, in input order) and scan (one page of one bucket's keys, in
// byte order after a cursor key). Who serves a bucket is routing.ts's decision, asked per key.
import type { Frame } from '../protocol/header.js';
import { Reader, DecodeError, type Writer } from '../protocol/codec.js';
import { ValueType } from '../protocol/values.js';
import { Cmd, ErrorCode, Reply, WriteFlag } from '../protocol/commands.js';
import * as batch from '../protocol/messages/batch.js';
import { KeyStatus, type KeyAnswer } from '../protocol/messages/batch.js';
import { UpdateOp, type Update } from '../protocol/messages/node.js';
import type { Connection } from '../net/connection.js';
import type { ClientSession } from './client-session.js';
import { atOneInstant, decideRoute, type RouteOp, type RouteView } from './routing.js';
import { isExpired, routeHash } from './store.js';
import { isValidMask } from '../shared/buckets.js';
import { outcomeOfError } from './request-meter.js';
import { admitsItem, answerBadInput, expiresAt, newItem, OUT_OF_MEMORY_WHY, writeOp, type DataHost } from './data-handlers.js';

/** What the batch handlers need of the node: what the single-key handlers need. */
type BatchHost = DataHost;

/**
 * A batch reply stops growing at about this many bytes: the keys after it are answered batchFull
 * (not done; the client sends them again). The first key is always answered.
 */
export const BATCH_REPLY_BYTES_MAX = 4 * 1024 * 1024;

/** The commands this file answers (front-door.ts sends them here). */
export function isBatchCommand(command: number): boolean {
  return command >= Cmd.mget && command <= Cmd.scan;
}

/** Handles mget, mset, mdelete and scan; a payload that does not decode is answered badRequest. */
export function handleBatchCommand(node: BatchHost, s: ClientSession, frame: Frame): void {
  answerBadInput(node, s, frame, (r) => dispatch(node, s, frame, r));
}

function dispatch(node: BatchHost, s: ClientSession, frame: Frame, r: Reader): void {
  switch (frame.command) {
    case Cmd.mget:
      return onMget(node, s, frame, batch.mget.decode(r, 'latin1'));
    case Cmd.mset:
      return onMset(node, s, frame, batch.mset.decode(r, 'latin1'));
    case Cmd.mdelete:
      return onMdelete(node, s, frame, batch.mdelete.decode(r, 'latin1'));
    case Cmd.scan:
      return onScan(node, s, frame, batch.scan.decode(r, 'latin1'));
    default:
      throw new DecodeError(`command ${frame.command} is not a batch command`);
  }
}

/** The answer for a key whose bucket this node does not serve now, or null when it does. */
function notServed(node: BatchHost, view: RouteView, b: number, op: RouteOp): KeyAnswer | null {
  const d = decideRoute(view, b, op);
  if (d.kind === 'serve') return null;
  node.stats.redirects++;
  if (d.kind === 'redirect') return { s: KeyStatus.elsewhere, addr: d.to };
  if (d.kind === 'noOwner') return { s: KeyStatus.error, code: ErrorCode.noOwner, message: `no live node owns bucket ${b}` };
  return { s: KeyStatus.error, code: ErrorCode.retryLater, message: `bucket ${b} is not served here now (${d.reason}); retry` };
}

/** A key done (mset): one shared answer, not one object per key. */
const DONE: KeyAnswer = { s: KeyStatus.ok };

const FULL: KeyAnswer = { s: KeyStatus.error, code: ErrorCode.batchFull, message: 'the batch reply is full; send this key again' };

function onMget(node: BatchHost, s: ClientSession, frame: Frame, m: batch.MgetMsg): void {
  const w = s.beginReply(frame, Reply.batch);
  if (w === null) return s.send(frame, Reply.batch, (w2) => writeMget(node, m, w2));
  writeMget(node, m, w);
  s.conn.end();
}

/**
 * The payload of an mget's reply, written as each key is read: a served key's value goes from
 * the store into w with no object made for it (the batch read's hot path).
 */
function writeMget(node: BatchHost, m: batch.MgetMsg, w: Writer): void {
  const now = node.clock.wallMs();
  const view = atOneInstant(node.routeView);
  const { store, stats, onExpired } = node;
  w.i32(m.keys.length);
  const start = w.frameBytes;
  for (const key of m.keys) {
    if (w.frameBytes - start > BATCH_REPLY_BYTES_MAX) {
      batch.writeAnswer(w, 'mget', FULL);
      continue;
    }
    const b = store.bucketOf(m.map, key);
    const a = notServed(node, view, b, 'read');
    if (a !== null) {
      batch.writeAnswer(w, 'mget', a);
      continue;
    }
    stats.reads++;
    w.i32(KeyStatus.ok);
    if (!store.writeValueOf(b, m.map, key, now, onExpired, w)) w.i32(ValueType.none);
  }
}

/** Publishes each key's change; replies once every full-wait key is on the backup (or failed there). */
class WriteTally {
  private waiting = 0;
  private closed = false;
  private slot: ReturnType<ClientSession['defer']> | null = null;

  constructor(
    private readonly node: BatchHost,
    private readonly s: ClientSession,
    private readonly frame: Frame,
    private readonly command: 'mset' | 'mdelete',
    private readonly fullWait: boolean,
    readonly answers: KeyAnswer[],
  ) {}

  /** Publishes u for answers[i] (already set to its success answer). */
  publish(i: number, b: number, u: Update): void {
    this.node.stats.writes++;
    if (!this.fullWait || !this.node.repl.hasBackup(b)) {
      this.node.repl.publish(b, u, null);
      return;
    }
    this.waiting++;
    this.node.repl.publish(b, u, (code, why) => {
      if (code !== 0) {
        this.node.stats.backupFailures++;
        this.answers[i] = { s: KeyStatus.error, code, message: why };
      }
      this.waiting--;
      this.maybeFinish();
    });
  }

  /** Every key was handled: reply now, or once the last backup ack arrives. */
  close(): void {
    this.closed = true;
    if (this.waiting === 0) {
      this.s.send(this.frame, Reply.batch, (w) => batch.batchReply.encode(w, this.command, this.answers));
      return;
    }
    this.slot = this.s.defer();
  }

  private maybeFinish(): void {
    if (!this.closed || this.waiting > 0 || this.slot === null) return;
    const { command, requestId } = this.frame;
    const answers = this.answers;
    const kind = this.command;
    const failed = answers.find((a) => a.s === KeyStatus.error);
    const write = (c: Connection): void => {
      const w = c.begin(Reply.batch, command, requestId);
      batch.batchReply.encode(w, kind, answers);
      c.end();
    };
    const slot = this.slot;
    this.slot = null;
    this.s.complete(slot, write, failed !== undefined && failed.s === KeyStatus.error ? outcomeOfError(failed.code) : undefined);
  }
}


function onMset(node: BatchHost, s: ClientSession, frame: Frame, m: batch.MsetMsg): void {
  const at = expiresAt(node, s, frame, m.expiresSec);
  if (at === undefined) return;
  const fullWait = (m.flags & WriteFlag.fullWait) !== 0;
  const tally = new WriteTally(node, s, frame, 'mset', fullWait, new Array<KeyAnswer>(m.entries.length));
  const view = atOneInstant(node.routeView);
  m.entries.forEach((e, i) => {
    const b = node.store.bucketOf(m.map, e.key);
    const a = notServed(node, view, b, writeOp(m.flags));
    if (a !== null) {
      tally.answers[i] = a;
      return;
    }
    if (e.value === null) {
      node.stats.badRequests++;
      tally.answers[i] = { s: KeyStatus.error, code: ErrorCode.badRequest, message: 'set needs a value (type 0 is none)' };
      return;
    }
    if (!admitsItem(node, e.key, e.value)) {
      tally.answers[i] = { s: KeyStatus.error, code: ErrorCode.outOfMemory, message: OUT_OF_MEMORY_WHY };
      return;
    }
    // Made after the admission (an eviction publishes too) and right before this key's publish.
    node.store.put(b, m.map, e.key, newItem(node, b, e.value, at));
    tally.answers[i] = DONE;
    tally.publish(i, b, { op: UpdateOp.set, map: m.map, key: e.key, expiresAtMs: at, value: e.value });
  });
  tally.close();
}

function onMdelete(node: BatchHost, s: ClientSession, frame: Frame, m: batch.MdeleteMsg): void {
  const now = node.clock.wallMs();
  const fullWait = (m.flags & WriteFlag.fullWait) !== 0;
  const tally = new WriteTally(node, s, frame, 'mdelete', fullWait, new Array<KeyAnswer>(m.keys.length));
  const view = atOneInstant(node.routeView);
  m.keys.forEach((key, i) => {
    const b = node.store.bucketOf(m.map, key);
    const a = notServed(node, view, b, writeOp(m.flags));
    if (a !== null) {
      tally.answers[i] = a;
      return;
    }
    const existed = node.store.read(b, m.map, key, now, node.onExpired) !== undefined;
    node.store.remove(b, m.map, key);
    tally.answers[i] = { s: KeyStatus.ok, existed };
    tally.publish(i, b, { op: UpdateOp.delete, map: m.map, key, expiresAtMs: 0, value: null });
  });
  tally.close();
}

/**
 * One page of bucket m.bucket's keys (of map m.map, or plain keys), those after m.after with the
 * prefix, in byte order. BACKGROUND: a cursor that is a key, not a position, stays right when the
 * bucket changes meanwhile or moves to another node (the new primary holds every key of it).
 */
function onScan(node: BatchHost, s: ClientSession, frame: Frame, m: batch.ScanMsg): void {
  const mask = node.store.mask;
  if (!isValidMask(m.mask) || m.bucket < 0 || m.bucket > m.mask) {
    node.stats.badRequests++;
    s.failinfo(frame, ErrorCode.badRequest, `bucket ${m.bucket} under mask 0x${(m.mask >>> 0).toString(16)} is not a bucket`);
    return;
  }
  if (m.mask < mask) {
    // This node's buckets are finer: the client splits the bucket into its parts and goes on.
    s.failinfo(frame, ErrorCode.maskChanged, `scan counts buckets with mask 0x${m.mask.toString(16)}, this node with 0x${mask.toString(16)}`);
    return;
  }
  // The client's mask may be wider than this node's (a client table is never narrower than 256
  // buckets): its bucket is then the part of this node's bucket whose keys hash to it.
  const b = m.bucket & mask;
  const d = notServed(node, node.routeView, b, 'read');
  if (d !== null) {
    if (d.s === KeyStatus.elsewhere) s.tryElsewhere(frame, d.addr);
    else if (d.s === KeyStatus.error) s.failinfo(frame, d.code, d.message);
    return;
  }
  const part = m.mask === mask ? null : m.mask;
  node.stats.reads++;
  const data = node.store.bucket(b);
  const table = data === undefined ? undefined : m.map === '' ? data.items : data.maps.get(m.map);
  const now = node.clock.wallMs();
  const after: string[] = [];
  if (table !== undefined) {
    for (const [key, it] of table) {
      if ((m.after === null || key > m.after) && key.startsWith(m.prefix) && !isExpired(it, now)) {
        if (part === null || ((routeHash(m.map, key) & part) >>> 0) === m.bucket) after.push(key);
      }
    }
  }
  after.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const page = after.length > m.count ? after.slice(0, m.count) : after;
  s.send(frame, Reply.scanPage, (w) => batch.scanPage.encode(w, after.length > m.count, page, 'latin1'));
}
