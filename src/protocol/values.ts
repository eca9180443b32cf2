// Typed values on the wire: int type tag, then an int, a long, or a string of bytes.
import { DecodeError, type Reader, type Writer } from './codec.js';

export const ValueType = {
  none: 0,
  int32: 1,
  int64: 2,
  string: 3,
  binary: 4,
} as const;

export type ValueTypeNumber = (typeof ValueType)[keyof typeof ValueType];

export type Value =
  | { t: 1; v: number }
  | { t: 2; v: bigint }
  | { t: 3; v: Buffer }
  | { t: 4; v: Buffer };

export function valueTypeName(t: number): string {
  switch (t) {
    case ValueType.none:
      return 'none';
    case ValueType.int32:
      return 'int';
    case ValueType.int64:
      return 'long';
    case ValueType.string:
      return 'string';
    case ValueType.binary:
      return 'binary';
    default:
      return `type${t}`;
  }
}

export function isValueType(t: number): t is ValueTypeNumber {
  return t >= 0 && t <= 4 && Number.isInteger(t);
}

/** Writes a value, or the none tag for null. */
export function writeValue(w: Writer, value: Value | null): void {
  if (value === null) {
    w.i32(ValueType.none);
    return;
  }
  w.i32(value.t);
  switch (value.t) {
    case 1:
      w.i32(value.v);
      return;
    case 2:
      w.i64(value.v);
      return;
    case 3:
    case 4:
      // A Value's bytes never change once made (stored values are replaced, not edited).
      w.strShared(value.v);
      return;
  }
}

/**
 * Reads a value that may be kept: string and binary bytes are copied out, or (a large value of a
 * frame that owns its buffer, Reader.strKeep) kept as a view without a copy.
 */
export function readValue(r: Reader): Value | null {
  const t = r.i32();
  switch (t) {
    case ValueType.none:
      return null;
    case ValueType.int32:
      return { t: 1, v: r.i32() };
    case ValueType.int64:
      return { t: 2, v: r.i64() };
    case ValueType.string:
      return { t: 3, v: r.strKeep() };
    case ValueType.binary:
      return { t: 4, v: r.strKeep() };
    default:
      throw new DecodeError(`unknown value type ${t}`);
  }
}

export function valueBytes(value: Value): number {
  return value.t === 1 ? 4 : value.t === 2 ? 8 : value.v.length;
}

export function valuesEqual(a: Value | null, b: Value | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.t !== b.t) return false;
  if (a.t === 3 || a.t === 4) return (b.v as Buffer).equals(a.v);
  return a.v === b.v;
}
