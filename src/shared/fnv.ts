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

/**
 * Maps that legacy clients created by hash alone (set_int/set_string with a map hash the node has
 * no name for) are named LEGACY_MAP_PREFIX + 8 hex digits, and route by that hash, not by FNV.
 */
export const LEGACY_MAP_PREFIX = '\u0000legacy:';

export function legacyMapName(mapHash: number): string {
  return LEGACY_MAP_PREFIX + (mapHash >>> 0).toString(16).padStart(8, '0');
}

/** The hash that places a map's entries (latin1 form of the name). */
export function mapRouteHashLatin1(name: string): number {
  if (name.length === LEGACY_MAP_PREFIX.length + 8 && name.startsWith(LEGACY_MAP_PREFIX)) {
    const hex = name.slice(LEGACY_MAP_PREFIX.length);
    if (/^[0-9a-f]{8}$/.test(hex)) return Number.parseInt(hex, 16) >>> 0;
  }
  return fnv1aLatin1(name);
}
