// Request encoding and reply decoding of the atomic commands (incr, set_if, get_and_set,
// get_and_delete, get_with_version, delete_if); wire.ts hands these commands here. Pure.
import type { Reader, Writer } from '../protocol/codec.js';
import { Cmd, Reply } from '../protocol/commands.js';
import type { Request } from './request.js';
import { readClusterValue, writeClusterValue, type ClusterValue } from './values.js';

export function isAtomicCommand(cmd: number): boolean {
  return cmd >= Cmd.incr && cmd <= Cmd.deleteIf;
}

/** Writes the payload of an atomic request (see docs/protocol.md, "Atomic commands"). */
export function encodeAtomic(w: Writer, req: Request): void {
  w.strUtf8(req.map);
  w.strUtf8(req.key);
  switch (req.cmd) {
    case Cmd.incr:
      w.i32(req.num);
      w.i32(req.flags);
      w.i64(req.big);
      writeClusterValue(w, req.valueType, req.value!);
      return;
    case Cmd.setIf:
      w.i32(req.num);
      w.i32(req.flags);
      w.i32(req.cond);
      w.i64(req.big);
      writeClusterValue(w, req.valueType, req.value!);
      return;
    case Cmd.getAndSet:
      w.i32(req.num);
      w.i32(req.flags);
      writeClusterValue(w, req.valueType, req.value!);
      return;
    case Cmd.getAndDelete:
      w.i32(req.flags);
      return;
    case Cmd.deleteIf:
      w.i32(req.flags);
      w.i64(req.big);
      return;
    default:
      return; // get_with_version: map and key only
  }
}

export function atomicExpectedReply(cmd: number): number {
  switch (cmd) {
    case Cmd.setIf:
      return Reply.long;
    case Cmd.deleteIf:
      return Reply.bool;
    case Cmd.getWithVersion:
      return Reply.versioned;
    default:
      return Reply.value;
  }
}

/** An item's value and its version (a 64-bit number that changes with every write). */
export interface Versioned {
  value: ClusterValue;
  version: bigint;
}

export function decodeAtomic(cmd: number, r: Reader): unknown {
  switch (cmd) {
    case Cmd.setIf: {
      const v = r.i64();
      return v === 0n ? null : v;
    }
    case Cmd.deleteIf:
      return r.i32() !== 0;
    case Cmd.getWithVersion: {
      const value = readClusterValue(r);
      const version = r.i64();
      return value === null ? null : ({ value, version } satisfies Versioned);
    }
    default:
      return readClusterValue(r);
  }
}
