// Client options with their defaults beside them, validated once into a resolved, read-only form.
import { normalizeAddress, AddressError } from '../shared/address.js';
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_QUEUED_REQUESTS,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_PORT,
  DEFAULT_RECONNECT_BASE_MS,
  DEFAULT_RECONNECT_MAX_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  MIN_MAX_FRAME_BYTES,
} from '../shared/limits.js';
import { ClusterError } from './errors.js';

/** How long one connection attempt (TCP connect + client_hello ack) may take. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;

/** A pino-style logger; every method takes a context object and a message. */
export interface ClusterLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * TLS to the nodes: the CA their certificates must verify against (default: the system's), a
 * client certificate and key for nodes that require one, and the name their certificate must
 * carry when it is not the address dialled (default: the address, checked against its IP SANs).
 * PEM text or Buffers, as node:tls takes them.
 */
export interface ClusterTlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
}

export interface ClusterOptions {
  /** "host:port" of one or more nodes; the client connects to the first that answers. */
  seeds: string[];
  /** Per-request deadline, time spent queued included. Default 5000. */
  requestTimeoutMs?: number;
  /** Requests waiting or in flight across the client; past it calls reject with QUEUE_FULL. Default 100000. */
  maxQueuedRequests?: number;
  /** tryelsewhere answers followed per request. Default 8. */
  maxRedirects?: number;
  /** Writes are acknowledged only once the backup has them. Default true. */
  fullWait?: boolean;
  /** Jittered exponential backoff between reconnect attempts. Defaults 50 / 2000. */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** close() waits at most this long for goodbye acks. Default 2000. */
  closeTimeoutMs?: number;
  /** One connection attempt (TCP connect and client_hello ack). Default 2000. */
  connectTimeoutMs?: number;
  /** Largest frame accepted from a node. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Set: every connection runs over TLS (1.2 or later). Default: plain TCP. */
  tls?: ClusterTlsOptions;
  logger?: ClusterLogger;
  /** Log in as this user (nodes started with --users-file); give password too. */
  user?: string;
  password?: string;
}

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export interface ResolvedOptions {
  readonly seeds: readonly string[];
  readonly requestTimeoutMs: number;
  readonly maxQueuedRequests: number;
  readonly maxRedirects: number;
  readonly fullWait: boolean;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly closeTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxFrameBytes: number;
  readonly tls: Readonly<ClusterTlsOptions> | undefined;
  readonly logger: ClusterLogger;
  /** Sent in auth right after client_hello on every connection; null: no login. */
  readonly credentials: Credentials | null;
}

const noop = (): void => {};
export const SILENT_LOGGER: ClusterLogger = { debug: noop, info: noop, warn: noop, error: noop };

function bad(message: string): ClusterError {
  return new ClusterError('BAD_REQUEST', `invalid option: ${message}`);
}

function intOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw bad(`${name} must be an integer in ${min}..${max}, got ${value}`);
  return value;
}

function resolveSeeds(seeds: unknown): string[] {
  if (!Array.isArray(seeds) || seeds.length === 0) throw bad('seeds must be a non-empty array of "host:port"');
  const out: string[] = [];
  for (const s of seeds) {
    if (typeof s !== 'string') throw bad('every seed must be a "host:port" string');
    try {
      const addr = normalizeAddress(s, DEFAULT_PORT);
      if (!out.includes(addr)) out.push(addr);
    } catch (e) {
      if (e instanceof AddressError) throw bad(e.message);
      throw e;
    }
  }
  return out;
}

function pem(name: string, value: unknown): string | Buffer | undefined {
  if (value === undefined || typeof value === 'string' || Buffer.isBuffer(value)) return value;
  throw bad(`tls.${name} must be PEM text (a string or a Buffer)`);
}

function resolveTls(tls: unknown): ClusterTlsOptions | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== 'object' || tls === null) throw bad('tls must be an object { ca, cert, key, servername }');
  const t = tls as Record<string, unknown>;
  const out: ClusterTlsOptions = {};
  const ca = pem('ca', t['ca']);
  const cert = pem('cert', t['cert']);
  const key = pem('key', t['key']);
  if ((cert === undefined) !== (key === undefined)) throw bad('tls.cert and tls.key go together');
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined && key !== undefined) {
    out.cert = cert;
    out.key = key;
  }
  const servername = t['servername'];
  if (servername !== undefined) {
    if (typeof servername !== 'string' || servername === '') throw bad('tls.servername must be a non-empty string');
    out.servername = servername;
  }
  return Object.freeze(out);
}

export function resolveOptions(opts: ClusterOptions): ResolvedOptions {
  if (typeof opts !== 'object' || opts === null) throw bad('options must be an object');
  const dayMs = 86_400_000;
  const reconnectBaseMs = intOption('reconnectBaseMs', opts.reconnectBaseMs, DEFAULT_RECONNECT_BASE_MS, 1, dayMs);
  const reconnectMaxMs = intOption('reconnectMaxMs', opts.reconnectMaxMs, Math.max(DEFAULT_RECONNECT_MAX_MS, reconnectBaseMs), 1, dayMs);
  if (reconnectMaxMs < reconnectBaseMs) throw bad('reconnectMaxMs must be >= reconnectBaseMs');
  return {
    seeds: resolveSeeds(opts.seeds),
    requestTimeoutMs: intOption('requestTimeoutMs', opts.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 1, dayMs),
    maxQueuedRequests: intOption('maxQueuedRequests', opts.maxQueuedRequests, DEFAULT_MAX_QUEUED_REQUESTS, 1, 10_000_000),
    maxRedirects: intOption('maxRedirects', opts.maxRedirects, DEFAULT_MAX_REDIRECTS, 0, 1000),
    fullWait: opts.fullWait ?? true,
    reconnectBaseMs,
    reconnectMaxMs,
    closeTimeoutMs: intOption('closeTimeoutMs', opts.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS, 0, dayMs),
    connectTimeoutMs: intOption('connectTimeoutMs', opts.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, 1, dayMs),
    maxFrameBytes: intOption('maxFrameBytes', opts.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, MIN_MAX_FRAME_BYTES, 2 ** 31 - 1),
    tls: resolveTls(opts.tls),
    logger: opts.logger ?? SILENT_LOGGER,
    credentials: resolveCredentials(opts.user, opts.password),
  };
}

function resolveCredentials(user: unknown, password: unknown): Credentials | null {
  if (user === undefined && password === undefined) return null;
  if (typeof user !== 'string' || typeof password !== 'string') throw bad('user and password go together, both strings');
  if (user === '' || password === '') throw bad('user and password must not be empty');
  return { user, password };
}
