// Commands from member links (nodes and logging nodes), routed to the part that owns each: the
// membership, the bucket table, replication's subscribers, the moves of buckets. One home for
// "who answers which node command", and for what a malformed or failing one gets back.
import { DecodeError, Reader } from '../protocol/codec.js';
import type { Frame } from '../protocol/header.js';
import { Cmd, ErrorCode, Reply } from '../protocol/commands.js';
import * as nodeMsg from '../protocol/messages/node.js';
import { address as addressCodec } from '../protocol/messages/legacy.js';
import { jsonReply } from '../protocol/messages/data.js';
import type { Logger } from './log.js';
import type { Membership } from './members.js';
import type { Migration } from './migration.js';
import type { NodeStats } from './node-stats.js';
import type { PeerLink } from './peer-link.js';
import type { Replication } from './replication.js';
import type { BucketTable } from './table.js';

/** What routing node commands needs of the node. */
export interface PeerCommandHost {
  readonly log: Logger;
  readonly stats: Pick<NodeStats, 'badRequests'>;
  readonly table: Pick<BucketTable, 'mask' | 'toEntries'>;
  readonly members: Membership;
  readonly repl: Pick<Replication, 'subscribe' | 'loggers'>;
  readonly migration: Pick<Migration, 'onCommand'>;
  mergeTable(msg: nodeMsg.TableMsg, from: string): void;
  widen(newMask: number): void;
  statsDoc(): Record<string, unknown>;
}

/** A command from a member link; a malformed one answers badRequest, a failing one internal. */
export function onPeerCommand(node: PeerCommandHost, link: PeerLink, frame: Frame): void {
  try {
    route(node, link, frame);
  } catch (error) {
    if (error instanceof DecodeError || error instanceof RangeError) {
      node.stats.badRequests++;
      return link.fail(frame, ErrorCode.badRequest, `command ${frame.command}: ${error.message}`);
    }
    node.log.error({ err: error instanceof Error ? error.stack : String(error), command: frame.command, peer: link.addr }, 'node command failed');
    link.fail(frame, ErrorCode.internal, 'internal error');
  }
}

function route(node: PeerCommandHost, link: PeerLink, frame: Frame): void {
  const members = node.members;
  if (!link.established) {
    if (frame.command === Cmd.serverHello) return members.onServerHello(link, frame);
    link.fail(frame, ErrorCode.notMember, 'say server_hello first');
    return;
  }
  const r = new Reader(frame.payload);
  switch (frame.command) {
    case Cmd.heartbeat:
      return members.onHeartbeat(link, frame, nodeMsg.heartbeat.decode(r));
    case Cmd.members:
      members.onMembers(nodeMsg.members.decode(r));
      return link.ack(frame);
    case Cmd.memberGone:
      members.onMemberGone(link, nodeMsg.memberGone.decode(r));
      return link.ack(frame);
    case Cmd.shuttingDown:
      members.onShuttingDown(addressCodec.decode(r));
      return link.ack(frame);
    case Cmd.tableSync:
      node.mergeTable(nodeMsg.table.decode(r), link.addr);
      link.ack(frame);
      members.onTableSynced(link);
      return;
    case Cmd.getTable: {
      const msg = { mask: node.table.mask, entries: node.table.toEntries() };
      return link.replyWith(frame, Reply.table, (w) => nodeMsg.table.encode(w, msg));
    }
    case Cmd.stats:
      // A member's dashboard (HTTP side door) shows this node's figures.
      return link.replyWith(frame, Reply.json, (w) => jsonReply.encode(w, node.statsDoc()));
    case Cmd.widenMask:
      node.widen(nodeMsg.widenMask.decode(r));
      return link.ack(frame);
    case Cmd.subscribeUpdates:
      node.repl.subscribe(link, nodeMsg.subscribeUpdates.decode(r));
      node.log.info({ logger: link.addr }, 'logging node subscribed');
      return link.ack(frame);
    case Cmd.snapshotRequest:
      return node.repl.loggers.onSnapshotRequest(link, frame, nodeMsg.snapshotRequest.decode(r));
    case Cmd.serverHello:
      return link.fail(frame, ErrorCode.badRequest, 'hello already said');
    case Cmd.goodbye:
      link.ack(frame);
      node.log.info({ peer: link.addr }, 'member said goodbye');
      return members.forget(link.addr);
    default:
      return node.migration.onCommand(link, frame, r);
  }
}
