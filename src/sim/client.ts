// SimClient: a small client of the simulated cluster over real Connections on the virtual network
// (the client library runs on real sockets and timers, so it is not used here). It says
// client_hello, routes each key to its bucket's primary (get_table, tryelsewhere hints), sends
// full-wait set and get, and retries refusals and lost requests a bounded number of times within a
// virtual-time deadline. Every write's outcome goes to the Ledger (ledger.ts).
import { Connection } from '../net/connection.js';
import { Reader, type Writer } from '../protocol/codec.js';
import { Cmd, ErrorCode, Feature, PROTOCOL_VERSION, Reply, WriteFlag, errorCodeName } from '../protocol/commands.js';
import * as data from '../protocol/messages/data.js';
import * as legacy from '../protocol/messages/legacy.js';
import * as nodeMsg from '../protocol/messages/node.js';
import { ValueType } from '../protocol/values.js';
import { assert } from '../shared/assert.js';
import { sleep } from '../shared/clock.js';
import { itemRouteHashLatin1 } from '../shared/fnv.js';
import type { VirtualClock } from './clock.js';
import type { Ledger } from './ledger.js';
import type { VirtualNetwork } from './network.js';
import type { SeededRandom } from './random.js';
import type { VirtualSocket } from './socket.js';
import type { Trace } from './trace.js';

export interface SimClientOptions {
  name: string;
  /** The host the client runs on (it dials from there). */
  host: string;
  /** Every node address of the cluster (restarts come back on the same addresses). */
  nodes: string[];
  net: VirtualNetwork;
  clock: VirtualClock;
  random: SeededRandom;
  trace: Trace;
  ledger: Ledger;
  /** A request without an answer this long is lost (its connection is reset). Default 5000. */
  requestTimeoutMs?: number;
  /** Attempts of one operation. Default 40. */
  attemptsMax?: number;
  /** An operation gives up this long after it began. Default 20000. */
  opDeadlineMs?: number;
}

/** What came of one request. */
type Outcome = { kind: 'reply'; command: number; payload: Buffer } | { kind: 'timeout' } | { kind: 'lost' } | { kind: 'unreachable' };

interface Link {
  conn: Connection<VirtualSocket>;
  pending: Map<number, (o: Outcome) => void>;
}

const DIAL_TIMEOUT_MS = 2000;
const RETRY_MIN_MS = 20;
const RETRY_MAX_MS = 200;
const PENDING_PER_LINK_MAX = 1000;

export class SimClient {
  private readonly links = new Map<string, Promise<Link | null>>();
  private mask = 0;
  private primaries: string[] = [];
  private nextId = 1;
  private writes = 0;
  /** Set by close(): no more requests; links are closed. */
  closed = false;
  private readonly requestTimeoutMs: number;
  private readonly attemptsMax: number;
  private readonly opDeadlineMs: number;

  constructor(private readonly o: SimClientOptions) {
    this.requestTimeoutMs = o.requestTimeoutMs ?? 5000;
    this.attemptsMax = o.attemptsMax ?? 40;
    this.opDeadlineMs = o.opDeadlineMs ?? 20_000;
    assert(o.nodes.length > 0, 'a client needs the node addresses');
  }

  /**
   * A full-wait set of key to a value unique to this write ("client/key#n"); the ledger learns the
   * outcome: acknowledged, unknown (it may have been applied), or refused everywhere.
   */
  async write(key: string): Promise<void> {
    const value = `${this.o.name}/${key}#${++this.writes}`;
    const w = this.o.ledger.begin(key, value);
    const started = this.o.clock.nowMs();
    let unknown = false;
    for (let attempt = 0; attempt < this.attemptsMax && !this.closed; attempt++) {
      if (this.o.clock.nowMs() - started > this.opDeadlineMs) break;
      const b = this.bucketOf(key);
      const target = await this.targetOf(b);
      const out = await this.request(target, Cmd.set, (wr) =>
        data.set.encode(wr, { map: '', key, expiresSec: 0, flags: WriteFlag.fullWait, value: { t: ValueType.string, v: Buffer.from(value, 'latin1') } }, 'latin1'),
      );
      const verdict = this.judge(b, target, out);
      this.o.trace.add(`${this.o.name} set ${key}=${value} at ${target}: ${verdict}`);
      if (verdict === 'ack') {
        this.o.ledger.end(w, 'ack');
        return;
      }
      if (verdict === 'unknown') unknown = true;
      await this.backoff(verdict);
    }
    this.o.ledger.end(w, unknown ? 'unknown' : 'refused');
  }

