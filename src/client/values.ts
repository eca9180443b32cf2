// Client values: JS value <-> wire typed value, with range checks before anything is sent,
// encoding straight into a Writer and decoding straight from a frame's payload.
import { DecodeError, type Reader, type Writer } from '../protocol/codec.js';
import { ValueType } from '../protocol/values.js';
import { ClusterError } from './errors.js';

export type ClusterValue = string | number | bigint | Buffer;
/** What a write accepts: any ClusterValue, or any Uint8Array (sent as binary). */
export type ClusterValueInput = ClusterValue | Uint8Array;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Expiry seconds on the wire: 0 (never) .. 2^31-1. */
export const EXPIRES_SEC_MAX = INT32_MAX;

/** The wire type a value is sent as; throws ClusterError BAD_REQUEST when it cannot be sent. */
export function valueTypeOf(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return ValueType.string;
    case 'number':
      if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
        throw new ClusterError('BAD_REQUEST', `number ${value} is not an int32 (use a bigint for int64)`);
      }
      return ValueType.int32;
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) throw new ClusterError('BAD_REQUEST', `bigint ${value} is out of int64 range`);
      return ValueType.int64;
    default:
      if (value instanceof Uint8Array) return ValueType.binary;
      throw new ClusterError('BAD_REQUEST', `unsupported value type ${value === null ? 'null' : typeof value}`);
  }
}

/**
 * Writes a value already checked by valueTypeOf() as the given wire type. A large one (the
 * writer's refMinBytes and up: a connection's) is encoded or copied once into a buffer of its own
 * that the batch references (Writer.strShared): the batch does not grow around it by doubling,
 * and the caller's bytes may change as soon as the call returns.
 */
export function writeClusterValue(w: Writer, type: number, value: ClusterValueInput): void {
  w.i32(type);
  switch (type) {
    case ValueType.string: {
      const s = value as string;
      // A string takes at least one byte per UTF-16 unit: shorter than refMinBytes, it is small.
      if (s.length < w.refMinBytes) return w.strUtf8(s);
      return w.strShared(Buffer.from(s, 'utf8'));
    }
    case ValueType.int32:
      w.i32(value as number);
      return;
    case ValueType.int64:
      w.i64(value as bigint);
      return;
    default: {
      const bytes = value as Uint8Array;
      if (bytes.length < w.refMinBytes) return w.strBytes(bytes);
      const own = Buffer.allocUnsafeSlow(bytes.length);
      own.set(bytes);
      return w.strShared(own);
    }
  }
}

/**
 * Reads a typed value: strings decode as UTF-8 from the payload, binary is copied out (or kept as a
 * view of a large reply that owns its buffer, Reader.strKeep). null = none.
 */
export function readClusterValue(r: Reader): ClusterValue | null {
  const t = r.i32();
  switch (t) {
    case ValueType.none:
      return null;
    case ValueType.int32:
      return r.i32();
    case ValueType.int64:
      return r.i64();
    case ValueType.string:
      return r.strUtf8();
    case ValueType.binary:
      return r.strKeep();
    default:
      throw new DecodeError(`unknown value type ${t}`);
  }
}

export function checkKey(what: string, key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new ClusterError('BAD_REQUEST', `${what} must be a string`);
}

export function checkExpiresSec(seconds: unknown): number {
  if (seconds === undefined) return 0;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0 || seconds > EXPIRES_SEC_MAX) {
    throw new ClusterError('BAD_REQUEST', `expiry must be a whole number of seconds in 0..${EXPIRES_SEC_MAX}, got ${String(seconds)}`);
  }
  return seconds;
}
