// Codecs of the fixed frames of shared/PROTOCOL.md: legacy sets and gets, pushes, replies.
import type { Reader, Writer } from '../codec.js';

export interface LegacySet<V> {
  mapHash: number;
  keyHash: number;
  expiresSec: number;
  fullWait: number;
  name: string;
  value: V;
}

function writeSetHead(w: Writer, m: LegacySet<unknown>): void {
  w.u32AsInt(m.mapHash);
  w.u32AsInt(m.keyHash);
  w.i32(m.expiresSec);
  w.i32(m.fullWait);
  w.strLatin1(m.name);
}

function readSetHead(r: Reader): Omit<LegacySet<unknown>, 'value'> {
  return { mapHash: r.u32(), keyHash: r.u32(), expiresSec: r.i32(), fullWait: r.i32(), name: r.strLatin1() };
}

/** set_int (2000): int map hash, int key hash, int expires, int full wait, string name, int value. */
export const setInt = {
  encode(w: Writer, m: LegacySet<number>): void {
    writeSetHead(w, m);
    w.i32(m.value);
  },
  decode(r: Reader): LegacySet<number> {
    const head = readSetHead(r);
    const value = r.i32();
    r.done('set_int');
    return { mapHash: head.mapHash, keyHash: head.keyHash, expiresSec: head.expiresSec, fullWait: head.fullWait, name: head.name, value };
  },
};

/** set_string (2020): as set_int with a string value (raw bytes). */
export const setString = {
  encode(w: Writer, m: LegacySet<Buffer>): void {
    writeSetHead(w, m);
    w.strBytes(m.value);
  },
  decode(r: Reader): LegacySet<Buffer> {
    const head = readSetHead(r);
    const value = r.strCopy();
    r.done('set_string');
    return { mapHash: head.mapHash, keyHash: head.keyHash, expiresSec: head.expiresSec, fullWait: head.fullWait, name: head.name, value };
  },
};

export interface HashRef {
  mapHash: number;
  keyHash: number;
}

/** get_int (2100) and get_string (2120): int map hash, int key hash. */
export const legacyGet = {
  encode(w: Writer, m: HashRef): void {
    w.u32AsInt(m.mapHash);
    w.u32AsInt(m.keyHash);
  },
  decode(r: Reader): HashRef {
    const m = { mapHash: r.u32(), keyHash: r.u32() };
    r.done('get');
    return m;
  },
};

/** data_int (2105): int map hash, int key hash, int value. */
export const dataInt = {
  encode(w: Writer, m: HashRef & { value: number }): void {
    w.u32AsInt(m.mapHash);
    w.u32AsInt(m.keyHash);
    w.i32(m.value);
  },
  decode(r: Reader): HashRef & { value: number } {
    const m = { mapHash: r.u32(), keyHash: r.u32(), value: r.i32() };
    r.done('data_int');
    return m;
  },
};

/** data_string (2125): int map hash, int key hash, string value. */
export const dataString = {
  encode(w: Writer, m: HashRef & { value: Uint8Array }): void {
    w.u32AsInt(m.mapHash);
    w.u32AsInt(m.keyHash);
    w.strBytes(m.value);
  },
  decode(r: Reader): HashRef & { value: Buffer } {
    const m = { mapHash: r.u32(), keyHash: r.u32(), value: r.strCopy() };
    r.done('data_string');
    return m;
  },
};

/** server_info (100), and the address-only frames: tryelsewhere (4), server_gone (110), server_leaving (115), shuttingdown (15). */
export const address = {
  encode(w: Writer, addr: string): void {
    w.strLatin1(addr);
  },
  decode(r: Reader): string {
    const s = r.strLatin1();
    r.done('address');
    return s;
  },
};

export interface Hashmask {
  mask: number;
  hash: number;
  level: number;
}

/** hashmask (120): int mask, int bucket hash, int level (0 primary, 1+ backup, -1 not held). */
export const hashmask = {
  encode(w: Writer, m: Hashmask): void {
    w.u32AsInt(m.mask);
    w.u32AsInt(m.hash);
    w.i32(m.level);
  },
  decode(r: Reader): Hashmask {
    const m = { mask: r.u32(), hash: r.u32(), level: r.i32() };
    r.done('hashmask');
    return m;
  },
};

export interface FailInfo {
  code: number;
  message: string;
}

/** failinfo (3): int error code, string description. */
export const failinfo = {
  encode(w: Writer, m: FailInfo): void {
    w.i32(m.code);
    w.strUtf8(m.message);
  },
  decode(r: Reader): FailInfo {
    const m = { code: r.i32(), message: r.strUtf8() };
    r.done('failinfo');
    return m;
  },
};

/** unknown (9): short, the command number that was not understood. */
export const unknown = {
  encode(w: Writer, command: number): void {
    w.u16(command);
  },
  decode(r: Reader): number {
    const c = r.u16();
    r.done('unknown');
    return c;
  },
};
