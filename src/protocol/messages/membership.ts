// Codecs of the membership frames between nodes: server_hello, members, heartbeats (with the
// suspects that confirm a death), member_gone and probe. Node-side strings are latin1 (raw bytes).
import { DecodeError, type Reader, type Writer } from '../codec.js';

export const NodeRole = { data: 0, logger: 1 } as const;
export const MemberState = { alive: 0, leaving: 1 } as const;

export interface ServerHelloMsg {
  addr: string;
  incarnation: bigint;
  role: number;
}

/** server_hello (50): string address, long incarnation, int role (0 data node, 1 logger). */
export const serverHello = {
  encode(w: Writer, m: ServerHelloMsg): void {
    w.strLatin1(m.addr);
    w.i64(m.incarnation);
    w.i32(m.role);
  },
  decode(r: Reader): ServerHelloMsg {
    const m = { addr: r.strLatin1(), incarnation: r.i64(), role: r.i32() };
    r.done('server_hello');
    return m;
  },
};

export interface MemberInfo {
  addr: string;
  incarnation: bigint;
  role: number;
  state: number;
}

/** members (51): int count, count times (string address, long incarnation, int role, int state). */
export const members = {
  encode(w: Writer, list: readonly MemberInfo[]): void {
    w.i32(list.length);
    for (const m of list) {
      w.strLatin1(m.addr);
      w.i64(m.incarnation);
      w.i32(m.role);
      w.i32(m.state);
    }
  },
  decode(r: Reader): MemberInfo[] {
    const n = r.i32();
    if (n < 0 || n > 65536) throw new DecodeError(`members count ${n} out of range`);
    const out: MemberInfo[] = [];
    for (let i = 0; i < n; i++) out.push({ addr: r.strLatin1(), incarnation: r.i64(), role: r.i32(), state: r.i32() });
    r.done('members');
    return out;
  },
};

export interface HeartbeatMsg {
  /** The sender's monotonic clock when it sent the heartbeat; echoed back in the reply. */
  originMs: number;
  primaries: number;
  backups: number;
  transferring: number;
  /** The data members the sender suspects (silent, or refused): what confirms a death. */
  suspects: MemberGoneMsg[];
  /** Data nodes in the sender's view, itself included (0: not said, from a sender that predates it). */
  viewSize: number;
  /**
   * Milliseconds from now until the write leases the sender's heartbeat answers granted to members
   * it declared dead have run out (0: none may still run; absent from older senders: 0).
   */
  fenceMs: number;
}

/** What a heartbeat says of the sender's load (node.ts fills it; membership adds the rest). */
export type HeartbeatLoad = Omit<HeartbeatMsg, 'suspects' | 'viewSize' | 'fenceMs'>;

/** Suspects one heartbeat names at most (a cluster never has more members than buckets). */
export const HEARTBEAT_SUSPECTS_MAX = 4096;

/**
 * heartbeat (52) and its reply (14): long origin ms, int primaries, int backups, int transferring,
 * int count, count times (string address, long incarnation) of the members the sender suspects,
 * then int view size, then int fence ms (each absent from older senders: read as 0).
 */
export const heartbeat = {
  encode(w: Writer, m: HeartbeatMsg): void {
    w.i64n(m.originMs);
    w.i32(m.primaries);
    w.i32(m.backups);
    w.i32(m.transferring);
    w.i32(m.suspects.length);
    for (const x of m.suspects) {
      w.strLatin1(x.addr);
      w.i64(x.incarnation);
    }
    w.i32(m.viewSize);
    w.i32(m.fenceMs);
  },
  decode(r: Reader): HeartbeatMsg {
    const originMs = r.i64n();
    const primaries = r.i32();
    const backups = r.i32();
    const transferring = r.i32();
    const n = r.i32();
    if (n < 0 || n > HEARTBEAT_SUSPECTS_MAX) throw new DecodeError(`heartbeat suspect count ${n} out of range`);
    const suspects: MemberGoneMsg[] = [];
    for (let i = 0; i < n; i++) suspects.push({ addr: r.strLatin1(), incarnation: r.i64() });
    const viewSize = r.remaining > 0 ? r.i32() : 0;
    if (viewSize < 0) throw new DecodeError(`heartbeat view size ${viewSize} out of range`);
    const fenceMs = r.remaining > 0 ? r.i32() : 0;
    if (fenceMs < 0) throw new DecodeError(`heartbeat fence ${fenceMs} ms out of range`);
    r.done('heartbeat');
    return { originMs, primaries, backups, transferring, suspects, viewSize, fenceMs };
  },
};

export interface MemberGoneMsg {
  addr: string;
  incarnation: bigint;
}

/** member_gone (53): string address, long incarnation. */
export const memberGone = {
  encode(w: Writer, m: MemberGoneMsg): void {
    w.strLatin1(m.addr);
    w.i64(m.incarnation);
  },
  decode(r: Reader): MemberGoneMsg {
    const m = { addr: r.strLatin1(), incarnation: r.i64() };
    r.done('member_gone');
    return m;
  },
};

export interface ProbeMsg {
  from: string;
  fromIncarnation: bigint;
  target: string;
  targetIncarnation: bigint;
  /** Data nodes the sender counts in its cluster, itself included. */
  fromClusterSize: number;
}

/** Verdicts of a probe (reply long (7)). */
export const ProbeVerdict = { notMe: 0, iRejoin: 1, youRejoin: 2 } as const;

/** probe (54): string sender, long its incarnation, string target, long target incarnation, int nodes the sender hears (itself included). */
export const probe = {
  encode(w: Writer, m: ProbeMsg): void {
    w.strLatin1(m.from);
    w.i64(m.fromIncarnation);
    w.strLatin1(m.target);
    w.i64(m.targetIncarnation);
    w.i32(m.fromClusterSize);
  },
  decode(r: Reader): ProbeMsg {
    const m = { from: r.strLatin1(), fromIncarnation: r.i64(), target: r.strLatin1(), targetIncarnation: r.i64(), fromClusterSize: r.i32() };
    r.done('probe');
    return m;
  },
};

