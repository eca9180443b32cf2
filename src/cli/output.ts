// CLI output: exit codes, how values print as text and JSON, and one-line error messages on stderr.
import type { CliValue, ValueTypeName } from './args.js';

export const EXIT_OK = 0;
export const EXIT_NOT_FOUND = 1;
export const EXIT_USAGE = 2;

/** The JSON form of a value: int as number, long as decimal string, binary as base64. */
export type JsonValue = string | number;

export function valueTypeOf(value: CliValue): ValueTypeName {
  if (typeof value === 'number') return 'int';
  if (typeof value === 'bigint') return 'long';
  if (typeof value === 'string') return 'string';
  return 'binary';
}

export function valueToJson(value: CliValue): JsonValue {
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  return Buffer.from(value).toString('base64');
}

/** The text form: strings as they are, numbers in decimal, binary in base64. */
export function valueToText(value: CliValue): string {
  return String(valueToJson(value));
}

/**
 * A reader that goes away (`status | head -1`) closes our stdout: the next write fails with EPIPE,
 * which without a listener is an uncaught error. Any command then stops quietly, with the exit
 * code it had so far; the same for stderr.
 */
export function guardOutputPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK);
      throw e;
    });
  }
}

export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function printJson(data: unknown): void {
  process.stdout.write(`${JSON.stringify(data, jsonReplacer)}\n`);
}

/** bigint → decimal string, Buffer → base64, so that any stats or value JSON prints. */
function jsonReplacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (isBufferJson(value)) return Buffer.from(value.data).toString('base64');
  return value;
}

function isBufferJson(value: unknown): value is { type: 'Buffer'; data: number[] } {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data);
}

/** Any text squeezed onto one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Writes "error: <message>" on one line to stderr (the form commander uses for its own errors). */
export function printError(message: string): void {
  process.stderr.write(`error: ${oneLine(message)}\n`);
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

export { packageVersion } from '../shared/version.js';
