// The logging node: follows the cluster's membership, keeps one subscribed link to every data
// node, checks each update's place in its bucket's history, appends the updates and the buckets'
// snapshots to the log, and asks for a snapshot of every bucket whose history it lost.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { Writer } from '../protocol/codec.js';
import { encodeRecord, type FileRecord } from '../protocol/filefmt.js';
import { MemberState, NodeRole, type LogSnapshotMsg, type MemberGoneMsg, type MemberInfo, type ServerHelloMsg, type SyncUpdateMsg } from '../protocol/messages/node.js';
import { normalizeAddress } from '../shared/address.js';
import { DEFAULT_PORT } from '../shared/limits.js';
import { BucketTracker, bucketName, type Verdict } from './bucket-tracker.js';
import { listLogFiles, readLastStamps } from './log-reader.js';
import { LogWriter, type FsyncPolicy } from './log-writer.js';
import { MemberLink } from './member-link.js';
import { SnapshotWants } from './snapshot-wants.js';
import { loadTlsMaterial, nodeDialTlsOptions, type TlsMaterial } from '../net/tls-material.js';

export interface LoggerOptions {
  nodes: string[];
  dir: string;
  /** The cluster secret this logging node proves to every node (node_auth). */
  clusterSecret: Buffer;
  /** Set: links to the nodes run over mutual TLS with this certificate. */
  tls?: TlsMaterial | undefined;
  maxFileMb: number;
  fsync: FsyncPolicy;
  /** Where the logging node logs; by default pino JSON lines on stdout at logLevel. */
  log?: Logger;
  logLevel?: string;
  fsyncIntervalMs?: number;
  bufferBytesMax?: number;
  /** How long start waits for a first subscribed link before it gives up. */
  startTimeoutMs?: number;
}

const TICK_MS = 250;
const REPORT_EVERY_MS = 10_000;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5000;
/** Newest log files read at start to learn each bucket's last seq. */
const RESUME_FILES_MAX = 2;
/** Gap/rewind warnings logged per second at most; the rest are counted and summarised. */
const WARNINGS_PER_SECOND_MAX = 50;
const DEFAULT_START_TIMEOUT_MS = 15_000;
/** A learned (not seed) node that cannot be reached this many times in a row is forgotten. */
const FORGET_AFTER_FAILURES = 12;
/** Incarnations reported gone that are remembered (oldest forgotten first). */
const GONE_REMEMBERED_MAX = 10_000;

interface Member {
  addr: string;
  incarnation: bigint;
  leaving: boolean;
  link: MemberLink | null;
  connecting: boolean;
  failures: number;
  nextTryMs: number;
}

export interface LoggerStats {
  links: number;
  members: number;
  updatesReceived: number;
  written: number;
  tracker: BucketTracker['counters'];
  writer: LogWriter['stats'];
  snapshots: { requested: number; received: number; outstanding: number; givenUp: number };
}

/** Starts the logging node; resolves once at least one node streams to it. */
export async function startLogger(opts: LoggerOptions): Promise<LoggerNode> {
  const log = opts.log ?? pino({ level: opts.logLevel ?? 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 1, sync: true }));
  const before = await listLogFiles(opts.dir).catch(() => [] as string[]);
  const writer = await LogWriter.open({
    dir: opts.dir,
    maxFileBytes: opts.maxFileMb * 1024 * 1024,
    fsync: opts.fsync,
    fsyncIntervalMs: opts.fsyncIntervalMs,
    bufferBytesMax: opts.bufferBytesMax,
    log,
  });
  const node = new LoggerNode(opts, writer, log);
  await node.resume(before);
  try {
    await node.start();
  } catch (e) {
    await node.stop({ removeIfEmpty: true });
    throw e;
  }
  return node;
}

export class LoggerNode {
  private readonly members = new Map<string, Member>();
  /** "addr#incarnation" of members reported gone: a stale member list cannot bring them back. */
  private readonly gone = new Set<string>();
  private readonly tracker = new BucketTracker();
  private readonly wants: SnapshotWants;
  private readonly scratch = new Writer(64 * 1024);
  private readonly hello: ServerHelloMsg;
  private readonly timers: NodeJS.Timeout[] = [];
  /** The nodes given on the command line: always retried, never forgotten. */
  private readonly seeds: ReadonlySet<string>;
  private stopping = false;
  private updatesReceived = 0;
  private written = 0;
  private warnWindow = { startMs: 0, logged: 0, suppressed: 0 };
  /** The TLS material of the next dial (replaced by reloadTls). */
  private tls: TlsMaterial | undefined;

