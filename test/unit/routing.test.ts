// Unit tests of the route decision (src/server/routing.ts): the four outcomes by example, then
// properties over random tables and node states (random owners, frozen/incoming buckets, lease).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideRoute, type RouteOp, type RouteView } from '../../src/server/routing.js';
import type { Owners } from '../../src/server/table.js';

const ME = '10.0.0.1:13600';

interface NodeState {
  me: string;
  entries: Owners[];
  frozen: number;
  incoming: number;
  lease: boolean;
  /** The bucket that lost its backup and waits for a new one (-1: none). */
  awaiting: number;
  /** The bucket this node took over that not every member heard of yet (-1: none). */
  unconfirmed?: number;
}

/** A view over plain state; it counts lease checks (the real one scans every member). */
function viewOf(st: NodeState): RouteView & { leaseChecks: number } {
  return {
    me: st.me,
    leaseChecks: 0,
    owners: (b) => st.entries[b]!,
    isFrozen: (b) => st.frozen === b,
    isIncoming: (b) => st.incoming === b,
    leaseValid() {
      this.leaseChecks++;
      return st.lease;
    },
    awaitsBackup: (b) => st.awaiting === b,
    takeOverConfirmed: (b) => st.unconfirmed !== b,
  };
}

function one(entry: Owners, over: Partial<NodeState> = {}): RouteView & { leaseChecks: number } {
  return viewOf({ me: ME, entries: [entry], frozen: -1, incoming: -1, lease: true, awaiting: -1, ...over });
}

test('the four outcomes by example', () => {
  const mine = { epoch: 3, primary: ME, backup: 'b:1' };
  const theirs = { epoch: 3, primary: 'p:1', backup: ME };
  const nobody = { epoch: 3, primary: '', backup: '' };
  assert.deepEqual(decideRoute(one(mine), 0, 'read'), { kind: 'serve' });
  assert.deepEqual(decideRoute(one(mine, { frozen: 0 }), 0, 'write'), { kind: 'retry', reason: 'frozen' });
  assert.deepEqual(decideRoute(one(mine, { lease: false }), 0, 'write'), { kind: 'retry', reason: 'noLease' });
  assert.deepEqual(decideRoute(one(mine, { frozen: 0, lease: false }), 0, 'read'), { kind: 'retry', reason: 'frozen' });
  // A backup does not serve: the client goes to the primary.
  assert.deepEqual(decideRoute(one(theirs), 0, 'read'), { kind: 'redirect', to: 'p:1' });
  assert.deepEqual(decideRoute(one(theirs, { incoming: 0 }), 0, 'read'), { kind: 'retry', reason: 'incoming' });
  assert.deepEqual(decideRoute(one(nobody), 0, 'write'), { kind: 'noOwner' });
  assert.deepEqual(decideRoute(one(nobody, { incoming: 0 }), 0, 'write'), { kind: 'retry', reason: 'incoming' });
});

test('a full-wait write to a bucket that lost its backup waits for the new one; other requests are served', () => {
  const alone = { epoch: 4, primary: ME, backup: '' };
  assert.deepEqual(decideRoute(one(alone, { awaiting: 0 }), 0, 'durableWrite'), { kind: 'retry', reason: 'noBackup' });
  assert.deepEqual(decideRoute(one(alone, { awaiting: 0 }), 0, 'write'), { kind: 'serve' });
  assert.deepEqual(decideRoute(one(alone, { awaiting: 0 }), 0, 'read'), { kind: 'serve' });
  assert.deepEqual(decideRoute(one(alone), 0, 'durableWrite'), { kind: 'serve' }, 'a bucket that never had a backup (a lone node)');
  assert.deepEqual(decideRoute(one({ ...alone, backup: 'b:1' }, { awaiting: 0 }), 0, 'durableWrite'), { kind: 'serve' }, 'the new backup is there');
});

