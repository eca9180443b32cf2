// Batches (mget, mset, mdelete and the map forms): keys split by the primary of their bucket, one
// frame per node (chunked to a bounded size), answered per key in input order. A key another node
// serves, or one whose bucket is changing hands, is sent again on its own until the deadline;
// every key ends with a result or an error (BatchError.results), never silently.
import type { Reader, Writer } from '../protocol/codec.js';
import { Cmd, ErrorCode, Reply, WriteFlag } from '../protocol/commands.js';
import { BATCH_KEYS_MAX, KeyStatus } from '../protocol/messages/batch.js';
import { normalizeAddress } from '../shared/address.js';
import { keyHash } from './bucket-table.js';
import { BatchError, ClusterError, type BatchResult } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { Request, Route, type CustomWire } from './request.js';
import type { Router } from './router.js';
import { failInfoError } from './wire.js';
import { checkExpiresSec, checkKey, readClusterValue, valueTypeOf, writeClusterValue, type ClusterValue, type ClusterValueInput } from './values.js';

/** At most this many keys, and about this many payload bytes, in one batch frame. */
const CHUNK_KEYS_MAX = 1000;
const CHUNK_BYTES_MAX = 1024 * 1024;
/** Keys waiting for a bucket that changes hands are sent again after a jittered delay up to this. */
const RETRY_BASE_MS = 2;
const RETRY_MAX_MS = 100;

type Kind = 'mget' | 'mset' | 'mdelete';

/** One key of a batch: its place in the input, routing hash, and (mset) its value. */
interface Item {
  key: string;
  hash: number;
  type: number;
  value: ClusterValueInput | undefined;
  /** Payload bytes it adds, at most. */
  bytes: number;
  redirects: number;
}

/**
 * What a node answered for each key of a frame, as two arrays (no object per key): status[j] is
 * KeyStatus; data[j] the result (ok), the address (elsewhere) or a KeyFailure (error).
 */
interface Answers {
  status: Uint8Array;
  data: unknown[];
}

interface KeyFailure {
  code: number;
  message: string;
}

/** Every key's outcome: values[i] when errors[i] is undefined. */
interface Outcomes {
  values: unknown[];
  errors: (ClusterError | undefined)[];
  failed: number;
}

export interface MsetOptions {
  /** Seconds until each item expires; 0 or absent: never. */
  expiresSec?: number;
  /** Acknowledge each key only once the backup has it (default: the client's fullWait option). */
  fullWait?: boolean;
}

/** Entries for mset: pairs (an array or a Map) or a plain object. */
export type MsetEntries = Iterable<readonly [string, ClusterValueInput]> | Record<string, ClusterValueInput>;

function entryList(entries: MsetEntries): [string, ClusterValueInput][] {
  if (entries !== null && typeof entries === 'object' && Symbol.iterator in entries) {
    return [...(entries as Iterable<readonly [string, ClusterValueInput]>)].map(([k, v]) => [k, v]);
  }
  if (entries === null || typeof entries !== 'object') throw new ClusterError('BAD_REQUEST', 'mset takes pairs, a Map or an object');
  return Object.entries(entries);
}

function utf8Bound(s: string): number {
  return 4 + 3 * s.length;
}

function valueBound(v: ClusterValueInput | undefined): number {
  if (v === undefined) return 0;
  return 4 + (typeof v === 'string' ? utf8Bound(v) : v instanceof Uint8Array ? 4 + v.length : 8);
}

const RETRYABLE: ReadonlySet<number> = new Set([ErrorCode.retryLater, ErrorCode.noOwner, ErrorCode.shuttingDown, ErrorCode.batchFull]);

export class BatchOps {
  constructor(
    private readonly router: Router,
    private readonly opts: ResolvedOptions,
  ) {}

  /** Values in input order (null: no such key); BatchError when any key failed. */
  async mget(map: string, keys: readonly string[]): Promise<(ClusterValue | null)[]> {
    if (!Array.isArray(keys)) throw new ClusterError('BAD_REQUEST', 'mget takes an array of keys');
    const items = keys.map((k) => this.item(map, k, undefined));
    return this.settle<ClusterValue | null>(await this.run('mget', map, items, 0, 0));
  }

