// The failure-detection rule over every way to cut a small network: which links work is drawn at
// random; each node suspects exactly the nodes it cannot reach and hears exactly those it can.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isSuspect, suspicionConfirmed, type Witness } from '../../src/server/membership/failure-detector.js';

/** links[i][j] (i < j): whether nodes i and j reach each other. */
type Links = boolean[][];

const addr = (i: number): string => `10.0.0.${i + 1}:13600`;

function reach(links: Links, i: number, j: number): boolean {
  if (i === j) return true;
  return i < j ? links[i]![j]! : links[j]![i]!;
}

/**
 * Whether node i may declare node t dead, with every node suspecting the ones it cannot reach.
 * `unknown`: nodes missing from i's view (it declared them dead, say) that the others' views hold.
 */
function mayDeclare(links: Links, n: number, i: number, t: number, unknown: ReadonlySet<number> = new Set()): boolean {
  if (reach(links, i, t)) return false; // i hears t: no suspicion
  const witnesses: Witness[] = [];
  for (let x = 0; x < n; x++) {
    if (x === i || x === t || unknown.has(x)) continue;
    witnesses.push({ addr: addr(x), heard: reach(links, i, x), suspectsTarget: !reach(links, x, t), suspectsMe: !reach(links, x, i) });
  }
  return suspicionConfirmed(addr(i), addr(t), witnesses, false, unknown.size);
}

const network = fc.integer({ min: 2, max: 7 }).chain((n) =>
  fc.tuple(fc.constant(n), fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { minLength: n, maxLength: n })),
);

test('no two nodes may ever declare each other dead, however the links are cut', () => {
  fc.assert(
    fc.property(network, ([n, links]) => {
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          assert.ok(!(mayDeclare(links, n, i, j) && mayDeclare(links, n, j, i)), `${i} and ${j} would declare each other dead`);
        }
      }
    }),
    { numRuns: 2000 },
  );
});

test('views that differ: a node that does not know some members never declares one that, with them, declares it', () => {
  fc.assert(
    fc.property(
      network.chain(([n, links]) => fc.tuple(fc.constant(n), fc.constant(links), fc.integer({ min: 0, max: n - 1 }), fc.subarray([...Array(n).keys()]))),
      ([n, links, a, unknownList]) => {
        const unknown = new Set(unknownList.filter((x) => x !== a));
        for (let t = 0; t < n; t++) {
          if (t === a || unknown.has(t)) continue;
          assert.ok(!(mayDeclare(links, n, a, t, unknown) && mayDeclare(links, n, t, a)), `${a} (not knowing ${[...unknown]}) and ${t} would declare each other dead`);
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test('two in my view, three in the other\'s: no tie-break, refused dial or not (seed 7590)', () => {
  assert.equal(suspicionConfirmed(addr(0), addr(2), [], false, 1), false, 'the other knows a member this node does not');
  assert.equal(suspicionConfirmed(addr(0), addr(2), [], true, 1), false);
  assert.equal(suspicionConfirmed(addr(0), addr(2), [], false, 0), true, 'both views are the two: the tie-break stands');
});

test('a cut of one link, every other link up: neither end may declare the other dead', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 9 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 }))),
      ([n, a, b]) => {
        fc.pre(a !== b);
        const links: Links = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => !((i === a && j === b) || (i === b && j === a))));
        assert.equal(mayDeclare(links, n, a, b), false);
        assert.equal(mayDeclare(links, n, b, a), false);
      },
    ),
  );
});

test('a node cut off from everyone (dead) is declared by every node of a connected majority', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 9 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
      ([n, dead]) => {
        const links: Links = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => i !== dead && j !== dead));
        for (let i = 0; i < n; i++) if (i !== dead) assert.equal(mayDeclare(links, n, i, dead), true, `node ${i} declares ${dead}`);
      },
    ),
  );
});

test('two nodes: the lower address declares the silent other; the higher only once a dial to the lower was refused', () => {
  assert.equal(suspicionConfirmed(addr(0), addr(1), []), true, 'the lower address is the tie-breaker');
  assert.equal(suspicionConfirmed(addr(1), addr(0), []), false, 'silence alone: a cut, maybe');
  assert.equal(suspicionConfirmed(addr(1), addr(0), [], true), true, 'a refused dial: the process is gone');
});

test('a witness that is not heard, or whose report does not name the suspect, confirms nothing', () => {
  const w = (heard: boolean, suspectsTarget: boolean, suspectsMe = false): Witness => ({ addr: addr(2), heard, suspectsTarget, suspectsMe });
  assert.equal(suspicionConfirmed(addr(0), addr(1), [w(true, true)]), true);
  assert.equal(suspicionConfirmed(addr(0), addr(1), [w(false, true)]), false, 'nodes killed together do not vouch for each other');
  assert.equal(suspicionConfirmed(addr(0), addr(1), [w(true, false)]), false, 'a witness that still hears the suspect keeps it');
  assert.equal(suspicionConfirmed(addr(0), addr(1), [w(true, true, true)]), false, 'a witness that suspects the judge too was the one cut off');
});

test('suspicion: silence past the dead-after time, or half of it after a refused dial', () => {
  assert.equal(isSuspect(10_000, 7_000, undefined, 3000), false, 'exactly the dead-after time: not yet');
  assert.equal(isSuspect(10_001, 7_000, undefined, 3000), true);
  assert.equal(isSuspect(8_500, 7_000, 8_400, 3000), true, 'refused after it fell silent, silent half the time');
  assert.equal(isSuspect(8_400, 7_000, 8_300, 3000), false, 'refused, but its lease may still run');
  assert.equal(isSuspect(8_500, 7_000, 6_000, 3000), false, 'a refusal from before it was last heard does not count');
});
