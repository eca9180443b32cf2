// The data operations shared by Cluster (plain keys, map '') and ClusterMap (entries of one map):
// argument checks before anything is sent, then one Request each, routed by key or map name.
import { Cmd, WriteFlag } from '../protocol/commands.js';
import { ValueType } from '../protocol/values.js';
import { keyHash } from './bucket-table.js';
import type { ResolvedOptions } from './options.js';
import { Request, Route } from './request.js';
import type { Router } from './router.js';
import { checkExpiresSec, checkKey, valueTypeOf, type ClusterValue, type ClusterValueInput } from './values.js';

export interface SetOptions {
  /** Seconds until the item expires; 0 or absent: never. */
  expiresSec?: number;
  /** Acknowledge only once the backup has the write (default: the client's fullWait option). */
  fullWait?: boolean;
}

/** The type get() asks for: 0 any, else the one wire type the caller accepts. */
export const Expect = {
  any: ValueType.none,
  string: ValueType.string,
  int: ValueType.int32,
  long: ValueType.int64,
  binary: ValueType.binary,
} as const;

export class DataOps {
  constructor(
    private readonly router: Router,
    private readonly opts: ResolvedOptions,
  ) {}

  private keyReq(cmd: number, map: string, key: string): Request {
    return keyRequest(cmd, map, key);
  }

  private mapReq(cmd: number, map: string): Request {
    const req = new Request();
    req.cmd = cmd;
    req.map = map;
    req.hash = keyHash(map);
    return req;
  }

  private writeFlags(fullWait: boolean | undefined): number {
    return (fullWait ?? this.opts.fullWait) ? WriteFlag.fullWait : 0;
  }

  set(map: string, key: string, value: ClusterValueInput, options: SetOptions | undefined): Promise<void> {
    try {
      const req = this.keyReq(Cmd.set, map, key);
      req.valueType = valueTypeOf(value);
      req.value = value;
      req.num = checkExpiresSec(options?.expiresSec);
      req.flags = this.writeFlags(options?.fullWait);
      return this.router.submit<void>(req);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  get<T extends ClusterValue>(map: string, key: string, expect: number): Promise<T | null> {
    try {
      const req = this.keyReq(Cmd.get, map, key);
      req.num = expect;
      return this.router.submit<T | null>(req);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** delete, exists, ttl: a key and nothing else (delete also carries the write flags). */
  keyOnly<T>(cmd: number, map: string, key: string): Promise<T> {
    try {
      const req = this.keyReq(cmd, map, key);
      if (cmd === Cmd.del) req.flags = this.writeFlags(undefined);
      return this.router.submit<T>(req);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  expire(map: string, key: string, seconds: number): Promise<boolean> {
    try {
      const req = this.keyReq(Cmd.expire, map, key);
      req.num = checkExpiresSec(seconds);
      req.flags = this.writeFlags(undefined);
      return this.router.submit<boolean>(req);
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** map_get_all, map_keys, map_count, map_delete. */
  wholeMap<T>(cmd: number, map: string): Promise<T> {
    const req = this.mapReq(cmd, map);
    if (cmd === Cmd.mapDelete) req.flags = this.writeFlags(undefined);
    return this.router.submit<T>(req);
  }

  /** ping, stats, capabilities: to one named node, or to any node. */
  admin<T>(cmd: number, node: string | undefined): Promise<T> {
    const req = new Request();
    req.cmd = cmd;
    if (node === undefined) req.route = Route.any;
    else {
      req.route = Route.node;
      req.target = node;
    }
    return this.router.submit<T>(req);
  }
}

/** A request for one key (of a map, or plain): its command, names and routing hash. */
export function keyRequest(cmd: number, map: string, key: string): Request {
  checkKey('key', key);
  const req = new Request();
  req.cmd = cmd;
  req.map = map;
  req.key = key;
  // A map's entries all live in the bucket of the map's name; a plain key in its own.
  req.hash = keyHash(map === '' ? key : map);
  return req;
}
