// What membership needs of the node: its identity, its table and the parts a member's news reaches.
import type * as nodeMsg from '../../protocol/messages/node.js';
import type { Transport } from '../../net/transport.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../log.js';
import type { Migration } from '../migration.js';
import type { ServerOptions } from '../options.js';
import type { PeerLink, PeerLinkEvents } from '../peer-link.js';
import type { Replication } from '../replication.js';
import type { BucketTable } from '../table.js';
import type { NodeTls } from '../tls-state.js';

export interface MembershipHost {
  readonly me: string;
  readonly incarnation: bigint;
  readonly leaving: boolean;
  readonly stopped: boolean;
  /** True once this node started a cluster or completed a join. */
  readonly everServed: boolean;
  readonly log: Logger;
  readonly clock: Clock;
  readonly transport: Transport;
  readonly opts: Pick<ServerOptions, 'deadAfterMs' | 'quorum' | 'maxFrameBytes' | 'clusterSecret' | 'nodes'>;
  readonly tls: Pick<NodeTls, 'dialOptions'> | null;
  readonly peerFrameBytes: number;
  readonly linkEvents: PeerLinkEvents;
  readonly table: Pick<BucketTable, 'mask' | 'toEntries'>;
  readonly repl: Pick<Replication, 'bucketsOutOfStep' | 'dropBackup' | 'expireParked' | 'onPeerGone' | 'subscribe' | 'unsubscribe'>;
  readonly migration: Pick<Migration, 'onCommand' | 'onLinkClosed' | 'tick'>;
  safely(what: string, fn: () => void): void;
  loadLevels(originMs: number): nodeMsg.HeartbeatLoad;
  sendTable(link: PeerLink): void;
  mergeTable(msg: nodeMsg.TableMsg, from: string): void;
  widen(newMask: number): void;
  rejoinAsNew(why: string, via: string): void;
  /** Between being told this incarnation is dead and joining again as a new member. */
  readonly rejoining: boolean;
  onMemberAdded(addr: string): void;
  onMemberLeaving(addr: string): void;
  onMemberGone(addr: string): void;
}

