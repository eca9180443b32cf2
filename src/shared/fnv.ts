// FNV-1a 32-bit hashing of key bytes: the one hash that places every key in a bucket.
// Hashes are returned unsigned (0 .. 2^32-1); on the wire they travel as the same bits in an int.

const OFFSET_BASIS = 2166136261;
const PRIME = 16777619;

/** FNV-1a over raw bytes. */
export function fnv1a(bytes: Uint8Array): number {
  let hash = OFFSET_BASIS;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i]!;
    hash = Math.imul(hash, PRIME);
  }
  return hash >>> 0;
}

/** FNV-1a over a string given as latin1 (one byte per char code), the server's internal key form. */
export function fnv1aLatin1(text: string): number {
  let hash = OFFSET_BASIS;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i) & 0xff;
    hash = Math.imul(hash, PRIME);
  }
  return hash >>> 0;
}

/** FNV-1a over the UTF-8 bytes of a string, the client's key form. */
export function fnv1aUtf8(text: string): number {
  return fnv1a(Buffer.from(text, 'utf8'));
}