  /** A get of key; the ledger checks what it saw. Gives up quietly after the bounded retries. */
  async read(key: string): Promise<void> {
    const r = this.o.ledger.beginRead(key);
    const started = this.o.clock.nowMs();
    for (let attempt = 0; attempt < this.attemptsMax && !this.closed; attempt++) {
      if (this.o.clock.nowMs() - started > this.opDeadlineMs) break;
      const b = this.bucketOf(key);
      const target = await this.targetOf(b);
      const out = await this.request(target, Cmd.get, (wr) => data.get.encode(wr, { map: '', key, expectType: 0 }, 'latin1'));
      if (out.kind === 'reply' && out.command === Reply.value) {
        const v = data.valueReply.decode(new Reader(out.payload));
        const seen = v === null ? null : v.t === ValueType.string || v.t === ValueType.binary ? v.v.toString('latin1') : `(type ${v.t})`;
        this.o.trace.add(`${this.o.name} get ${key} at ${target}: ${seen ?? '(none)'}`);
        this.o.ledger.endRead(r, seen, target);
        return;
      }
      const verdict = this.judge(b, target, out);
      this.o.trace.add(`${this.o.name} get ${key} at ${target}: ${verdict}`);
      await this.backoff(verdict);
    }
  }

  /** Closes every link; pending requests end as lost. */
  close(): void {
    this.closed = true;
    for (const p of this.links.values()) void p.then((l) => l?.conn.close('client done'));
    this.links.clear();
  }

  private bucketOf(key: string): number {
    return (itemRouteHashLatin1('', key) & this.mask) >>> 0;
  }

  /** The bucket's primary as we know it, after a table fetch when we know none. */
  private async targetOf(b: number): Promise<string> {
    if (this.primaries[b] === undefined || this.primaries[b] === '') await this.refreshTable();
    const p = this.primaries[b];
    return p !== undefined && p !== '' ? p : this.o.random.pick(this.o.nodes);
  }

  /** Asks a random node for its table (get_table, 40). */
  private async refreshTable(): Promise<void> {
    const at = this.o.random.pick(this.o.nodes);
    const out = await this.request(at, Cmd.getTable, null);
    if (out.kind !== 'reply' || out.command !== Reply.table) return;
    const t = nodeMsg.table.decode(new Reader(out.payload));
    this.mask = t.mask;
    this.primaries = new Array<string>(t.mask + 1).fill('');
    for (const e of t.entries) this.primaries[e.hash] = e.primary;
  }

  /**
   * What an answer means for a write: ack; refused (not applied: go elsewhere or retry); unknown
   * (maybe applied: a lost request, backupFailed, any other failure after the route check).
   */
  private judge(b: number, target: string, out: Outcome): 'ack' | 'refused' | 'unknown' {
    switch (out.kind) {
      case 'unreachable':
        this.primaries[b] = '';
        return 'refused';
      case 'timeout':
      case 'lost':
        this.primaries[b] = '';
        return 'unknown';
      case 'reply':
        break;
    }
    if (out.command === Reply.ack) return 'ack';
    if (out.command === Reply.tryelsewhere) {
      this.primaries[b] = legacy.address.decode(new Reader(out.payload));
      return 'refused';
    }
    if (out.command === Reply.failinfo) {
      const f = legacy.failinfo.decode(new Reader(out.payload));
      if (f.code === ErrorCode.retryLater || f.code === ErrorCode.noOwner || f.code === ErrorCode.shuttingDown) {
        if (f.code !== ErrorCode.retryLater) this.primaries[b] = '';
        return 'refused';
      }
      this.o.trace.add(`${this.o.name} failinfo from ${target}: ${errorCodeName(f.code)} ${f.message}`);
    }
    this.primaries[b] = '';
    return 'unknown';
  }

