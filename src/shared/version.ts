// The package version (package.json beside dist/), read once: the CLI's --version, and the version
// a node reports in its stats.
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The package version, read from package.json beside dist/ (0.0.0 when it cannot be read). */
export function packageVersion(): string {
  cached ??= readVersion();
  return cached;
}

function readVersion(): string {
  try {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { version?: unknown }).version === 'string') {
      return (parsed as { version: string }).version;
    }
  } catch {
    // fall through: a missing package.json only loses the version text
  }
  return '0.0.0';
}
