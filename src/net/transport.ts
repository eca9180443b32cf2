// How a node reaches the network: listening for connections and dialling others. `realTransport`
// uses node:net and node:tls; the simulator's VirtualNetwork gives each host its own (src/sim).
import type { ByteStream } from './byte-stream.js';
import { dialSocket, type DialOptions } from './dial.js';
import { listen as listenReal, type ListenSpec, type Listening, type TransportLog } from './listener.js';

export type { ListenSpec, Listening, TransportLog } from './listener.js';

export interface Transport {
  listen(spec: ListenSpec, log: TransportLog): Promise<Listening>;
  dial(addr: string, opts: DialOptions): Promise<ByteStream>;
}

export const realTransport: Transport = {
  listen: (spec, log) => listenReal(spec, log),
  dial: (addr, opts) => dialSocket(addr, opts),
};
