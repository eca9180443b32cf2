// CLI argument validation: pure functions that turn option and argument text into typed values
// (or a UsageError), checked before any connection is made.
import { AddressError, formatAddress, parseAddress, type Address } from '../shared/address.js';
import { readFileSync } from 'node:fs';
import { DEFAULT_PORT } from '../shared/limits.js';

/** A bad command line: exit 2 with the message on one line. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const VALUE_TYPES = ['int', 'long', 'string', 'binary'] as const;
export type ValueTypeName = (typeof VALUE_TYPES)[number];
export type CliValue = string | number | bigint | Buffer;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Expiry travels as an int32 number of seconds. */
export const EXPIRES_SEC_MAX = INT32_MAX;
const INTEGER_TEXT = /^-?\d+$/;
const BASE64_TEXT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function parseValueType(text: string | undefined): ValueTypeName {
  if (text === undefined) return 'string';
  const found = VALUE_TYPES.find((t) => t === text);
  if (found === undefined) throw new UsageError(`--type must be one of ${VALUE_TYPES.join('|')}, not "${text}"`);
  return found;
}

export function parseInt32(text: string): number {
  if (!INTEGER_TEXT.test(text)) throw new UsageError(`"${text}" is not an integer`);
  const n = Number(text);
  if (n < INT32_MIN || n > INT32_MAX) throw new UsageError(`${text} is outside the int range (${INT32_MIN} to ${INT32_MAX})`);
  return n;
}

export function parseInt64(text: string): bigint {
  if (!INTEGER_TEXT.test(text)) throw new UsageError(`"${text}" is not an integer`);
  const n = BigInt(text);
  if (n < INT64_MIN || n > INT64_MAX) throw new UsageError(`${text} is outside the long range (${INT64_MIN} to ${INT64_MAX})`);
  return n;
}

export function parseBase64(text: string): Buffer {
  if (!BASE64_TEXT.test(text)) throw new UsageError('a binary value must be given in base64');
  return Buffer.from(text, 'base64');
}

/** The value to store, typed as --type says (string when --type is absent). */
export function parseTypedValue(type: ValueTypeName, text: string): CliValue {
  switch (type) {
    case 'int':
      return parseInt32(text);
    case 'long':
      return parseInt64(text);
    case 'string':
      return text;
    case 'binary':
      return parseBase64(text);
  }
}

/** --expires S: a non-negative integer number of seconds (0 = never); undefined when absent. */
export function parseExpires(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--expires must be a non-negative integer number of seconds, not "${text}"`);
  const n = Number(text);
  if (n > EXPIRES_SEC_MAX) throw new UsageError(`--expires must be at most ${EXPIRES_SEC_MAX} seconds`);
  return n;
}

/** --cluster HOST:PORT in canonical form (the port defaults to 13600; 0 names no node; a bare PORT is 127.0.0.1:PORT). */
export function parseClusterAddress(text: string): string {
  if (/^\s*\d+\s*$/.test(text)) text = `127.0.0.1:${text.trim()}`;
  let addr: Address;
  try {
    addr = parseAddress(text, DEFAULT_PORT);
  } catch (e) {
    if (e instanceof AddressError) throw new UsageError(`--cluster: ${e.message}`);
    throw e;
  }
  if (addr.port === 0) throw new UsageError(`--cluster: address "${text}": port must be 1-65535`);
  return formatAddress(addr);
}

/** --cluster A,B,C: one or more seeds, each as parseClusterAddress takes it. */
export function parseClusterSeeds(text: string): string[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`--cluster: "${text}" has an empty address in its list`);
  return [...new Set(parts.map(parseClusterAddress))];
}

/** Where a written value comes from: the VALUE argument, stdin ("-") or --file PATH, typed as --type says. */
export function readValueSource(type: ValueTypeName, text: string | undefined, file: string | undefined, readStdin: () => Buffer = () => readFileSync(0)): CliValue {
  if (file !== undefined && text !== undefined) throw new UsageError('give the value as VALUE, - (stdin) or --file PATH, not two of them');
  if (file === undefined && text === undefined) throw new UsageError('missing VALUE (or - to read it from stdin, or --file PATH)');
  if (text !== undefined && text !== '-') return parseTypedValue(type, text);
  let bytes: Buffer;
  try {
    bytes = file !== undefined ? readFileSync(file) : readStdin();
  } catch (e) {
    throw new UsageError(`cannot read the value from ${file !== undefined ? `--file ${file}` : 'stdin'}: ${(e as Error).message}`);
  }
  // Bytes stay as they are (a trailing newline included) for string and binary; numbers are trimmed.
  if (type === 'binary') return bytes;
  if (type === 'string') return bytes.toString('utf8');
  return parseTypedValue(type, bytes.toString('utf8').trim());
}

