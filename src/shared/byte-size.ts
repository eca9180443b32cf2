// Sizes as people write them ("512mb", "1gb", "1048576"): parsed into bytes, and shown back.

const UNIT_BYTES: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
};

/**
 * Bytes of a size: a whole or decimal number and an optional unit (b, k/kb, m/mb, g/gb, t/tb;
 * powers of 1024, any case, as Redis reads maxmemory). A RangeError says what is wrong.
 */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (m === null) throw new RangeError(`"${text}" is not a size (give bytes, or a number with kb, mb or gb, like 512mb)`);
  const unit = UNIT_BYTES[m[2]!.toLowerCase()];
  if (unit === undefined) throw new RangeError(`"${text}": unknown unit "${m[2]}" (use b, kb, mb, gb or tb)`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`"${text}" is too large`);
  return bytes;
}

/** A size for people: "512.0 MiB", "3.2 GiB", "900 B". */
export function formatByteSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
