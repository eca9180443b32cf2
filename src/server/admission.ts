// Admission of connections, so that hostile sockets hurt no one else: client slots (--max-connections)
// apart from a reserve that only a node proving the cluster secret may use, a per-address bound,
// a deadline for the handshake, a deadline for each frame, and a bound on the bytes of unfinished
// frames across every client connection (past it, the largest holders are closed).
import type { ByteStream } from '../net/byte-stream.js';
import type { Logger } from './log.js';
import type { Clock } from '../shared/clock.js';
import type { ClientSession, SlotKind } from './client-session.js';

/** Connections accepted past --max-connections, for nodes only (they must prove the secret at once). */
export const NODE_RESERVE_SLOTS = 128;
/** How often deadlines are checked. */
export const ADMISSION_SWEEP_INTERVAL_MS = 500;
/** Log lines about refused or closed connections per kind and second, at most (a flood must not flood the log). */
const NOTICES_PER_SECOND_MAX = 5;

export interface AdmissionLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
  handshakeTimeoutMs: number;
  frameTimeoutMs: number;
  pendingFrameBytesMax: number;
}

export interface AdmissionStats {
  refusedPerIp: number;
  refusedFull: number;
  closedHandshakeTimeout: number;
  closedFrameTimeout: number;
  closedPendingBytes: number;
}

export class Admission {
  private clientSlotsUsed = 0;
  private readonly perIp = new Map<string, number>();
  /** Bytes of unfinished frames held by every client connection together. */
  private pendingBytes = 0;
  readonly stats: AdmissionStats = { refusedPerIp: 0, refusedFull: 0, closedHandshakeTimeout: 0, closedFrameTimeout: 0, closedPendingBytes: 0 };
  private readonly notices = new Map<string, { second: number; count: number }>();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly log: Logger,
    private readonly clock: Clock,
    /** The client connections to look at (unproven ones and clients; not member links). */
    private readonly sessions: () => Iterable<ClientSession>,
  ) {}

  /** The total the listener may hold at once: client slots, the node reserve, and proven node links. */
  static socketsMax(maxConnections: number): number {
    return maxConnections + NODE_RESERVE_SLOTS;
  }

  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** A socket just accepted: a client slot, a node-only slot from the reserve, or refused (null). */
  admit(socket: ByteStream): SlotKind {
    const ip = socket.remoteAddress ?? '?';
    const perIp = this.perIp.get(ip) ?? 0;
    if (this.limits.maxConnectionsPerIp > 0 && perIp >= this.limits.maxConnectionsPerIp) {
      this.stats.refusedPerIp++;
      this.notice('perIp', { ip, max: this.limits.maxConnectionsPerIp }, 'connection refused: --max-connections-per-ip reached');
      return null;
    }
    this.perIp.set(ip, perIp + 1);
    if (this.clientSlotsUsed < this.limits.maxConnections) {
      this.clientSlotsUsed++;
      return 'client';
    }
    return 'nodeOnly';
  }

  /** The session proved the cluster secret: its client slot (if it had one) and its address count are free. */
  onProvenNode(s: ClientSession): void {
    this.releaseIp(s);
    if (s.slot === 'client') this.clientSlotsUsed--;
    s.slot = null;
  }

  /** The session's connection closed. */
  onClosed(s: ClientSession): void {
    this.releaseIp(s);
    if (s.slot === 'client') this.clientSlotsUsed--;
    s.slot = null;
  }

  /** A client connection that finds every client slot taken (it held a node-only slot). */
  refuseFull(s: ClientSession): void {
    this.stats.refusedFull++;
    this.notice('full', { client: s.conn.remote, max: this.limits.maxConnections }, 'connection refused: --max-connections reached (the reserve beyond it is for nodes)');
  }

  /** Called with every change of a client connection's unfinished-frame bytes. */
  onBuffered(deltaBytes: number): void {
    this.pendingBytes += deltaBytes;
    if (deltaBytes > 0 && this.pendingBytes > this.limits.pendingFrameBytesMax) this.shed();
  }

  /** Closes the connections holding the largest unfinished frames until the total is within bounds. */
  private shed(): void {
    const holders = [...this.sessions()].filter((s) => !s.conn.closed && s.conn.bufferedBytes > 0).sort((a, b) => b.conn.bufferedBytes - a.conn.bufferedBytes);
    for (const s of holders) {
      if (this.pendingBytes <= this.limits.pendingFrameBytesMax) break;
      this.stats.closedPendingBytes++;
      this.notice('pending', { client: s.conn.remote, heldBytes: s.conn.bufferedBytes, totalBytes: this.pendingBytes, max: this.limits.pendingFrameBytesMax }, 'connection closed: unfinished frames of all connections exceed --pending-frame-bytes-max; this one held the most');
      s.conn.abort(new Error('unfinished frames over the node\'s total bound'));
    }
  }

  /** Closes connections past their handshake or frame deadline. */
  sweep(nowMs: number, handshakeDone: (s: ClientSession) => boolean): void {
    for (const s of [...this.sessions()]) {
      if (s.conn.closed) continue;
      if (!handshakeDone(s) && nowMs - s.acceptedMs > this.limits.handshakeTimeoutMs) {
        this.stats.closedHandshakeTimeout++;
        this.notice('handshake', { client: s.conn.remote, timeoutMs: this.limits.handshakeTimeoutMs }, 'connection closed: no hello (or login) within --handshake-timeout-ms');
        s.conn.abort(new Error('handshake timed out'));
        continue;
      }
      const since = s.conn.partialSinceMs;
      if (since !== undefined && nowMs - since > this.limits.frameTimeoutMs) {
        this.stats.closedFrameTimeout++;
        this.notice('frame', { client: s.conn.remote, heldBytes: s.conn.bufferedBytes, timeoutMs: this.limits.frameTimeoutMs }, 'connection closed: a frame did not arrive whole within --frame-timeout-ms');
        s.conn.abort(new Error('frame timed out'));
      }
    }
  }

  private releaseIp(s: ClientSession): void {
    if (s.slot === null) return;
    const ip = s.conn.socket.remoteAddress ?? '?';
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }

  /**
   * A log line (warn unless told) about something a peer provoked, at most a few per second of each
   * kind, so that a flood of hostile connections cannot flood the log; the rest are counted in stats.
   */
  notice(kind: string, fields: Record<string, unknown>, msg: string, level: 'warn' | 'info' = 'warn'): void {
    const second = Math.floor(this.clock.nowMs() / 1000);
    const n = this.notices.get(kind);
    if (n === undefined || n.second !== second) this.notices.set(kind, { second, count: 1 });
    else if (++n.count > NOTICES_PER_SECOND_MAX) return;
    if (level === 'info') this.log.info(fields, msg);
    else this.log.warn(fields, msg);
  }
}
