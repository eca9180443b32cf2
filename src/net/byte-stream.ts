// ByteStream: the part of a net.Socket that a Connection uses. net.Socket (and TLSSocket) satisfy
// it as they are; the simulator's VirtualSocket (src/sim/network.ts) implements it on virtual time.

export interface ByteStream {
  /** Queues bytes; false once writableLength reaches the high-water mark ('drain' follows). */
  write(chunk: Buffer): boolean;
  /** Bytes accepted by write() and not yet handed to the network. */
  readonly writableLength: number;
  /** Stops 'data' events; received bytes wait. */
  pause(): this;
  /** Starts (or restarts) 'data' events. */
  resume(): this;
  /** True after pause() until resume(). */
  isPaused(): boolean;
  /** Half-closes: the bytes written so far are sent, then the peer sees 'end'. */
  end(): this;
  /** Closes at once; 'close' follows (and 'error' first, when an error is given). */
  destroy(error?: Error): this;
  setNoDelay(noDelay?: boolean): this;
  /** Optional: writes until uncork() are gathered and leave together (one writev on a net.Socket). */
  cork?(): void;
  uncork?(): void;
  /** undefined until connected (and, on a real socket, again after the close). */
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'drain' | 'close' | 'end' | 'connect', listener: () => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
  once(event: 'drain' | 'close' | 'end' | 'connect', listener: () => void): this;
}
