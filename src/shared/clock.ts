// Time as the node sees it: one Clock interface (monotonic and wall time, timers, "soon"), and
// realClock over Node's own timers. The simulator passes a virtual clock instead (src/sim/clock.ts).

/** A pending timeout or interval. unref(): it does not keep the process alive (real clock only). */
export interface Timer {
  unref(): Timer;
}

export interface Clock {
  /** Monotonic milliseconds (performance.now() on the real clock); for durations and deadlines. */
  nowMs(): number;
  /** Wall-clock milliseconds since the epoch (Date.now()); for expiry times and file stamps only. */
  wallMs(): number;
  /** Runs fn once, delayMs from now (a delay below 1 ms, or not finite, counts as 1 ms, as in Node). */
  setTimeout(fn: () => void, delayMs: number): Timer;
  clearTimeout(timer: Timer | null | undefined): void;
  /** Runs fn every intervalMs (at least 1 ms) until cleared. */
  setInterval(fn: () => void, intervalMs: number): Timer;
  clearInterval(timer: Timer | null | undefined): void;
  /** Runs fn after the work now due (pending I/O), before later timers: Node's setImmediate. */
  setImmediate(fn: () => void): void;
  /**
   * Runs fn as soon as the current callback returns, before any timer, immediate or I/O: Node's
   * process.nextTick (a Connection's batched flush uses it, so writes of one tick leave together).
   */
  soon(fn: () => void): void;
}

/** The node's own timers. */
export const realClock: Clock = {
  nowMs: () => performance.now(),
  wallMs: () => Date.now(),
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (timer) => {
    if (timer !== null && timer !== undefined) clearTimeout(timer as NodeJS.Timeout);
  },
  setInterval: (fn, intervalMs) => setInterval(fn, intervalMs),
  clearInterval: (timer) => {
    if (timer !== null && timer !== undefined) clearInterval(timer as NodeJS.Timeout);
  },
  setImmediate: (fn) => {
    setImmediate(fn);
  },
  soon: (fn) => process.nextTick(fn),
};

/** Resolves after delayMs on the given clock (the `await sleep(ms)` of retry loops). */
export function sleep(clock: Clock, delayMs: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimeout(resolve, delayMs);
  });
}
