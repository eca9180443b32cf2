// The ownership decisions (src/server/ownership.ts) over small tables: who takes a bucket after a
// death, and what a new incarnation does with entries naming its address for buckets it never held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { disownStale, orphanTakeovers, type OwnershipView } from '../../src/server/ownership.js';
import { compareOwners, type Owners } from '../../src/server/table.js';

const A = '10.0.0.1:13600';
const B = '10.0.0.2:13600';
const C = '10.0.0.3:13600';

function view(me: string, entries: Owners[], live: string[], gone: string[], frozen: number[] = [], held?: number[]): OwnershipView {
  return {
    me,
    table: { get: (b) => entries[b]!, size: entries.length },
    log: pino({ level: 'silent' }),
    isFrozen: (b) => frozen.includes(b),
    liveAddrs: () => new Set([me, ...live]),
    goneAddrs: () => new Set(gone),
    holds: (b) => held === undefined || held.includes(b),
  };
}

test('after a death: the backup takes its buckets; with no live backup the lowest live address marks them ownerless', () => {
  const entries: Owners[] = [
    { epoch: 3, primary: C, backup: B }, // B is the backup: B takes it
    { epoch: 4, primary: C, backup: A }, // A's
    { epoch: 5, primary: C, backup: '' }, // no backup: the lowest live address (A) marks it ownerless
    { epoch: 6, primary: B, backup: C }, // B keeps it; its backup is gone: B drops it
  ];
  assert.deepEqual(orphanTakeovers(view(B, entries, [A], [C])), [
    [0, { epoch: 4, primary: B, backup: '' }],
    [3, { epoch: 7, primary: B, backup: '' }],
  ]);
  assert.deepEqual(orphanTakeovers(view(A, entries, [B], [C])), [
    [1, { epoch: 5, primary: A, backup: '' }],
    [2, { epoch: 6, primary: '', backup: '' }],
  ]);
  assert.deepEqual(orphanTakeovers(view(B, entries, [A], [C], [0])), [[3, { epoch: 7, primary: B, backup: '' }]], 'a frozen bucket waits for its hand-over');
});

test('an address that came back as a new member does not keep its old buckets', () => {
  // C died and a new incarnation of C is already a member: C's address is live, nothing is taken here;
  // the new C gives the buckets away itself (disownStale).
  const entries: Owners[] = [{ epoch: 3, primary: C, backup: B }];
  assert.deepEqual(orphanTakeovers(view(B, entries, [A, C], [C])), []);
  assert.deepEqual(disownStale(view(C, entries, [A, B], []), [0]), [[0, { epoch: 4, primary: B, backup: '' }]]);
});

test('an entry naming this address with no backup: marked ownerless at a higher epoch; other entries untouched', () => {
  const entries: Owners[] = [
    { epoch: 9, primary: A, backup: '' },
    { epoch: 2, primary: B, backup: A },
  ];
  assert.deepEqual(disownStale(view(A, entries, [B], []), [0, 1]), [[0, { epoch: 10, primary: '', backup: '' }]]);
  // The mark never beats an owner's entry of the same epoch, whichever its address.
  assert.ok(compareOwners({ epoch: 10, primary: '', backup: '' }, { epoch: 10, primary: B, backup: '' }) < 0);
});

test('a backup by address only (a new incarnation never given a copy) does not take the bucket: it marks it ownerless', () => {
  const entries: Owners[] = [
    { epoch: 7, primary: C, backup: B }, // B holds no copy of it
    { epoch: 2, primary: C, backup: B }, // B holds this one
  ];
  assert.deepEqual(orphanTakeovers(view(B, entries, [A], [C], [], [1])), [
    [0, { epoch: 8, primary: '', backup: '' }],
    [1, { epoch: 3, primary: B, backup: '' }],
  ]);
  // A, the lowest live address, leaves both to B: B is a live backup of each.
  assert.deepEqual(orphanTakeovers(view(A, entries, [B], [C])), []);
});