  constructor(
    private readonly opts: LoggerOptions,
    private readonly writer: LogWriter,
    private readonly log: Logger,
  ) {
    this.tls = opts.tls;
    this.wants = new SnapshotWants(log);
    this.seeds = new Set(opts.nodes.map((n) => normalizeAddress(n, DEFAULT_PORT)));
    this.hello = { addr: `logger@${hostname()}:${process.pid}`, incarnation: randomBytes(8).readBigInt64BE() & 0x7fffffffffffffffn, role: NodeRole.logger };
  }

  /** SIGHUP: re-reads the TLS files for later dials (open links stay); the old ones stay if they fail. */
  reloadTls(): void {
    if (this.tls === undefined) return;
    try {
      this.tls = loadTlsMaterial(this.tls.files);
      this.log.info({ cert: this.tls.files.certFile }, 'TLS certificates reloaded');
    } catch (e) {
      this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'TLS certificates not reloaded: the old ones stay in use');
    }
  }

  get name(): string {
    return this.hello.addr;
  }

  /** Reads the newest files of an earlier run: reports what may be missing since, and seeds the tracker. */
  async resume(files: string[]): Promise<void> {
    if (files.length === 0) return;
    try {
      const last = await readLastStamps(files, RESUME_FILES_MAX);
      for (const b of last.buckets.values()) this.tracker.seed(b.mask, b.hash, b.epoch, b.seq);
      for (const t of last.torn) this.log.warn({ file: t.file, offset: t.offset }, 'torn record at the end of an earlier log file (a crash): left as is, readers skip it');
      this.log.warn(
        { earlierFiles: files.length, newest: files[files.length - 1], bucketsKnown: last.buckets.size },
        'logger restarted: updates applied while it was stopped are missing from the log; each bucket reports its gap with its first update',
      );
    } catch (e) {
      this.log.error({ err: e }, 'cannot read the newest earlier log files: gaps since the last run cannot be reported');
    }
  }

  async start(): Promise<void> {
    for (const n of this.seeds) this.learn(n, 0n, false);
    this.every(TICK_MS, () => this.tick());
    this.every(REPORT_EVERY_MS, () => this.report('logger counters'));
    this.tick();
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    while (this.linkCount() === 0) {
      if (Date.now() > deadline) throw new Error(`cannot subscribe to any node of ${this.opts.nodes.join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    this.log.info({ name: this.name, dir: this.opts.dir, links: this.linkCount() }, 'logger started');
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private linkCount(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.link?.open === true) n++;
    return n;
  }

  /** Adds a data member we did not know, or notes its new incarnation or state. */
  private learn(addr: string, incarnation: bigint, leaving: boolean): void {
    if (this.gone.has(`${addr}#${incarnation}`)) return;
    const m = this.members.get(addr);
    if (m === undefined) {
      this.members.set(addr, { addr, incarnation, leaving, link: null, connecting: false, failures: 0, nextTryMs: 0 });
      this.log.info({ node: addr }, 'data node learned');
      return;
    }
    if (incarnation !== 0n && m.incarnation !== incarnation) {
      m.incarnation = incarnation;
      m.leaving = leaving;
      m.nextTryMs = 0;
    } else if (leaving) {
      m.leaving = true;
    }
  }

  private tick(): void {
    const now = Date.now();
    // Every node left or was forgotten (a whole cluster stopped?): go back to the seeds.
    if (this.members.size === 0) for (const n of this.seeds) this.learn(n, 0n, false);
    for (const m of this.members.values()) {
      if (m.link === null && !m.connecting && now >= m.nextTryMs) void this.connect(m);
    }
    this.wants.tick(now, [...this.members.values()].flatMap((m) => (m.link === null ? [] : [m.link])));
  }

  private async connect(m: Member): Promise<void> {
    m.connecting = true;
    const tls = this.tls === undefined ? undefined : nodeDialTlsOptions(this.tls);
    const link = new MemberLink(m.addr, this.hello, this.opts.clusterSecret, tls, {
      onMembers: (list) => this.onMembers(list),
      onBatch: (list, l) => this.onBatch(list, l),
      onSnapshot: (part, l) => this.onSnapshot(part, l),
      onMemberGone: (msg) => this.onMemberGone(msg),
      onLeaving: (addr) => this.onLeaving(addr),
      onClose: (l) => this.onLinkClose(l),
    }, this.seeds.has(m.addr) ? undefined : m.addr);
    try {
      await link.start();
      if (this.stopping || this.members.get(m.addr) !== m) throw new Error('no longer wanted');
      if (!link.open) throw new Error('link closed during the handshake');
      m.link = link;
      m.failures = 0;
      this.log.info({ node: m.addr }, 'subscribed to node updates');
    } catch (e) {
      link.close('handshake failed');
      m.failures++;
      m.nextTryMs = Date.now() + retryDelayMs(m.failures);
      if (m.failures >= FORGET_AFTER_FAILURES && !this.seeds.has(m.addr)) {
        // A node that left without telling us: the members lists of live nodes bring it back if it returns.
        this.forget(m, `unreachable after ${m.failures} attempts`);
      } else if (m.failures === 1 || m.failures % 20 === 0) {
        this.log.warn({ node: m.addr, failures: m.failures, err: (e as Error).message }, 'cannot subscribe to node; retrying');
      }
    } finally {
      m.connecting = false;
    }
  }

  private onMembers(list: MemberInfo[]): void {
    for (const info of list) {
      if (info.role !== NodeRole.data) continue;
      if (info.state !== MemberState.alive && info.state !== MemberState.leaving) continue;
      this.learn(info.addr, info.incarnation, info.state === MemberState.leaving);
    }
  }

  private onMemberGone(msg: MemberGoneMsg): void {
    this.noteGone(msg.addr, msg.incarnation);
    const m = this.members.get(msg.addr);
    if (m === undefined || (m.incarnation !== msg.incarnation && m.incarnation !== 0n)) return;
    this.forget(m, 'reported gone');
  }

  private noteGone(addr: string, incarnation: bigint): void {
    this.gone.add(`${addr}#${incarnation}`);
    if (this.gone.size > GONE_REMEMBERED_MAX) this.gone.delete(this.gone.values().next().value!);
  }

  private onLeaving(addr: string): void {
    const m = this.members.get(addr);
    if (m !== undefined) m.leaving = true;
    this.log.info({ node: addr }, 'node is shutting down; its link stays until it closes');
  }

  private onLinkClose(link: MemberLink): void {
    const m = this.members.get(link.addr);
    if (m === undefined || m.link !== link) return;
    m.link = null;
    if (this.stopping) return;
    if (m.leaving) return this.forget(m, 'left the cluster');
    m.nextTryMs = Date.now() + RETRY_BASE_MS;
    this.log.warn({ node: m.addr }, 'link to node lost; reconnecting');
  }

  private forget(m: Member, why: string): void {
    this.members.delete(m.addr);
    if (m.incarnation !== 0n) this.noteGone(m.addr, m.incarnation);
    m.link?.close(why);
    this.log.info({ node: m.addr, why }, 'data node forgotten');
  }

  private onBatch(list: SyncUpdateMsg[], link: MemberLink): void {
    this.updatesReceived += list.length;
    for (const u of list) {
      this.scratch.pos = 0;
      encodeRecord(this.scratch, u);
      const bytes = this.scratch.buf.subarray(0, this.scratch.pos);
      const verdict = this.tracker.observe(u.mask, u.hash, u.epoch, u.seq, bytes.readUInt32BE(4));
      if (verdict.kind !== 'inOrder') this.noteVerdict(verdict, u, link.addr);
      if (verdict.kind !== 'duplicate' && verdict.kind !== 'covered' && this.writer.append(bytes)) this.written++;
    }
  }

  /**
   * One part of a bucket's snapshot: the first part sets the bucket's place (the seam: updates not
   * above its seq are skipped from now on) and writes the begin record, every part its items, the
   * last one the end record.
   */
  private onSnapshot(part: LogSnapshotMsg, link: MemberLink): void {
    const stamp = { mask: part.mask, hash: part.hash, epoch: part.epoch, seq: part.seq };
    if (part.offset === 0) {
      const r = this.tracker.snapshot(part.mask, part.hash, part.epoch, part.seq);
      const bucket = bucketName(part.mask, part.hash);
      if (r.last !== undefined && r.last.seeded && part.seq > r.last.seq) {
        this.log.info({ bucket, seq: part.seq, lastLogged: r.last.seq, missed: part.seq - r.last.seq, from: link.addr }, 'GAP since the logger last ran, closed by the bucket\'s snapshot');
      } else if (r.closed > 0) {
        this.log.info({ bucket, seq: part.seq, closedMissing: r.closed, from: link.addr }, 'snapshot closes the bucket\'s gap');
      }
      this.appendRecord({ ...stamp, snapshot: { part: 'begin', items: part.total } });
    }
    for (const item of part.items) this.appendRecord({ ...stamp, snapshot: { part: 'item', item } });
    if (part.offset + part.items.length === part.total) {
      this.appendRecord({ ...stamp, snapshot: { part: 'end', items: part.total } });
      this.wants.done(part);
    }
  }

  private appendRecord(rec: FileRecord): void {
    if (this.writer.appendRecord(rec)) this.written++;
  }

  private noteVerdict(v: Verdict, u: SyncUpdateMsg, from: string): void {
    const bucket = bucketName(u.mask, u.hash);
    if (v.kind === 'gap' || v.kind === 'rewind' || v.kind === 'restarted' || v.kind === 'first') this.wants.want(u, v.kind);
    switch (v.kind) {
      case 'gap':
        return this.warnLimited({ bucket, epoch: u.epoch, lastEpoch: v.lastEpoch, expected: v.expected, got: v.got, missed: v.got - v.expected, from }, v.afterRestart ? 'GAP since the logger last ran: updates of this bucket are missing from the log' : 'GAP in a bucket\'s updates: some are missing from the log');
      case 'rewind':
        return this.warnLimited({ bucket, epoch: u.epoch, seq: u.seq, lastEpoch: v.lastEpoch, last: v.last, from }, 'rewind: a new owner continues below the last seq logged (the log holds updates the cluster lost)');
      case 'restarted':
        return this.warnLimited({ bucket, epoch: u.epoch, seq: u.seq, lastEpoch: v.lastEpoch, last: v.last, from }, 'bucket history starts again below the last seq logged (a cluster restart?)');
      case 'late':
        this.log.info({ bucket, epoch: u.epoch, seq: u.seq, from }, 'late update fills an earlier gap');
        return;
      case 'duplicate':
        this.log.debug({ bucket, epoch: u.epoch, seq: u.seq, from }, 'duplicate update skipped');
        return;
      default:
        return;
    }
  }

  /** Logs a warning unless too many came this second; suppressed ones are counted and summarised. */
  private warnLimited(fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const w = this.warnWindow;
    if (now - w.startMs >= 1000) {
      if (w.suppressed > 0) this.log.warn({ suppressed: w.suppressed }, 'more gap/rewind warnings were suppressed (see the counters)');
      this.warnWindow = { startMs: now, logged: 0, suppressed: 0 };
    }
    if (this.warnWindow.logged >= WARNINGS_PER_SECOND_MAX) {
      this.warnWindow.suppressed++;
      return;
    }
    this.warnWindow.logged++;
    this.log.warn(fields, msg);
  }

  stats(): LoggerStats {
    const w = this.wants;
    const snapshots = { requested: w.requested, received: w.received, outstanding: w.outstanding, givenUp: w.givenUp };
    return { links: this.linkCount(), members: this.members.size, updatesReceived: this.updatesReceived, written: this.written, tracker: { ...this.tracker.counters }, writer: { ...this.writer.stats }, snapshots };
  }

  private report(msg: string): void {
    const s = this.stats();
    this.log.info({ ...s, missingNow: this.tracker.missingNow }, msg);
  }

  /** Stops: closes every link, writes and fsyncs what is buffered, closes the file. Idempotent. */
  async stop(opts: { removeIfEmpty?: boolean } = {}): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    for (const m of this.members.values()) m.link?.close('logger stopping');
    await this.writer.close(opts);
    this.report('logger stopped');
  }
}

function retryDelayMs(failures: number): number {
  const base = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(failures, 10));
  return Math.round(base / 2 + Math.random() * (base / 2));
}
