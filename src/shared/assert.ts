// Invariant assertions: a failed assert is a programmer error, never an operating condition.

export class AssertionFailed extends Error {
  override name = 'AssertionFailed';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailed(message);
}

/** A failed invariant whose message costs something to build: `if (!cond) fail(\`...\`)`. */
export function fail(message: string): never {
  throw new AssertionFailed(message);
}

export function unreachable(value: never, what: string): never {
  throw new AssertionFailed(`unreachable ${what}: ${String(value)}`);
}
