// Codecs of the project's data commands (items named by full key and map name) and their replies.
import { DecodeError, type Reader, type TextForm, type Writer } from '../codec.js';
import { readValue, writeValue, type Value } from '../values.js';

/** An item's address: map name ('' for a plain key) and key. */
export interface KeyRef {
  map: string;
  key: string;
}

function writeRef(w: Writer, m: KeyRef, enc: TextForm): void {
  w.str(m.map, enc);
  w.str(m.key, enc);
}

function readRef(r: Reader, enc: TextForm): KeyRef {
  return { map: r.str(enc), key: r.str(enc) };
}

export interface SetMsg extends KeyRef {
  expiresSec: number;
  flags: number;
  value: Value;
}

/** set (2200): string map, string key, int expires (s, 0 never), int flags, value. */
export const set = {
  encode(w: Writer, m: SetMsg, enc: TextForm): void {
    writeRef(w, m, enc);
    w.i32(m.expiresSec);
    w.i32(m.flags);
    writeValue(w, m.value);
  },
  /** Returns null for the value when the frame carries the none type (a bad request). */
  decode(r: Reader, enc: TextForm): Omit<SetMsg, 'value'> & { value: Value | null } {
    const map = r.str(enc);
    const key = r.str(enc);
    const expiresSec = r.i32();
    const flags = r.i32();
    const value = readValue(r);
    r.done('set');
    return { map, key, expiresSec, flags, value };
  },
};

export interface GetMsg extends KeyRef {
  /** The type the caller expects (0 = any); another type answers failinfo wrongType. */
  expectType: number;
}

/** get (2201): string map, string key, int expected type. Reply: value (5). */
export const get = {
  encode(w: Writer, m: GetMsg, enc: TextForm): void {
    writeRef(w, m, enc);
    w.i32(m.expectType);
  },
  decode(r: Reader, enc: TextForm): GetMsg {
    const map = r.str(enc);
    const key = r.str(enc);
    const expectType = r.i32();
    r.done('get');
    return { map, key, expectType };
  },
};

export interface KeyFlagsMsg extends KeyRef {
  flags: number;
}

/** delete (2202): string map, string key, int flags. Reply: bool (6), true if it existed. */
export const del = {
  encode(w: Writer, m: KeyFlagsMsg, enc: TextForm): void {
    writeRef(w, m, enc);
    w.i32(m.flags);
  },
  decode(r: Reader, enc: TextForm): KeyFlagsMsg {
    const map = r.str(enc);
    const key = r.str(enc);
    const flags = r.i32();
    r.done('delete');
    return { map, key, flags };
  },
};

/** exists (2203) and ttl (2205): string map, string key. */
export const keyOnly = {
  encode(w: Writer, m: KeyRef, enc: TextForm): void {
    writeRef(w, m, enc);
  },
  decode(r: Reader, enc: TextForm): KeyRef {
    const ref = readRef(r, enc);
    r.done('key');
    return ref;
  },
};

export interface ExpireMsg extends KeyRef {
  expiresSec: number;
  flags: number;
}

/** expire (2204): string map, string key, int expires (s, 0 = never), int flags. Reply: bool. */
export const expire = {
  encode(w: Writer, m: ExpireMsg, enc: TextForm): void {
    writeRef(w, m, enc);
    w.i32(m.expiresSec);
    w.i32(m.flags);
  },
  decode(r: Reader, enc: TextForm): ExpireMsg {
    const map = r.str(enc);
    const key = r.str(enc);
    const expiresSec = r.i32();
    const flags = r.i32();
    r.done('expire');
    return { map, key, expiresSec, flags };
  },
};

/** map_get_all (2210), map_keys (2211), map_count (2212): string map. */
export const mapOnly = {
  encode(w: Writer, map: string, enc: TextForm): void {
    w.str(map, enc);
  },
  decode(r: Reader, enc: TextForm): string {
    const map = r.str(enc);
    r.done('map');
    return map;
  },
};

export interface MapDeleteMsg {
  map: string;
  flags: number;
}

/** map_delete (2213): string map, int flags. Reply: bool. */
export const mapDelete = {
  encode(w: Writer, m: MapDeleteMsg, enc: TextForm): void {
    w.str(m.map, enc);
    w.i32(m.flags);
  },
  decode(r: Reader, enc: TextForm): MapDeleteMsg {
    const map = r.str(enc);
    const flags = r.i32();
    r.done('map_delete');
    return { map, flags };
  },
};

export interface ClientHelloMsg {
  version: number;
  features: number;
}

/** client_hello (11): int protocol version, int feature flags. */
export const clientHello = {
  encode(w: Writer, m: ClientHelloMsg): void {
    w.i32(m.version);
    w.i32(m.features);
  },
  decode(r: Reader): ClientHelloMsg {
    const m = { version: r.i32(), features: r.i32() };
    r.done('client_hello');
    return m;
  },
};

// ---- replies ----

/** value (5): int type, then the value (type 0: none, the item does not exist). */
export const valueReply = {
  encode(w: Writer, v: Value | null): void {
    writeValue(w, v);
  },
  decode(r: Reader): Value | null {
    const v = readValue(r);
    r.done('value');
    return v;
  },
};

/** bool (6): int 0 or 1. */
export const boolReply = {
  encode(w: Writer, v: boolean): void {
    w.i32(v ? 1 : 0);
  },
  decode(r: Reader): boolean {
    const v = r.i32();
    r.done('bool');
    return v !== 0;
  },
};

/** long (7): long. */
export const longReply = {
  encode(w: Writer, v: number): void {
    w.i64n(v);
  },
  decode(r: Reader): number {
    const v = r.i64n();
    r.done('long');
    return v;
  },
};

/** strings (8): int count, then count strings. */
export const stringsReply = {
  encode(w: Writer, list: readonly string[], enc: TextForm): void {
    w.i32(list.length);
    for (const s of list) w.str(s, enc);
  },
  decode(r: Reader, enc: TextForm, maxCount: number): string[] {
    const n = r.i32();
    if (n < 0 || n > maxCount) throw new RangeError(`strings count ${n} out of range`);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(r.str(enc));
    r.done('strings');
    return out;
  },
};

export interface Entry {
  key: string;
  value: Value;
}

/** entries (11): int count, then count times (string key, value). */
export const entriesReply = {
  encode(w: Writer, list: readonly Entry[], enc: TextForm): void {
    w.i32(list.length);
    for (const e of list) {
      w.str(e.key, enc);
      writeValue(w, e.value);
    }
  },
  decode(r: Reader, enc: TextForm, maxCount: number): Entry[] {
    const n = r.i32();
    if (n < 0 || n > maxCount) throw new RangeError(`entries count ${n} out of range`);
    const out: Entry[] = [];
    for (let i = 0; i < n; i++) {
      const key = r.str(enc);
      const value = readValue(r);
      if (value !== null) out.push({ key, value });
    }
    r.done('entries');
    return out;
  },
};

/** json (12): string, a UTF-8 JSON document (stats). */
export const jsonReply = {
  encode(w: Writer, doc: unknown): void {
    w.strUtf8(JSON.stringify(doc));
  },
  decode(r: Reader): unknown {
    const text = r.strUtf8();
    r.done('json');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new DecodeError('json reply is not a JSON document');
    }
  },
};
