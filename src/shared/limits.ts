// Defaults and hard bounds shared by node, client and tools; options live beside their defaults.

export const DEFAULT_PORT = 13600;
export const DEFAULT_LISTEN = `127.0.0.1:${DEFAULT_PORT}`;
export const DEFAULT_MAX_CONNECTIONS = 1024;
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
export const MIN_MAX_FRAME_BYTES = 1024;
export const HEADER_BYTES = 12;

/** Hostile sockets: a hello within this, a whole frame within this, unfinished frames in total at most this. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
export const DEFAULT_FRAME_TIMEOUT_MS = 30_000;
export const DEFAULT_PENDING_FRAME_BYTES_MAX = 256 * 1024 * 1024;
/** A hello (original protocol) client that leaves a push unacknowledged this long, pushes waiting, is closed. */
export const DEFAULT_PUSH_ACK_TIMEOUT_MS = 30_000;

/** A connection stops reading once this many reply bytes wait unsent. */
export const OUTPUT_HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Requests one client connection may have waiting for a deferred reply (full wait, freeze). */
export const MAX_PENDING_REPLIES_PER_CONNECTION = 65536;

/** Node-to-node timing defaults. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 250;
export const DEFAULT_DEAD_AFTER_MS = 3000;
/** A bucket with no live copy waits this long for one (a holder cut off, not dead) before it is taken over empty. */
export const DEFAULT_LOST_BUCKET_GRACE_MS = 30_000;
export const DEFAULT_BALANCE_INTERVAL_MS = 200;
export const COPY_BATCH_ITEMS_MAX = 512;
export const COPY_BATCH_BYTES_MAX = 256 * 1024;

/** Expiry sweep: how often, and at most how many items one sweep looks at. */
export const EXPIRY_SWEEP_INTERVAL_MS = 100;
export const EXPIRY_SWEEP_ITEMS_MAX = 2000;

/** Client defaults. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_QUEUED_REQUESTS = 100_000;
export const DEFAULT_MAX_REDIRECTS = 8;
export const DEFAULT_RECONNECT_BASE_MS = 50;
export const DEFAULT_RECONNECT_MAX_MS = 2000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 2000;
