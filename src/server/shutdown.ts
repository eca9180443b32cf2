// Shutdown, once: stop taking clients, tell the members, hand every bucket over (promoting
// backups where they exist, copying data where not), let clients move, say goodbye, close.
// The last node of a cluster writes the save file instead. Every wait is bounded.
import { sleep } from '../shared/clock.js';
import { Cmd } from '../protocol/commands.js';
import { CopyRole, NodeRole, bucketRef } from '../protocol/messages/node.js';
import { address as addressCodec } from '../protocol/messages/legacy.js';
import type { Item } from '../protocol/messages/node.js';
import type { ClusterNode } from './node.js';
import type { Member } from './members.js';

const MOVE_RETRY_DELAY_MS = 50;
const CLIENT_GOODBYE_WAIT_MS = 1000;
const LOGGER_DRAIN_MS = 5000;

export class Shutdown {
  private started = false;
  private phase = 'not started';

  constructor(private readonly node: ClusterNode) {}

  get inProgress(): boolean {
    return this.started;
  }

  /** Starts the shutdown; a second call only reports what is still pending. Resolves when done. */
  async run(): Promise<void> {
    const node = this.node;
    if (this.started) {
      const held = this.heldBuckets();
      node.log.warn({ phase: this.phase, primaries: held.primaries.length, backups: held.backups.length }, 'shutdown already in progress');
      return;
    }
    this.started = true;
    node.leaving = true;
    const deadline = this.node.clock.nowMs() + node.opts.shutdownTimeoutMs;
    node.log.info({ timeoutMs: node.opts.shutdownTimeoutMs }, 'shutdown started');
    this.phase = 'telling members';
    node.members.broadcast(Cmd.shuttingDown, (w) => addressCodec.encode(w, node.me), true);
    for (const s of node.clients) s.pushServerLeaving(node.me);
    this.phase = 'handing over buckets';
    const left = await this.handOver(deadline);
    if (this.isLastNode()) {
      node.log.info({ buckets: left.primaries.length, items: this.itemsIn(left.primaries) }, 'last node of the cluster: saving instead of handing over');
    } else if (left.primaries.length > 0) {
      node.log.warn({ buckets: left.primaries.length, items: this.itemsIn(left.primaries) }, 'could not hand over every bucket in time');
    }
    if (node.loadedSave !== null && !this.isLastNode() && left.primaries.length === 0) {
      // Another node holds every bucket now: the loaded save file is obsolete (loaded-save.ts).
      await node.loadedSave.retire('every bucket was handed over at shutdown');
    }
    if (!node.everServed) node.log.info('this node never joined a cluster: nothing to save, any save file left as it is');
    else if (left.primaries.length > 0 || this.isLastNode()) await this.save(left.primaries);
    this.phase = 'waiting for backups';
    await this.waitForBackups(deadline);
    this.phase = 'saying goodbye';
    await this.goodbyeClients();
    this.phase = 'flushing logging nodes';
    await node.repl.drainLoggers(LOGGER_DRAIN_MS);
    this.goodbyeMembers();
    node.stopTimers();
    await node.closeListener();
    node.stopped = true;
    this.phase = 'done';
    node.log.info('shutdown complete');
  }

  private isLastNode(): boolean {
    return this.node.members.targets().length === 0;
  }

  private heldBuckets(): { primaries: number[]; backups: number[] } {
    const node = this.node;
    const primaries: number[] = [];
    const backups: number[] = [];
    for (let b = 0; b < node.table.size; b++) {
      const e = node.table.get(b);
      if (e.primary === node.me) primaries.push(b);
      else if (e.backup === node.me) backups.push(b);
    }
    return { primaries, backups };
  }

  private itemsIn(buckets: number[]): number {
    let n = 0;
    for (const b of buckets) n += this.node.store.bucket(b)?.itemCount ?? 0;
    return n;
  }

  /** Hands buckets over one at a time until none is held or the deadline passes. */
  private async handOver(deadline: number): Promise<{ primaries: number[]; backups: number[] }> {
    const node = this.node;
    for (;;) {
      const held = this.heldBuckets();
      const targets = node.members.targets();
      if (targets.length === 0 || this.node.clock.nowMs() > deadline) return held;
      if (held.primaries.length === 0 && held.backups.length === 0) return held;
      if (held.primaries.length > 0) {
        const ok = await this.giveAway(held.primaries[0]!, targets);
        if (!ok) await sleep(this.node.clock, MOVE_RETRY_DELAY_MS);
        continue;
      }
      await this.releaseBackups(held.backups, deadline);
    }
  }

