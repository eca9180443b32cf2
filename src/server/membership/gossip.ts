// Gossip of who is in the cluster: the member list this node sends, and commands sent to every
// linked member at once.
import { Cmd } from '../../protocol/commands.js';
import type { Writer } from '../../protocol/codec.js';
import * as nodeMsg from '../../protocol/messages/node.js';
import type { PeerLink } from '../peer-link.js';
import { MEMBER_CALL_TIMEOUT_MS, type Member } from './member.js';

const { NodeRole, MemberState } = nodeMsg;

/** This node first, then every data member it knows. */
export function memberList(self: { me: string; incarnation: bigint; leaving: boolean }, dataMembers: readonly Member[]): nodeMsg.MemberInfo[] {
  const mine: nodeMsg.MemberInfo = { addr: self.me, incarnation: self.incarnation, role: NodeRole.data, state: self.leaving ? MemberState.leaving : MemberState.alive };
  return [mine, ...dataMembers.map((m) => ({ addr: m.addr, incarnation: m.incarnation, role: m.role, state: m.state }))];
}

export function sendMembers(link: PeerLink, list: nodeMsg.MemberInfo[]): void {
  link.call(Cmd.members, (w) => nodeMsg.members.encode(w, list), () => undefined, MEMBER_CALL_TIMEOUT_MS);
}

/** Sends a command to every linked data member (and to logging nodes, if asked). */
export function broadcast(members: Iterable<Member>, command: number, encode: (w: Writer) => void, toLoggers: boolean): void {
  for (const m of members) {
    if (m.link?.established !== true) continue;
    if (m.role !== NodeRole.data && !toLoggers) continue;
    m.link.call(command, encode, () => undefined, MEMBER_CALL_TIMEOUT_MS);
  }
}
