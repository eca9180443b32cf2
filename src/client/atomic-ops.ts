// The atomic operations shared by Cluster (plain keys, map '') and ClusterMap (entries of one map):
// incr/decr, conditional sets, get-and-set, get-and-delete, versioned get and conditional delete.
// Arguments are checked before anything is sent; one Request each, routed like every data command.
import { Cmd, WriteFlag } from '../protocol/commands.js';
import { ValueType } from '../protocol/values.js';
import { SetCondition } from '../protocol/messages/atomic.js';
import { ClusterError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { Request } from './request.js';
import type { Router } from './router.js';
import { keyRequest, type SetOptions } from './ops.js';
import type { Versioned } from './atomic-wire.js';
import { checkExpiresSec, valueTypeOf, type ClusterValue, type ClusterValueInput } from './values.js';

export type { Versioned } from './atomic-wire.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export interface IncrOptions {
  /** The value a missing item starts from (default 0); a number makes an int item, a bigint a long. */
  initial?: number | bigint;
  /** Expiry (s) of an item this call creates; an existing item keeps its own. */
  expiresSec?: number;
  fullWait?: boolean;
}

/** set() with a condition: exactly one of ifAbsent, ifExists, ifVersion. */
export interface ConditionalSetOptions extends SetOptions {
  /** Write only if the item does not exist. */
  ifAbsent?: boolean;
  /** Write only if the item exists. */
  ifExists?: boolean;
  /** Write only if the item is at this version (getWithVersion); else VERSION_MISMATCH. */
  ifVersion?: bigint;
}

export interface DeleteOptions {
  /** Delete only if the item is at this version; else VERSION_MISMATCH (also when it is gone). */
  ifVersion?: bigint;
  fullWait?: boolean;
}

/** Whether set() options ask for a condition. */
export function isConditional(opts: ConditionalSetOptions | undefined): boolean {
  return opts !== undefined && (opts.ifAbsent === true || opts.ifExists === true || opts.ifVersion !== undefined);
}

function checkVersion(version: unknown): bigint {
  if (typeof version !== 'bigint' || version < 0n || version > INT64_MAX) {
    throw new ClusterError('BAD_REQUEST', `a version is a bigint in 0..2^63-1, got ${String(version)}`);
  }
  return version;
}

function toBig(what: string, v: unknown): bigint {
  if (typeof v === 'bigint') {
    if (v < INT64_MIN || v > INT64_MAX) throw new ClusterError('BAD_REQUEST', `${what} ${v} is out of int64 range`);
    return v;
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw new ClusterError('BAD_REQUEST', `${what} must be a whole number or a bigint, got ${String(v)}`);
}

export class AtomicOps {
  constructor(
    private readonly router: Router,
    private readonly opts: ResolvedOptions,
  ) {}

  private req(cmd: number, map: string, key: string, fullWait: boolean | undefined): Request {
    const req = keyRequest(cmd, map, key);
    req.flags = (fullWait ?? this.opts.fullWait) ? WriteFlag.fullWait : 0;
    return req;
  }

  private submit<T>(build: () => Request): Promise<T> {
    try {
      return this.router.submit<T>(build());
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** Adds `by` (negative to subtract) to an int or long item; the new value. */
  incr(map: string, key: string, by: number | bigint, options: IncrOptions | undefined): Promise<number | bigint> {
    return this.submit(() => {
      const req = this.req(Cmd.incr, map, key, options?.fullWait);
      req.big = toBig('by', by);
      const initial = options?.initial ?? (typeof by === 'bigint' ? 0n : 0);
      req.valueType = valueTypeOf(initial);
      if (req.valueType !== ValueType.int32 && req.valueType !== ValueType.int64) throw new ClusterError('BAD_REQUEST', 'initial must be a number (int) or a bigint (long)');
      req.value = initial;
      req.num = checkExpiresSec(options?.expiresSec);
      return req;
    });
  }

  decr(map: string, key: string, by: number | bigint, options: IncrOptions | undefined): Promise<number | bigint> {
    try {
      const negated = typeof by === 'bigint' ? -toBig('by', by) : -Number(toBig('by', by));
      return this.incr(map, key, negated, options);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** A conditional set: the new version, or null when ifAbsent/ifExists kept it from writing. */
  setIf(map: string, key: string, value: ClusterValueInput, options: ConditionalSetOptions): Promise<bigint | null> {
    return this.submit(() => {
      const req = this.req(Cmd.setIf, map, key, options.fullWait);
      const conditions = [options.ifAbsent === true, options.ifExists === true, options.ifVersion !== undefined].filter(Boolean).length;
      if (conditions !== 1) throw new ClusterError('BAD_REQUEST', 'give exactly one of ifAbsent, ifExists, ifVersion');
      req.cond = options.ifAbsent === true ? SetCondition.ifAbsent : options.ifExists === true ? SetCondition.ifExists : SetCondition.ifVersion;
      req.big = options.ifVersion === undefined ? 0n : checkVersion(options.ifVersion);
      req.valueType = valueTypeOf(value);
      req.value = value;
      req.num = checkExpiresSec(options.expiresSec);
      return req;
    });
  }

  /** Sets the value; the value it replaced (null: there was none). */
  getAndSet(map: string, key: string, value: ClusterValueInput, options: SetOptions | undefined): Promise<ClusterValue | null> {
    return this.submit(() => {
      const req = this.req(Cmd.getAndSet, map, key, options?.fullWait);
      req.valueType = valueTypeOf(value);
      req.value = value;
      req.num = checkExpiresSec(options?.expiresSec);
      return req;
    });
  }

  /** Deletes the item; the value it held (null: there was none). */
  getAndDelete(map: string, key: string, fullWait: boolean | undefined): Promise<ClusterValue | null> {
    return this.submit(() => this.req(Cmd.getAndDelete, map, key, fullWait));
  }

  /** The item's value and version; null when it does not exist. */
  getWithVersion(map: string, key: string): Promise<Versioned | null> {
    return this.submit(() => this.req(Cmd.getWithVersion, map, key, false));
  }

  /** Deletes the item only if it is at `version` (true); else VERSION_MISMATCH. */
  deleteIf(map: string, key: string, version: bigint, fullWait: boolean | undefined): Promise<boolean> {
    return this.submit(() => {
      const req = this.req(Cmd.deleteIf, map, key, fullWait);
      req.big = checkVersion(version);
      return req;
    });
  }
}
