// Buckets with no live copy (src/server/lost-buckets.ts), on the simulator's clock over a real
// bucket table and store: an ownerless bucket waits the grace time and is then taken over empty by
// the lowest live address only; a node that rejoins keeps its buckets' data and hands back those
// the cluster has no owner for (or names it primary of with no backup), and no others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { LostBuckets, type LostBucketsHost } from '../../src/server/lost-buckets.js';
import { Store } from '../../src/server/store.js';
import { BucketTable, type Owners } from '../../src/server/table.js';
import { VirtualClock } from '../../src/sim/clock.js';

const A = '10.0.0.1:13600';
const B = '10.0.0.2:13600';
const GRACE_MS = 30_000;

function host(me: string, live: string[], clock: VirtualClock): LostBucketsHost & { table: BucketTable; store: Store } {
  return {
    me,
    clock,
    log: pino({ level: 'silent' }),
    table: new BucketTable(3, { epoch: 1, primary: A, backup: B }),
    store: new Store(3),
    opts: { lostBucketGraceMs: GRACE_MS },
    ownershipView: { liveAddrs: () => new Set([me, ...live]) },
    migration: { isIncoming: () => false },
  };
}

/** Moves virtual time on by ms (an event at the end, since an idle clock does not move). */
async function advance(clock: VirtualClock, ms: number): Promise<void> {
  const untilMs = clock.nowMs() + ms;
  clock.setTimeout(() => undefined, ms);
  await clock.run({ untilMs });
}

test('an ownerless bucket waits the grace time, then the lowest live address takes it over empty', async () => {
  const clock = new VirtualClock();
  const lowest = host(A, [B], clock);
  const other = host(B, [A], clock);
  for (const h of [lowest, other]) h.table.set(2, { epoch: 5, primary: '', backup: '' });
  const lostA = new LostBuckets(lowest);
  const lostB = new LostBuckets(other);
  assert.deepEqual(lostA.tick(), [], 'first seen now');
  assert.deepEqual(lostB.tick(), []);
  await advance(clock, GRACE_MS - 1);
  assert.deepEqual(lostA.tick(), [], 'still within the grace time');
  await advance(clock, 2);
  assert.deepEqual(lostA.tick(), [[2, { epoch: 6, primary: A, backup: '' }]]);
  assert.deepEqual(lostB.tick(), [], 'only the lowest live address takes it');
});

test('a bucket that gets an owner again within the grace time is not taken', async () => {
  const clock = new VirtualClock();
  const h = host(A, [B], clock);
  const lost = new LostBuckets(h);
  h.table.set(1, { epoch: 5, primary: '', backup: '' });
  lost.tick();
  h.table.set(1, { epoch: 6, primary: B, backup: '' });
  await advance(clock, GRACE_MS + 1);
  assert.deepEqual(lost.tick(), []);
  h.table.set(1, { epoch: 7, primary: '', backup: '' });
  assert.deepEqual(lost.tick(), [], 'the wait starts again');
});

test('a rejoining node hands back the kept buckets the cluster has no owner for, with their data', async () => {
  const clock = new VirtualClock();
  const h = host(B, [A], clock);
  for (const b of [0, 1, 2]) h.store.put(b, '', `key-in-${b}`, { value: { t: 3, v: Buffer.from(`v${b}`) }, expiresAtMs: 0 } as never);
  const lost = new LostBuckets(h);
  lost.keepAll();
  assert.deepEqual(h.store.heldBuckets(), [], 'the store is empty while the node rejoins');
  // The cluster's table: bucket 0 has an owner, bucket 1 none, bucket 2 names B primary with no backup.
  const entries: Owners[] = [
    { epoch: 9, primary: A, backup: '' },
    { epoch: 9, primary: '', backup: '' },
    { epoch: 9, primary: B, backup: '' },
    { epoch: 9, primary: A, backup: '' },
  ];
  entries.forEach((e, b) => h.table.set(b, e));
  const namedMine = [2];
  assert.deepEqual(lost.handBack(namedMine), [
    [1, { epoch: 10, primary: B, backup: '' }],
    [2, { epoch: 10, primary: B, backup: '' }],
  ]);
  assert.deepEqual(namedMine, [], 'bucket 2 is not given away as stale');
  assert.deepEqual(h.store.heldBuckets(), [1, 2]);
  assert.equal(h.store.bucket(1)?.items.has('key-in-1'), true);
  assert.equal(h.store.bucket(0), undefined, 'bucket 0 has an owner: not taken');
  await advance(clock, GRACE_MS + 1);
  lost.tick();
  h.table.set(0, { epoch: 10, primary: '', backup: '' });
  assert.deepEqual(lost.handBack([]), [], 'kept data is dropped after the grace time');
});