test('a bucket just taken over serves reads at once and writes once every member heard of it (seed 7590)', () => {
  const taken = { epoch: 4, primary: ME, backup: '' };
  assert.deepEqual(decideRoute(one(taken, { unconfirmed: 0 }), 0, 'write'), { kind: 'retry', reason: 'unconfirmed' });
  assert.deepEqual(decideRoute(one(taken, { unconfirmed: 0 }), 0, 'durableWrite'), { kind: 'retry', reason: 'unconfirmed' });
  assert.deepEqual(decideRoute(one(taken, { unconfirmed: 0 }), 0, 'read'), { kind: 'serve' });
  assert.deepEqual(decideRoute(one(taken, { unconfirmed: 0, lease: false }), 0, 'write'), { kind: 'retry', reason: 'noLease' }, 'the lease comes first');
  assert.deepEqual(decideRoute(one(taken), 0, 'write'), { kind: 'serve' });
});

const ADDRS = [ME, '10.0.0.2:13600', '10.0.0.3:13600', ''];
const addrArb = fc.constantFrom(...ADDRS);
const entryArb: fc.Arbitrary<Owners> = fc.record({ epoch: fc.nat({ max: 1000 }), primary: addrArb, backup: addrArb });
const stateArb: fc.Arbitrary<NodeState> = fc.array(entryArb, { minLength: 1, maxLength: 16 }).chain((entries) =>
  fc.record({
    me: fc.constant(ME),
    entries: fc.constant(entries),
    frozen: fc.integer({ min: -1, max: entries.length - 1 }),
    incoming: fc.integer({ min: -1, max: entries.length - 1 }),
    lease: fc.boolean(),
    awaiting: fc.constant(-1),
  }),
);
/** A state and one of its buckets. */
const caseArb = stateArb.chain((st) => fc.tuple(fc.constant(st), fc.nat({ max: st.entries.length - 1 }), fc.constantFrom<RouteOp>('read', 'write')));

test('serve exactly when this node is the primary, the bucket is not frozen and the lease holds', () => {
  fc.assert(
    fc.property(caseArb, ([st, b, op]) => {
      const d = decideRoute(viewOf(st), b, op);
      const expected = st.entries[b]!.primary === st.me && st.frozen !== b && st.lease;
      assert.equal(d.kind === 'serve', expected);
    }),
    { numRuns: 2000 },
  );
});

test('a redirect always names the table\'s primary, never this node nor nobody', () => {
  fc.assert(
    fc.property(caseArb, ([st, b, op]) => {
      const d = decideRoute(viewOf(st), b, op);
      if (d.kind !== 'redirect') return;
      assert.equal(d.to, st.entries[b]!.primary);
      assert.notEqual(d.to, st.me);
      assert.notEqual(d.to, '');
      assert.notEqual(st.incoming, b, 'an arriving bucket is retried, not redirected');
    }),
    { numRuns: 2000 },
  );
});

test('each retry reason holds in the state, and noOwner only when nobody owns the bucket', () => {
  fc.assert(
    fc.property(caseArb, ([st, b, op]) => {
      const d = decideRoute(viewOf(st), b, op);
      const mine = st.entries[b]!.primary === st.me;
      if (d.kind === 'retry') {
        if (d.reason === 'frozen') assert.ok(mine && st.frozen === b);
        if (d.reason === 'noLease') assert.ok(mine && st.frozen !== b && !st.lease);
        if (d.reason === 'incoming') assert.ok(!mine && st.incoming === b);
      }
      assert.equal(d.kind === 'noOwner', st.entries[b]!.primary === '' && st.incoming !== b);
    }),
    { numRuns: 2000 },
  );
});

test('reads and writes route alike; only the bucket\'s own state counts; the lease is asked only of a primary', () => {
  fc.assert(
    fc.property(caseArb, entryArb, ([st, b], other) => {
      const read = viewOf(st);
      const r = decideRoute(read, b, 'read');
      assert.deepEqual(decideRoute(viewOf(st), b, 'write'), r);
      // Changing any other bucket's entry changes nothing for b.
      const entries = st.entries.map((e, i) => (i === b ? e : other));
      assert.deepEqual(decideRoute(viewOf({ ...st, entries }), b, 'read'), r);
      if (st.entries[b]!.primary !== st.me) assert.equal(read.leaseChecks, 0);
    }),
    { numRuns: 1000 },
  );
});
