// scan(): an async iterator over every key of the cluster (or of one map), bucket by bucket, one
// page at a time from each bucket's primary. The cursor within a bucket is the last key returned
// (byte order), so a bucket that moves to another node, or splits on a wider mask, goes on where
// it stopped: every key that exists for the whole scan is returned at least once.
import type { Reader, Writer } from '../protocol/codec.js';
import { Cmd, ErrorCode, Reply } from '../protocol/commands.js';
import { SCAN_PAGE_KEYS_MAX } from '../protocol/messages/batch.js';
import { keyHash } from './bucket-table.js';
import { ClusterError } from './errors.js';
import { Request, Route } from './request.js';
import type { Router } from './router.js';

export interface ScanOptions {
  /** Only keys starting with this. */
  prefix?: string;
  /** Scan the entries of this map instead of the plain keys. */
  map?: string;
  /** Keys per page (one request each): 1..10000, default 256. */
  count?: number;
}

export const DEFAULT_SCAN_COUNT = 256;
/** A bucket whose node has a wider mask than the client's table is retried this many times while the table catches up. */
const MASK_WAITS_MAX = 50;
const MASK_WAIT_MS = 50;

/** One bucket still to read: under which mask, and after which key (raw bytes; null: from its start). */
interface Cursor {
  mask: number;
  bucket: number;
  after: Buffer | null;
}

interface Page {
  more: boolean;
  keys: string[];
  last: Buffer | null;
}

function checkOptions(o: ScanOptions): { prefix: string; map: string; count: number } {
  if (o === null || typeof o !== 'object') throw new ClusterError('BAD_REQUEST', 'scan options must be an object');
  const prefix = o.prefix ?? '';
  const map = o.map ?? '';
  const count = o.count ?? DEFAULT_SCAN_COUNT;
  if (typeof prefix !== 'string') throw new ClusterError('BAD_REQUEST', 'scan prefix must be a string');
  if (typeof map !== 'string') throw new ClusterError('BAD_REQUEST', 'scan map must be a string');
  if (!Number.isInteger(count) || count < 1 || count > SCAN_PAGE_KEYS_MAX) {
    throw new ClusterError('BAD_REQUEST', `scan count must be an integer 1..${SCAN_PAGE_KEYS_MAX}, got ${String(count)}`);
  }
  return { prefix, map, count };
}

/**
 * The keys, bucket by bucket. BEHAVIOR: each page goes to the bucket's primary (redirects and
 * retryLater as for any request). The client's table is never coarser than a node's (it holds 256
 * buckets at least), and a node with coarser buckets answers for the part of its bucket that is
 * ours. A node with finer buckets than the scan (the mask widened past the table's since the scan
 * began) answers maskChanged: the bucket is replaced by its parts under the new mask, each going
 * on after the same key.
 */
export async function* scanKeys(router: Router, options: ScanOptions = {}): AsyncGenerator<string, void, undefined> {
  const o = checkOptions(options);
  const mask = router.topology.table.mask;
  const work: Cursor[] =
    o.map === '' ? Array.from({ length: mask + 1 }, (_, b) => ({ mask, bucket: b, after: null })) : [{ mask, bucket: keyHash(o.map) & mask, after: null }];
  let maskWaits = 0;
  while (work.length > 0) {
    const cur = work[0]!;
    let page: Page;
    try {
      page = await requestPage(router, cur, o.map, o.prefix, o.count);
    } catch (e) {
      if (!(e instanceof ClusterError) || e.serverCode !== ErrorCode.maskChanged) throw e;
      await router.topology.fetch();
      const wider = router.topology.table.mask;
      if (wider <= cur.mask) {
        if (++maskWaits > MASK_WAITS_MAX) throw e;
        await new Promise((resolve) => setTimeout(resolve, MASK_WAIT_MS));
        continue;
      }
      work.splice(0, 1, ...split(cur, wider, o.map));
      continue;
    }
    for (const key of page.keys) yield key;
    if (page.more) cur.after = page.last;
    else work.shift();
  }
}

/** The parts of a bucket under a wider mask (for a map: only the part holding the map). */
function split(cur: Cursor, wider: number, map: string): Cursor[] {
  if (map !== '') return [{ mask: wider, bucket: keyHash(map) & wider, after: cur.after }];
  const out: Cursor[] = [];
  const step = cur.mask + 1;
  for (let b = cur.bucket; b <= wider; b += step) out.push({ mask: wider, bucket: b, after: cur.after });
  return out;
}

function requestPage(router: Router, cur: Cursor, map: string, prefix: string, count: number): Promise<Page> {
  const req = new Request();
  req.cmd = Cmd.scan;
  req.route = Route.bucket;
  req.hash = cur.bucket; // routes to bucket `bucket` under the table's mask (the same or a part of it)
  req.custom = {
    reply: Reply.scanPage,
    bytesBound: 40 + 3 * (map.length + prefix.length) + (cur.after?.length ?? 0),
    encode(w: Writer): void {
      w.i32(cur.mask);
      w.i32(cur.bucket);
      w.strUtf8(map);
      w.strUtf8(prefix);
      w.i32(cur.after === null ? 0 : 1);
      w.strBytes(cur.after ?? Buffer.alloc(0));
      w.i32(count);
    },
    decode(r: Reader): Page {
      const more = r.i32() !== 0;
      const n = r.i32();
      if (n < 0 || n > count) throw new RangeError(`scan page has ${n} keys, asked for at most ${count}`);
      const keys = new Array<string>(n);
      let last: Buffer | null = null;
      for (let i = 0; i < n; i++) {
        const raw = r.strView();
        keys[i] = raw.toString('utf8');
        if (i === n - 1) last = Buffer.from(raw);
      }
      if (more && last === null) throw new RangeError('scan page says more but has no keys');
      return { more, keys, last };
    },
  };
  return router.submit<Page>(req);
}
