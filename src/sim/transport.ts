// One host's Transport on the virtual network: what a ClusterNode in the simulator listens and dials
// with. TLS is not simulated (a spec or dial asking for it is refused); connections are counted
// against maxSockets as the real listener does.
import type { DialOptions } from '../net/dial.js';
import type { Listening, ListenSpec, Transport } from '../net/transport.js';
import { assert } from '../shared/assert.js';
import type { VirtualNetwork } from './network.js';

/**
 * The transport of the host `host` (its IP: a node listening on host:port dials from host). Once
 * alive() is false (the process was killed), what it listens on or dials stays silent: an accepted
 * connection is dropped and a dial never completes, so the dead process runs no more code.
 */
export function hostTransport(network: VirtualNetwork, host: string, alive: () => boolean = () => true): Transport {
  return {
    listen(spec: ListenSpec): Promise<Listening> {
      assert(spec.tls === undefined, 'the simulator has no TLS');
      let open = 0;
      const listener = network.listen(spec.listen, (socket) => {
        if (!alive()) {
          socket.kill();
          return;
        }
        if (open >= spec.maxSockets) {
          socket.destroy();
          spec.onDrop();
          return;
        }
        open++;
        socket.once('close', () => open--);
        spec.onSocket(socket);
      });
      return Promise.resolve({
        bound: listener.address,
        server: null,
        close: () => {
          listener.close();
          return Promise.resolve();
        },
      });
    },
    dial(addr: string, opts: DialOptions) {
      assert(opts.tls === undefined, 'the simulator has no TLS');
      return new Promise((resolve, reject) => {
        network.dial(host, addr, { timeoutMs: opts.timeoutMs }).then(
          (socket) => {
            if (alive()) resolve(socket);
            else socket.kill();
          },
          (error: unknown) => {
            if (alive()) reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    },
  };
}
