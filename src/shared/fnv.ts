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

/**
 * The hash the original C client (2012) computes: FNV-1a with each byte read as a *signed* char,
 * so a byte b >= 0x80 is XORed in sign-extended (b | 0xffffff00). Equal to FNV-1a for ASCII text.
 * Over a latin1 string (one byte per char code), like fnv1aLatin1.
 */
export function fnv1aSignedCharLatin1(text: string): number {
  let hash = OFFSET_BASIS;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) & 0xff;
    hash ^= c >= 0x80 ? c | 0xffffff00 : c;
    hash = Math.imul(hash, PRIME);
  }
  return hash >>> 0;
}

/** True when the text holds a byte >= 0x80 (where the signed-char variant may differ). */
export function hasHighBytesLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if ((text.charCodeAt(i) & 0xff) >= 0x80) return true;
  return false;
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

/**
 * A plain key that an original client sent with its signed-char hash (not FNV-1a; the name holds
 * bytes >= 0x80) is kept, under its own name, in the map LEGACY_KEY_PREFIX + 8 hex digits of that
 * hash: the map routes by that hash, so the item stays in the bucket the client's hash names
 * through widenings, moves, save files and logs, and its legacy gets find it there.
 */
export const LEGACY_KEY_PREFIX = '\u0000legacy-key:';

export function legacyKeyMapName(keyHash: number): string {
  return LEGACY_KEY_PREFIX + (keyHash >>> 0).toString(16).padStart(8, '0');
}

/** True for the maps that hold signed-char-hashed plain keys (see LEGACY_KEY_PREFIX). */
export function isLegacyKeyMap(name: string): boolean {
  return hashOfPrefixed(name, LEGACY_KEY_PREFIX) !== undefined;
}

function hashOfPrefixed(name: string, prefix: string): number | undefined {
  if (name.length !== prefix.length + 8 || !name.startsWith(prefix)) return undefined;
  const hex = name.slice(prefix.length);
  return /^[0-9a-f]{8}$/.test(hex) ? Number.parseInt(hex, 16) >>> 0 : undefined;
}

/** The hash that places a map's entries (latin1 form of the name). */
export function mapRouteHashLatin1(name: string): number {
  if (name.length > 0 && name.charCodeAt(0) === 0) {
    const h = hashOfPrefixed(name, LEGACY_MAP_PREFIX) ?? hashOfPrefixed(name, LEGACY_KEY_PREFIX);
    if (h !== undefined) return h;
  }
  return fnv1aLatin1(name);
}

/** The hash that places an item: the map's for map entries, the key's for plain items (latin1 forms). */
export function itemRouteHashLatin1(map: string, key: string): number {
  return map.length > 0 ? mapRouteHashLatin1(map) : fnv1aLatin1(key);
}
