// The seeded schedule of faults of one simulated run: which faults, on which hosts, when they begin
// and when they heal. Drawn up front from the seed, so the schedule prints before anything runs and
// a seed always gives the same one.
import { assert } from '../shared/assert.js';
import type { SeededRandom } from './random.js';

export type FaultKind = 'cut' | 'cutOneWay' | 'isolate' | 'stall' | 'kill' | 'leave';
export const FAULT_KINDS: readonly FaultKind[] = ['cut', 'cutOneWay', 'isolate', 'stall', 'kill', 'leave'];

export type Fault =
  | { kind: 'cut' | 'cutOneWay'; a: string; b: string; atMs: number; healMs: number }
  | { kind: 'isolate'; host: string; atMs: number; healMs: number }
  | { kind: 'stall'; host: string; atMs: number; forMs: number }
  | { kind: 'kill'; host: string; atMs: number; restartMs: number }
  | { kind: 'leave'; host: string; atMs: number; rejoinMs: number };

export interface ScheduleOptions {
  hosts: readonly string[];
  /** Faults begin within the first 70% of this (virtual ms after the clients start). */
  durationMs: number;
  kinds: readonly FaultKind[];
  /** Faults per run: 1 to this many. */
  faultsMax: number;
}

/** Cuts and isolations last this long (the dead-after time is 3 s: some are shorter, some longer). */
const CUT_MIN_MS = 500;
const CUT_MAX_MS = 10_000;
const STALL_MIN_MS = 200;
const STALL_MAX_MS = 5_000;
const DOWN_MIN_MS = 500;
const DOWN_MAX_MS = 8_000;

/** A run whose other faults take no node down also has a graceful leave with this chance. */
const LEAVE_CHANCE = 0.3;

/**
 * BACKGROUND: the faults other than a leave are drawn first, exactly as before leaves existed, so a
 * seed replays the schedule it had then when leaves are left out (`faults` without 'leave'); a leave
 * is drawn after them, when no node is down already.
 */
export function drawSchedule(random: SeededRandom, o: ScheduleOptions): Fault[] {
  assert(o.hosts.length >= 2 && o.kinds.length > 0 && o.faultsMax >= 1, 'bad schedule options');
  const kinds = o.kinds.filter((k) => k !== 'leave');
  const count = kinds.length > 0 ? random.int(1, o.faultsMax + 1) : 0;
  const out: Fault[] = [];
  let down = false;
  const isDown = (k: FaultKind): boolean => k === 'kill' || k === 'leave';
  for (let i = 0; i < count; i++) {
    let kind = random.pick(kinds);
    // One node down (killed, or gone by a leave) at a time: two of three down leave no majority (a
    // known, documented stop).
    if (isDown(kind) && down) kind = kinds.find((k) => !isDown(k)) ?? kind;
    if (isDown(kind) && down) continue;
    const atMs = Math.floor(random.between(0, o.durationMs * 0.7));
    const host = random.pick(o.hosts);
    switch (kind) {
      case 'cut':
      case 'cutOneWay': {
        const b = random.pick(o.hosts.filter((h) => h !== host));
        out.push({ kind, a: host, b, atMs, healMs: atMs + random.int(CUT_MIN_MS, CUT_MAX_MS) });
        break;
      }
      case 'isolate':
        out.push({ kind, host, atMs, healMs: atMs + random.int(CUT_MIN_MS, CUT_MAX_MS) });
        break;
      case 'stall':
        out.push({ kind, host, atMs, forMs: random.int(STALL_MIN_MS, STALL_MAX_MS) });
        break;
      case 'kill':
        down = true;
        out.push({ kind, host, atMs, restartMs: atMs + random.int(DOWN_MIN_MS, DOWN_MAX_MS) });
        break;
    }
  }
  if (o.kinds.includes('leave') && !down && (kinds.length === 0 || random.chance(LEAVE_CHANCE))) {
    const atMs = Math.floor(random.between(0, o.durationMs * 0.7));
    out.push({ kind: 'leave', host: random.pick(o.hosts), atMs, rejoinMs: atMs + random.int(DOWN_MIN_MS, DOWN_MAX_MS) });
  }
  return out.sort((x, y) => x.atMs - y.atMs);
}

export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'cut':
      return `+${f.atMs}ms cut ${f.a} <-> ${f.b}, heal at +${f.healMs}ms`;
    case 'cutOneWay':
      return `+${f.atMs}ms cut ${f.a} -> ${f.b} (one way), heal at +${f.healMs}ms`;
    case 'isolate':
      return `+${f.atMs}ms isolate ${f.host}, rejoin at +${f.healMs}ms`;
    case 'stall':
      return `+${f.atMs}ms stall ${f.host} for ${f.forMs}ms`;
    case 'kill':
      return `+${f.atMs}ms kill -9 ${f.host}, restart at +${f.restartMs}ms`;
    case 'leave':
      return `+${f.atMs}ms ${f.host} leaves (Ctrl-C), joins again at +${f.rejoinMs}ms`;
  }
}
