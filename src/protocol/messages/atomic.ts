// Codecs of the atomic single-key commands (incr, conditional set, get-and-set, get-and-delete,
// versioned get, conditional delete: 2220-2225) and of the versioned reply (20). Pure, no I/O.
import { DecodeError, type Reader, type TextForm, type Writer } from '../codec.js';
import { readValue, writeValue, type Value } from '../values.js';

/** The condition of set_if (2221). */
export const SetCondition = {
  /** Write only if the item does not exist. */
  ifAbsent: 1,
  /** Write only if the item exists. */
  ifExists: 2,
  /** Write only if the item exists with exactly this version (else failinfo versionMismatch). */
  ifVersion: 3,
} as const;

export interface IncrMsg {
  map: string;
  key: string;
  /** Expiry of an item this command creates (s, 0 never); an existing item keeps its own. */
  expiresSec: number;
  flags: number;
  by: bigint;
  /** The value a missing item starts from; its type (int or long) is the new item's type. */
  initial: Value;
}

/** incr (2220): string map, string key, int expires, int flags, long by, value initial (int or long). Reply: value (5), the new value. */
export const incr = {
  encode(w: Writer, m: IncrMsg, enc: TextForm): void {
    w.str(m.map, enc);
    w.str(m.key, enc);
    w.i32(m.expiresSec);
    w.i32(m.flags);
    w.i64(m.by);
    writeValue(w, m.initial);
  },
  decode(r: Reader, enc: TextForm): IncrMsg {
    const map = r.str(enc);
    const key = r.str(enc);
    const expiresSec = r.i32();
    const flags = r.i32();
    const by = r.i64();
    const initial = readValue(r);
    r.done('incr');
    if (initial === null || (initial.t !== 1 && initial.t !== 2)) throw new DecodeError('incr: initial must be an int or a long');
    return { map, key, expiresSec, flags, by, initial };
  },
};

export interface SetIfMsg {
  map: string;
  key: string;
  expiresSec: number;
  flags: number;
  condition: number;
  /** ifVersion: the version the item must have; 0 otherwise. */
  version: bigint;
  value: Value;
}

/** set_if (2221): string map, string key, int expires, int flags, int condition, long version, value. Reply: long (7), the new version or 0 when not written. */
export const setIf = {
  encode(w: Writer, m: SetIfMsg, enc: TextForm): void {
    w.str(m.map, enc);
    w.str(m.key, enc);
    w.i32(m.expiresSec);
    w.i32(m.flags);
    w.i32(m.condition);
    w.i64(m.version);
    writeValue(w, m.value);
  },
  decode(r: Reader, enc: TextForm): SetIfMsg {
    const map = r.str(enc);
    const key = r.str(enc);
    const expiresSec = r.i32();
    const flags = r.i32();
    const condition = r.i32();
    const version = r.i64();
    const value = readValue(r);
    r.done('set_if');
    if (condition < SetCondition.ifAbsent || condition > SetCondition.ifVersion) throw new DecodeError(`set_if: unknown condition ${condition}`);
    if (value === null) throw new DecodeError('set_if needs a value (type 0 is none)');
    return { map, key, expiresSec, flags, condition, version, value };
  },
};

export interface GetAndSetMsg {
  map: string;
  key: string;
  expiresSec: number;
  flags: number;
  value: Value;
}

/** get_and_set (2222): string map, string key, int expires, int flags, value. Reply: value (5), the old value. */
export const getAndSet = {
  encode(w: Writer, m: GetAndSetMsg, enc: TextForm): void {
    w.str(m.map, enc);
    w.str(m.key, enc);
    w.i32(m.expiresSec);
    w.i32(m.flags);
    writeValue(w, m.value);
  },
  decode(r: Reader, enc: TextForm): GetAndSetMsg {
    const map = r.str(enc);
    const key = r.str(enc);
    const expiresSec = r.i32();
    const flags = r.i32();
    const value = readValue(r);
    r.done('get_and_set');
    if (value === null) throw new DecodeError('get_and_set needs a value (type 0 is none)');
    return { map, key, expiresSec, flags, value };
  },
};

export interface DeleteIfMsg {
  map: string;
  key: string;
  flags: number;
  /** delete_if: the version the item must have; get_and_delete: unused (absent on the wire). */
  version: bigint;
}

/** get_and_delete (2223): string map, string key, int flags. Reply: value (5), the old value. */
export const getAndDelete = {
  encode(w: Writer, m: Omit<DeleteIfMsg, 'version'>, enc: TextForm): void {
    w.str(m.map, enc);
    w.str(m.key, enc);
    w.i32(m.flags);
  },
  decode(r: Reader, enc: TextForm): DeleteIfMsg {
    const map = r.str(enc);
    const key = r.str(enc);
    const flags = r.i32();
    r.done('get_and_delete');
    return { map, key, flags, version: 0n };
  },
};

/** delete_if (2225): string map, string key, int flags, long version. Reply: bool (6) true; failinfo versionMismatch. */
export const deleteIf = {
  encode(w: Writer, m: DeleteIfMsg, enc: TextForm): void {
    w.str(m.map, enc);
    w.str(m.key, enc);
    w.i32(m.flags);
    w.i64(m.version);
  },
  decode(r: Reader, enc: TextForm): DeleteIfMsg {
    const map = r.str(enc);
    const key = r.str(enc);
    const flags = r.i32();
    const version = r.i64();
    r.done('delete_if');
    return { map, key, flags, version };
  },
};

/** get_with_version (2224): string map, string key (the codec of exists/ttl: data.keyOnly). */

export interface VersionedValue {
  value: Value | null;
  /** 0 when there is no item. */
  version: bigint;
}

/** versioned (reply 20): value (type 0 = no such item), long version (0 when none). */
export const versionedReply = {
  encode(w: Writer, m: VersionedValue): void {
    writeValue(w, m.value);
    w.i64(m.version);
  },
  decode(r: Reader): VersionedValue {
    const value = readValue(r);
    const version = r.i64();
    r.done('versioned');
    return { value, version };
  },
};
