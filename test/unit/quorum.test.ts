// Unit tests of the majority rule: over every way to cut a cluster into sides, with each node's
// last news of the others staggered by up to a heartbeat and each node judging at its own moment,
// at most one side declares the other dead; a lone cut-off node never does, the rest always can.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sideHasQuorum } from '../../src/server/membership/quorum.js';

const DEAD_AFTER_MS = 3000;
/** Heartbeats go out at least three times per dead-after time (serve enforces it). */
const HEARTBEAT_MS = DEAD_AFTER_MS / 3;

interface Cut {
  addrs: string[];
  side: number[];
  /** lag[i][j]: how long before the cut node i last heard node j (within one heartbeat). */
  lag: number[][];
  /** When node i judges, after the cut. */
  at: number[];
}

const cutArb: fc.Arbitrary<Cut> = fc
  .uniqueArray(fc.integer({ min: 1, max: 254 }), { minLength: 3, maxLength: 9 })
  .chain((hosts) => {
    const n = hosts.length;
    return fc.record({
      addrs: fc.constant(hosts.map((h) => `10.0.0.${h}:13600`)),
      side: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }),
      lag: fc.array(fc.array(fc.integer({ min: 0, max: HEARTBEAT_MS }), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
      at: fc.array(fc.integer({ min: 0, max: 4 * DEAD_AFTER_MS }), { minLength: n, maxLength: n }),
    });
  });

/** Whether node i, judging at its moment, would declare someone dead (someone silent too long, and a quorum). */
function declares(c: Cut, i: number): boolean {
  const others = c.addrs.flatMap((addr, j) => {
    if (j === i) return [];
    // Same side: heard all along (within a heartbeat); other side: silent since the cut.
    const silentMs = c.side[j] === c.side[i] ? c.lag[i]![j]! : c.at[i]! + c.lag[i]![j]!;
    return [{ addr, silentMs }];
  });
  const someoneDead = others.some((o) => o.silentMs > DEAD_AFTER_MS);
  return someoneDead && sideHasQuorum(c.addrs[i]!, others, DEAD_AFTER_MS / 2);
}

test('property: with three or more nodes, at most one side of any cut declares the other dead, whenever each node judges', () => {
  fc.assert(
    fc.property(cutArb, (c) => {
      const sides = new Set(c.addrs.flatMap((_, i) => (declares(c, i) ? [c.side[i]!] : [])));
      assert.ok(sides.size <= 1, `sides that declared the other dead: ${[...sides].join(', ')}`);
    }),
    { numRuns: 3000 },
  );
});

test('property: one node cut off from two or more never declares them dead; the rest do once the dead-after time passed', () => {
  fc.assert(
    fc.property(cutArb, fc.nat(), (c, pick) => {
      const lone = pick % c.addrs.length;
      const cut: Cut = { ...c, side: c.addrs.map((_, i) => (i === lone ? 1 : 0)), at: c.at.map(() => 2 * DEAD_AFTER_MS) };
      assert.equal(declares(cut, lone), false, 'the lone node never declares');
      c.addrs.forEach((_, i) => {
        if (i !== lone) assert.equal(declares(cut, i), true, `node ${i} of the rest declares the lone node dead`);
      });
    }),
    { numRuns: 500 },
  );
});

test('an even cut: the half with the lowest address goes on, the other half waits', () => {
  const addrs = ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1', '10.0.0.4:1'];
  const c: Cut = { addrs, side: [0, 1, 1, 0], lag: addrs.map(() => addrs.map(() => 0)), at: addrs.map(() => 2 * DEAD_AFTER_MS) };
  assert.deepEqual(addrs.map((_, i) => declares(c, i)), [true, false, false, true]);
});

test('two nodes in all cannot tell a cut from a death: only the lower address goes on', () => {
  assert.equal(sideHasQuorum('a:1', [{ addr: 'b:1', silentMs: 10_000 }], DEAD_AFTER_MS / 2), true);
  assert.equal(sideHasQuorum('b:1', [{ addr: 'a:1', silentMs: 10_000 }], DEAD_AFTER_MS / 2), false);
  assert.equal(sideHasQuorum('b:1', [{ addr: 'a:1', silentMs: 0 }], DEAD_AFTER_MS / 2), true, 'both heard');
  assert.equal(sideHasQuorum('a:1', [], DEAD_AFTER_MS / 2), true, 'alone');
});
