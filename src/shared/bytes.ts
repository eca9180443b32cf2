// Big-endian ints read from and written into byte arrays without checks of their own: the caller
// has checked the bounds. BACKGROUND: Buffer's readInt32BE/writeInt32BE and their kin check their
// arguments in JS on every call, ~15-20 ns against ~2-5 for the byte loads and stores here (Node 20,
// this project's machine); a batch reply writes three ints per key, every frame reads four.

/** The int at b[at..at+4). */
export function get32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

/** The unsigned int at b[at..at+4). */
export function getU32(b: Uint8Array, at: number): number {
  return get32(b, at) >>> 0;
}

/** The unsigned short at b[at..at+2). */
export function getU16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

/** v's low 32 bits at b[at..at+4). */
export function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}
