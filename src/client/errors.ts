// Typed client errors: every failure the client reports is a ClusterError with a stable code.

export type ClusterErrorCode =
  /** The request's deadline passed (queued time included). The write may or may not be applied. */
  | 'TIMEOUT'
  /** The item holds another type than the call asked for. */
  | 'WRONG_TYPE'
  /** The node rejected the request's content (bad key, bad expiry, too large, ...). */
  | 'BAD_REQUEST'
  /** Too many tryelsewhere/retryLater answers in a row for one request. */
  | 'TOO_MANY_REDIRECTS'
  /** The client's bounded request queue is full. */
  | 'QUEUE_FULL'
  /** Some keys of a batch (mget, mset, mdelete) failed: BatchError.results tells each key's outcome. */
  | 'BATCH_FAILED'
  /** No node could be reached (connect(), or every node is down). */
  | 'NOT_CONNECTED'
  /** close() was called. */
  | 'CLOSED'
  /** The connection dropped after a write was sent: it may or may not have been applied. */
  | 'INDETERMINATE'
  /** Full wait: applied on the primary, the backup copy could not be confirmed. */
  | 'BACKUP_FAILED'
  /** The login (user and password) was refused, or the node has no users to log in to. */
  | 'AUTH_FAILED'
  /** The user's role may not send this request (or the node wants a login first). */
  | 'NOT_ALLOWED'
  /** The node is at its --max-memory limit and its eviction policy frees nothing: the write was not applied. */
  | 'OUT_OF_MEMORY'
  /** A conditional write (ifVersion) found the item changed or gone: nothing was written. */
  | 'VERSION_MISMATCH'
  /** incr/decr would leave the item's int or long range: nothing was written (never a wrap). */
  | 'OVERFLOW'
  /** Any other error the node reported (its failinfo code is in serverCode). */
  | 'SERVER_ERROR';

export class ClusterError extends Error {
  override name = 'ClusterError';
  constructor(
    readonly code: ClusterErrorCode,
    message: string,
    /** The node's failinfo code, where the node reported one. */
    readonly serverCode?: number,
    /** The node that answered or failed, "host:port", where known. */
    readonly node?: string,
  ) {
    super(message);
  }
}

export class TimeoutError extends ClusterError {
  override name = 'TimeoutError';
}

export class WrongTypeError extends ClusterError {
  override name = 'WrongTypeError';
}

/** One key's outcome in a batch, in input order. */
export type BatchResult<T> = { ok: true; value: T } | { ok: false; error: ClusterError };

/** A batch where at least one key failed; the others' results are in `results` too (nothing is dropped silently). */
export class BatchError extends ClusterError {
  override name = 'BatchError';
  constructor(
    message: string,
    readonly results: BatchResult<unknown>[],
  ) {
    super('BATCH_FAILED', message);
  }
}

/** A write whose outcome is unknown: it may or may not have been applied. */
export class IndeterminateError extends ClusterError {
  override name = 'IndeterminateError';
}