  /** Sets every entry; BatchError (with each key's outcome) when any key failed. */
  async mset(map: string, entries: MsetEntries, options?: MsetOptions): Promise<void> {
    const list = entryList(entries);
    const expiresSec = checkExpiresSec(options?.expiresSec);
    const flags = (options?.fullWait ?? this.opts.fullWait) ? WriteFlag.fullWait : 0;
    const items = list.map(([k, v]) => this.item(map, k, v));
    await this.settle<void>(await this.run('mset', map, items, flags, expiresSec));
  }

  /** Whether each key existed, in input order; BatchError when any key failed. */
  async mdelete(map: string, keys: readonly string[]): Promise<boolean[]> {
    if (!Array.isArray(keys)) throw new ClusterError('BAD_REQUEST', 'mdelete takes an array of keys');
    const flags = this.opts.fullWait ? WriteFlag.fullWait : 0;
    const items = keys.map((k) => this.item(map, k, undefined));
    return this.settle<boolean>(await this.run('mdelete', map, items, flags, 0));
  }

  /** A key checked for sending; a bad key or value is that key's error (Item with type -1). */
  private item(map: string, key: unknown, value: ClusterValueInput | undefined): Item | ClusterError {
    try {
      checkKey('key', key);
      const type = value === undefined ? 0 : valueTypeOf(value);
      return { key, hash: keyHash(map === '' ? key : map), type, value, bytes: utf8Bound(key) + valueBound(value), redirects: 0 };
    } catch (e) {
      return e instanceof ClusterError ? e : new ClusterError('BAD_REQUEST', (e as Error).message);
    }
  }

  private settle<T>(o: Outcomes): T[] {
    if (o.failed === 0) return o.values as T[];
    const results = o.values.map((value, i): BatchResult<unknown> => {
      const error = o.errors[i];
      return error === undefined ? { ok: true, value } : { ok: false, error };
    });
    const first = o.errors.find((e) => e !== undefined)!;
    throw new BatchError(`${o.failed} of ${results.length} keys failed (first: ${first.code}: ${first.message})`, results);
  }

