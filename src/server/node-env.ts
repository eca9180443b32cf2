// Where a node gets its time, randomness, network and save file, and its incarnation from them:
// `serve` uses the real ones (REAL_ENV), the simulator passes its own (src/sim/cluster.ts).
import { realClock, type Clock } from '../shared/clock.js';
import { realTransport, type Transport } from '../net/transport.js';
import { realRandom, type Random } from '../shared/random.js';
import type { WriteObserver } from './replication.js';
import { writeSaveOnDisk, type SaveWriter } from './save-on-leave.js';

export interface NodeEnv {
  readonly clock: Clock;
  readonly random: Random;
  readonly transport: Transport;
  /** Writes the save file of a node that leaves holding buckets it could not hand over (shutdown.ts). */
  readonly writeSave: SaveWriter;
  /** Told of every write this node applies as a bucket's primary, and of every entry it commits naming itself primary (the simulator's one-writer check). */
  readonly observeWrite?: WriteObserver;
}

export const REAL_ENV: NodeEnv = { clock: realClock, random: realRandom, transport: realTransport, writeSave: writeSaveOnDisk };

/** A new incarnation: the wall clock's milliseconds, then 16 random bits. */
export function newIncarnation(env: NodeEnv): bigint {
  return (BigInt(Math.floor(env.clock.wallMs())) << 16n) | BigInt(env.random.int(0, 65536));
}