  private giveAway(b: number, targets: Member[]): Promise<boolean> {
    const node = this.node;
    const e = node.table.get(b);
    return new Promise((resolve) => {
      let started: boolean;
      if (targets.some((t) => t.addr === e.backup)) {
        started = node.migration.promote(b, e.backup, false, resolve);
      } else {
        const counts = node.table.counts();
        const target = [...targets].sort((x, y) => (counts.get(x.addr)?.primaries ?? 0) - (counts.get(y.addr)?.primaries ?? 0))[0]!;
        started = node.migration.startCopy(b, target.addr, CopyRole.primary, resolve);
      }
      if (!started) resolve(false);
    });
  }

  /** Asks each primary to find another backup; their commits drop the buckets here. */
  private async releaseBackups(buckets: number[], deadline: number): Promise<void> {
    const node = this.node;
    for (const b of buckets) {
      const e = node.table.get(b);
      const link = node.members.linkOf(e.primary);
      if (link === null || this.node.clock.nowMs() > deadline) continue;
      const ref = { mask: node.table.mask, hash: b };
      await link.request(Cmd.backupRelease, (w) => bucketRef.encode(w, ref), 5000).catch(() => undefined);
    }
    // The commits come back as table updates; those still held are asked again next round.
    const end = Math.min(deadline, this.node.clock.nowMs() + 500);
    while (this.node.clock.nowMs() < end && this.heldBuckets().backups.length > 0) await sleep(this.node.clock, MOVE_RETRY_DELAY_MS / 5);
  }

  /** Bounded: the buckets handed over get a backup on the nodes that stay, when there are two or more. */
  private async waitForBackups(deadline: number): Promise<void> {
    const node = this.node;
    const stay = new Set(node.members.targets().map((m) => m.addr));
    if (stay.size < 2) return;
    const end = Math.min(deadline, this.node.clock.nowMs() + 10_000);
    while (this.node.clock.nowMs() < end) {
      let unbacked = 0;
      for (let b = 0; b < node.table.size; b++) {
        const e = node.table.get(b);
        if (stay.has(e.primary) && !stay.has(e.backup)) unbacked++;
      }
      if (unbacked === 0) return;
      await sleep(this.node.clock, MOVE_RETRY_DELAY_MS);
    }
  }

  private async save(buckets: number[]): Promise<void> {
    const node = this.node;
    this.phase = 'writing the save file';
    let epochFloor = 0;
    for (let b = 0; b < node.table.size; b++) epochFloor = Math.max(epochFloor, node.table.get(b).epoch);
    try {
      await node.env.writeSave(node, this.itemsOf(buckets), epochFloor);
    } catch (error) {
      node.log.error({ file: node.opts.savefile, err: String(error) }, 'save file could not be written');
    }
  }

  private *itemsOf(buckets: number[]): Generator<Item> {
    const now = this.node.clock.wallMs();
    for (const b of buckets) {
      const data = this.node.store.bucket(b);
      if (data === undefined) continue;
      for (const it of data.entries()) if (it.expiresAtMs === 0 || it.expiresAtMs > now) yield it;
    }
  }

  private async goodbyeClients(): Promise<void> {
    const node = this.node;
    for (const s of node.clients) {
      if (!s.pushGoodbye()) s.conn.close('node shutting down');
    }
    const end = this.node.clock.nowMs() + CLIENT_GOODBYE_WAIT_MS;
    while (node.clients.size > 0 && this.node.clock.nowMs() < end) await sleep(this.node.clock, 20);
    for (const s of node.clients) s.conn.close('node shutting down');
  }

  private goodbyeMembers(): void {
    for (const m of this.node.members.members.values()) {
      if (m.link === null) continue;
      if (m.role === NodeRole.data) m.link.call(Cmd.goodbye, null, () => undefined, 1000);
      m.link.close('node shutting down');
    }
  }
}