  /**
   * Sends every key until each has a result or an error. BEHAVIOR: keys are grouped by the primary
   * the client's table names; a key answered "elsewhere" follows the hint (at most maxRedirects
   * times), one answered retryLater/noOwner waits a jittered moment; each round sends every key
   * still open. After requestTimeoutMs the keys still open fail TIMEOUT (they were not applied).
   */
  private async run(kind: Kind, map: string, input: (Item | ClusterError)[], flags: number, expiresSec: number): Promise<Outcomes> {
    const out: Outcomes = { values: new Array<unknown>(input.length).fill(undefined), errors: new Array<ClusterError | undefined>(input.length).fill(undefined), failed: 0 };
    const fail = (i: number, error: ClusterError): void => {
      out.errors[i] = error;
      out.failed++;
    };
    let open: number[] = [];
    input.forEach((it, i) => {
      if (it instanceof ClusterError) fail(i, it);
      else open.push(i);
    });
    const items = input as Item[];
    const deadlineMs = performance.now() + this.opts.requestTimeoutMs;
    let waits = 0;
    while (open.length > 0) {
      if (performance.now() >= deadlineMs) {
        const error = new ClusterError('TIMEOUT', `no answer within ${this.opts.requestTimeoutMs} ms (the key's bucket kept changing hands; not applied)`);
        for (const i of open) fail(i, error);
        break;
      }
      const chunks = this.chunks(items, open);
      const outcomes = await Promise.allSettled(chunks.map((c) => this.send(kind, map, c.map((i) => items[i]!), flags, expiresSec)));
      const next: number[] = [];
      let mustWait = false;
      outcomes.forEach((o, ci) => {
        const chunk = chunks[ci]!;
        if (o.status === 'rejected') {
          const error = o.reason instanceof ClusterError ? o.reason : new ClusterError('SERVER_ERROR', String(o.reason));
          for (const i of chunk) fail(i, error);
          return;
        }
        const { answers, node } = o.value;
        const { status, data } = answers;
        for (let j = 0; j < chunk.length; j++) {
          const i = chunk[j]!;
          const st = status[j]!;
          if (st === KeyStatus.ok) {
            out.values[i] = data[j];
            continue;
          }
          const it = items[i]!;
          if (st === KeyStatus.elsewhere) {
            if (++it.redirects > this.opts.maxRedirects) {
              fail(i, new ClusterError('TOO_MANY_REDIRECTS', `redirected more than ${this.opts.maxRedirects} times`, undefined, node));
              continue;
            }
            this.router.topology.redirected(it.hash, data[j] as string);
            if (it.redirects >= 2) mustWait = true;
            next.push(i);
            continue;
          }
          const f = data[j] as KeyFailure;
          if (RETRYABLE.has(f.code)) {
            if (f.code !== ErrorCode.batchFull) mustWait = true;
            next.push(i);
          } else {
            fail(i, failInfoError(f.code, f.message, node) ?? new ClusterError('SERVER_ERROR', f.message, f.code, node));
          }
        }
      });
      open = next;
      if (open.length > 0 && mustWait) {
        const capMs = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(++waits, 16));
        await new Promise((resolve) => setTimeout(resolve, capMs / 2 + (Math.random() * capMs) / 2));
      }
    }
    return out;
  }

  /** The open keys grouped by the primary the table names, cut into bounded chunks. */
  private chunks(items: Item[], open: number[]): number[][] {
    const table = this.router.topology.table;
    const groups = new Map<string, number[]>();
    for (const i of open) {
      const addr = table.primaryOf(items[i]!.hash);
      let g = groups.get(addr);
      if (g === undefined) groups.set(addr, (g = []));
      g.push(i);
    }
    const out: number[][] = [];
    for (const g of groups.values()) {
      let cur: number[] = [];
      let bytes = 0;
      for (const i of g) {
        const b = items[i]!.bytes;
        if (cur.length > 0 && (cur.length >= CHUNK_KEYS_MAX || bytes + b > CHUNK_BYTES_MAX)) {
          out.push(cur);
          cur = [];
          bytes = 0;
        }
        cur.push(i);
        bytes += b;
      }
      if (cur.length > 0) out.push(cur);
    }
    return out;
  }

  /** One frame for these keys (routed by the first key's bucket); its per-key answers. */
  private send(kind: Kind, map: string, items: Item[], flags: number, expiresSec: number): Promise<{ answers: Answers; node: string }> {
    const req = new Request();
    req.cmd = kind === 'mget' ? Cmd.mget : kind === 'mset' ? Cmd.mset : Cmd.mdelete;
    req.route = Route.bucket;
    req.hash = items[0]!.hash;
    req.custom = batchWire(kind, map, items, flags, expiresSec);
    return this.router.submit<Answers>(req).then((answers) => ({ answers, node: req.link?.addr ?? '' }));
  }
}

function batchWire(kind: Kind, map: string, items: Item[], flags: number, expiresSec: number): CustomWire {
  let bytes = 24 + utf8Bound(map);
  for (const it of items) bytes += it.bytes;
  return {
    reply: Reply.batch,
    bytesBound: bytes,
    encode(w: Writer): void {
      w.strUtf8(map);
      if (kind === 'mset') w.i32(expiresSec);
      if (kind !== 'mget') w.i32(flags);
      w.i32(items.length);
      for (const it of items) {
        w.strUtf8(it.key);
        if (kind === 'mset') writeClusterValue(w, it.type, it.value!);
      }
    },
    decode(r: Reader): Answers {
      const n = r.i32();
      if (n !== items.length || n > BATCH_KEYS_MAX) throw new RangeError(`batch reply has ${n} answers for ${items.length} keys`);
      const status = new Uint8Array(n);
      const data = new Array<unknown>(n);
      for (let i = 0; i < n; i++) {
        const s = r.i32();
        if (s === KeyStatus.ok) {
          data[i] = kind === 'mget' ? readClusterValue(r) : kind === 'mdelete' ? r.i32() !== 0 : undefined;
        } else if (s === KeyStatus.elsewhere) {
          data[i] = normalizeAddress(r.strLatin1());
        } else if (s === KeyStatus.error) {
          const code = r.i32();
          data[i] = { code, message: r.strUtf8() } satisfies KeyFailure;
        } else {
          throw new RangeError(`batch reply: unknown key status ${s}`);
        }
        status[i] = s;
      }
      return { status, data };
    },
  };
}
