// Unit tests of the majority rule: over every way to cut a cluster into sides that each hear only
// themselves, at most one side may declare the others dead; a lone death leaves the rest a quorum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sideHasQuorum } from '../../src/server/quorum.js';

/** Node i's view when it hears exactly the nodes of its own side. */
function viewOf(addrs: string[], side: number[], i: number): boolean {
  const others = addrs.flatMap((addr, j) => (j === i ? [] : [{ addr, heard: side[j] === side[i] }]));
  return sideHasQuorum(addrs[i]!, others);
}

const clusterArb = fc
  .uniqueArray(fc.tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 1024, max: 65535 })), { minLength: 3, maxLength: 9 })
  .map((pairs) => pairs.map(([host, port]) => `10.0.0.${host}:${port}`))
  .filter((addrs) => new Set(addrs).size === addrs.length);

test('property: with three or more nodes, at most one side of any cut has a quorum', () => {
  fc.assert(
    fc.property(clusterArb, fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 9, maxLength: 9 }), (addrs, sides) => {
      const side = addrs.map((_, i) => sides[i]!);
      const winners = new Set(addrs.flatMap((_, i) => (viewOf(addrs, side, i) ? [side[i]!] : [])));
      assert.ok(winners.size <= 1, `sides with a quorum: ${[...winners].join(', ')}`);
    }),
    { numRuns: 2000 },
  );
});

test('property: every node of a side that holds a majority has the quorum; one node cut off from three or more has none', () => {
  fc.assert(
    fc.property(clusterArb, fc.nat(), (addrs, pick) => {
      const lone = pick % addrs.length;
      const side = addrs.map((_, i) => (i === lone ? 1 : 0));
      addrs.forEach((_, i) => {
        if (i !== lone) assert.equal(viewOf(addrs, side, i), true, 'the rest goes on');
      });
      assert.equal(viewOf(addrs, side, lone), false, 'the lone node stops');
    }),
    { numRuns: 500 },
  );
});

test('an even cut: the half with the lowest address goes on, the other half stops', () => {
  const addrs = ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1', '10.0.0.4:1'];
  const side = [0, 1, 1, 0];
  assert.deepEqual(addrs.map((_, i) => viewOf(addrs, side, i)), [true, false, false, true]);
});

test('two nodes in all cannot tell a cut from a death: each goes on', () => {
  assert.equal(sideHasQuorum('a:1', [{ addr: 'b:1', heard: false }]), true);
  assert.equal(sideHasQuorum('b:1', [{ addr: 'a:1', heard: false }]), true);
  assert.equal(sideHasQuorum('a:1', []), true, 'alone');
});
