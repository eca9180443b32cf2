// Codecs of the batch commands (mget, mset, mdelete: many keys of one map or of the plain keyspace
// in one frame, answered per key in input order) and of scan (one page of one bucket's keys).
import { DecodeError, type Reader, type TextForm, type Writer } from '../codec.js';
import { readValue, writeValue, type Value } from '../values.js';

/** At most this many keys in one batch frame (a node refuses more as a bad request). */
export const BATCH_KEYS_MAX = 10_000;
/** At most this many keys in one scan page. */
export const SCAN_PAGE_KEYS_MAX = 10_000;

function readCount(r: Reader, what: string, max: number): number {
  const n = r.i32();
  if (n < 0 || n > max) throw new DecodeError(`${what}: key count ${n} is not within 0..${max}`);
  return n;
}

export interface MgetMsg {
  map: string;
  keys: string[];
}

/** mget (2240) and mdelete (2242) share a shape: string map, [int flags,] int count, count strings. */
export const mget = {
  decode(r: Reader, enc: TextForm): MgetMsg {
    const map = r.str(enc);
    const n = readCount(r, 'mget', BATCH_KEYS_MAX);
    const keys = r.strs(n, enc);
    r.done('mget');
    return { map, keys };
  },
};

export interface MdeleteMsg extends MgetMsg {
  flags: number;
}

export const mdelete = {
  decode(r: Reader, enc: TextForm): MdeleteMsg {
    const map = r.str(enc);
    const flags = r.i32();
    const n = readCount(r, 'mdelete', BATCH_KEYS_MAX);
    const keys = r.strs(n, enc);
    r.done('mdelete');
    return { map, flags, keys };
  },
};

export interface MsetMsg {
  map: string;
  expiresSec: number;
  flags: number;
  /** A null value is the none type: that key is answered badRequest. */
  entries: { key: string; value: Value | null }[];
}

/** mset (2241): string map, int expires (s, 0 never), int flags, int count, count × (string key, value). */
export const mset = {
  decode(r: Reader, enc: TextForm): MsetMsg {
    const map = r.str(enc);
    const expiresSec = r.i32();
    const flags = r.i32();
    const n = readCount(r, 'mset', BATCH_KEYS_MAX);
    const entries = new Array<{ key: string; value: Value | null }>(n);
    for (let i = 0; i < n; i++) entries[i] = { key: r.str(enc), value: readValue(r) };
    r.done('mset');
    return { map, expiresSec, flags, entries };
  },
};

/** How one key of a batch ended (the int before each key's answer in reply 25). */
export const KeyStatus = {
  /** Done; what follows depends on the command (mget: value; mdelete: int existed; mset: nothing). */
  ok: 0,
  /** Another node serves the key's bucket: string address follows. Not applied. */
  elsewhere: 1,
  /** An error: int failinfo code, string message follow (retryLater, noOwner, batchFull: not applied). */
  error: 2,
} as const;

/** One key's answer as a node builds it. */
export type KeyAnswer =
  | { s: 0; value?: Value | null; existed?: boolean }
  | { s: 1; addr: string }
  | { s: 2; code: number; message: string };

/** batch (25): int count, then per key in request order: int status and its fields (KeyStatus). */
export const batchReply = {
  encode(w: Writer, command: 'mget' | 'mset' | 'mdelete', answers: readonly KeyAnswer[]): void {
    w.i32(answers.length);
    for (const a of answers) writeAnswer(w, command, a);
  },
};

/** One key's answer in a batch reply (a node that writes mget values itself writes KeyStatus.ok, then the value). */
export function writeAnswer(w: Writer, command: 'mget' | 'mset' | 'mdelete', a: KeyAnswer): void {
  w.i32(a.s);
  if (a.s === KeyStatus.ok) {
    if (command === 'mget') writeValue(w, a.value ?? null);
    else if (command === 'mdelete') w.i32(a.existed === true ? 1 : 0);
  } else if (a.s === KeyStatus.elsewhere) {
    w.strLatin1(a.addr);
  } else {
    w.i32(a.code);
    w.strUtf8(a.message);
  }
}

/** Bytes a key's answer adds to a batch reply, at most (for the reply's size bound). */
export function answerBytes(a: KeyAnswer): number {
  if (a.s === KeyStatus.ok) {
    const v = a.value;
    if (v === undefined || v === null) return 8;
    return v.t === 3 || v.t === 4 ? 12 + v.v.length : 16;
  }
  if (a.s === KeyStatus.elsewhere) return 8 + a.addr.length;
  return 12 + 3 * a.message.length;
}

export interface ScanMsg {
  /** The mask the client counts buckets with. */
  mask: number;
  bucket: number;
  /** '' scans plain keys; else the entries of this map. */
  map: string;
  prefix: string;
  /** Only keys after this one (byte order); null: from the start of the bucket. */
  after: string | null;
  count: number;
}

/** scan (2243): int mask, int bucket, string map, string prefix, int has-cursor (0/1), string after, int count. */
export const scan = {
  decode(r: Reader, enc: TextForm): ScanMsg {
    const mask = r.i32();
    const bucket = r.i32();
    const map = r.str(enc);
    const prefix = r.str(enc);
    const hasCursor = r.i32();
    const cursor = r.str(enc);
    const after = hasCursor !== 0 ? cursor : null;
    const count = r.i32();
    r.done('scan');
    if (count < 1 || count > SCAN_PAGE_KEYS_MAX) throw new DecodeError(`scan: count ${count} is not within 1..${SCAN_PAGE_KEYS_MAX}`);
    return { mask, bucket, map, prefix, after, count };
  },
};

/** scan_page (26): int more (1: the bucket has keys after the last one), int count, count strings (in byte order). */
export const scanPage = {
  encode(w: Writer, more: boolean, keys: readonly string[], enc: TextForm): void {
    w.i32(more ? 1 : 0);
    w.i32(keys.length);
    for (const k of keys) w.str(k, enc);
  },
};