  private async backoff(verdict: 'ack' | 'refused' | 'unknown'): Promise<void> {
    if (verdict === 'unknown' || this.primaries.every((p) => p === '')) await this.refreshTable();
    await sleep(this.o.clock, this.o.random.int(RETRY_MIN_MS, RETRY_MAX_MS));
  }

  /** One request to addr; a timeout resets the connection, so nothing of it arrives later. */
  private async request(addr: string, command: number, encode: ((w: Writer) => void) | null): Promise<Outcome> {
    if (this.closed) return { kind: 'unreachable' };
    const link = await this.link(addr);
    if (link === null || link.conn.closed) return { kind: 'unreachable' };
    return this.send(link, command, encode);
  }

  private send(link: Link, command: number, encode: ((w: Writer) => void) | null): Promise<Outcome> {
    assert(link.pending.size < PENDING_PER_LINK_MAX, 'too many requests pending on one link');
    const id = this.nextId++;
    return new Promise<Outcome>((resolve) => {
      const timer = this.o.clock.setTimeout(() => {
        if (!link.pending.delete(id)) return;
        resolve({ kind: 'timeout' });
        this.o.net.reset(link.conn.socket);
      }, this.requestTimeoutMs);
      link.pending.set(id, (o) => {
        this.o.clock.clearTimeout(timer);
        resolve(o);
      });
      if (encode === null) link.conn.sendEmpty(command, 0, id);
      else {
        encode(link.conn.begin(command, 0, id));
        link.conn.end();
      }
    });
  }

  /** The open link to addr, dialled (and greeted with client_hello) when there is none. */
  private link(addr: string): Promise<Link | null> {
    const have = this.links.get(addr);
    if (have !== undefined) return have;
    const p = this.dial(addr);
    this.links.set(addr, p);
    void p.then((l) => {
      if (l === null && this.links.get(addr) === p) this.links.delete(addr);
    });
    return p;
  }

  private async dial(addr: string): Promise<Link | null> {
    let socket: VirtualSocket;
    try {
      socket = await this.o.net.dial(this.o.host, addr, { timeoutMs: DIAL_TIMEOUT_MS });
    } catch {
      return null;
    }
    const conn = new Connection(socket, { clock: this.o.clock, pauseReadOnOutput: false });
    const link: Link = { conn, pending: new Map() };
    const mine = this.links.get(addr);
    conn.start({
      onFrame: (f) => {
        if (f.replyTo === 0) return; // a push: not needed here
        const done = link.pending.get(f.requestId);
        if (done === undefined) return;
        link.pending.delete(f.requestId);
        done({ kind: 'reply', command: f.command, payload: Buffer.from(f.payload) });
      },
      onClose: () => {
        if (this.links.get(addr) === mine) this.links.delete(addr);
        const waiting = [...link.pending.values()];
        link.pending.clear();
        for (const done of waiting) done({ kind: 'lost' });
      },
    });
    // Replies matched by request id, as the project's client does: each may come once it is ready.
    const features = Feature.unorderedReplies;
    const hello = await this.send(link, Cmd.clientHello, (w) => data.clientHello.encode(w, { version: PROTOCOL_VERSION, features }));
    if (hello.kind !== 'reply' || hello.command !== Reply.ack) {
      conn.close('client_hello not acknowledged');
      return null;
    }
    return link;
  }
}
