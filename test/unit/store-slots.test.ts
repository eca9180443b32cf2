// The compact store (item-slots.ts, store.ts): random put/overwrite/remove/expire sequences against
// a plain Map, views of the arena staying valid across overwrites and compaction, dead bytes
// bounded, the memory count consistent, last-use stamps halved in order before they wrap, and the
// mget read (writeValueOf) with expiry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { COMPACT_MIN_DEAD_BYTES, ItemSlots, OWN_CHUNK_BYTES, SLOT_BYTES, TICK_MAX } from '../../src/server/item-slots.js';
import { ENTRY_BYTES } from '../../src/server/key-index.js';
import { Store } from '../../src/server/store.js';
import { readValue, type Value } from '../../src/protocol/values.js';
import { Reader, Writer } from '../../src/protocol/codec.js';

const valueArb: fc.Arbitrary<Value> = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => ({ t: 3 as const, v: Buffer.from(a) })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((n) => ({ t: 4 as const, v: Buffer.alloc(OWN_CHUNK_BYTES - 1 + n, n + 1) })) },
  { weight: 2, arbitrary: fc.integer().map((v) => ({ t: 1 as const, v })) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => ({ t: 2 as const, v })) },
);

function same(a: Value, b: Value): boolean {
  if (a.t !== b.t) return false;
  if (a.t === 1 || a.t === 2) return a.v === b.v;
  return Buffer.compare(a.v, b.v as Buffer) === 0;
}

const bytesOf = (v: Value): number => (v.t === 1 ? 0 : v.t === 2 ? 8 : v.v.length);

test('ItemSlots holds what a Map holds through random adds, overwrites, frees and compactions, and counts its bytes', () => {
  type Op = { k: 'add'; v: Value; exp: number } | { k: 'set'; i: number; v: Value } | { k: 'free'; i: number } | { k: 'compact' };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant('add' as const), v: valueArb, exp: fc.nat() }) },
    { weight: 4, arbitrary: fc.record({ k: fc.constant('set' as const), i: fc.nat(), v: valueArb }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('free' as const), i: fc.nat() }) },
    { weight: 1, arbitrary: fc.constant({ k: 'compact' as const }) },
  );
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
      const slots = new ItemSlots();
      const model = new Map<number, { v: Value; exp: number; seq: number }>();
      let seq = 0;
      for (const op of ops) {
        const live = [...model.keys()];
        if (op.k === 'add') {
          const s = slots.add(op.v, op.exp, 1, 7, ++seq);
          assert.ok(!model.has(s), 'a new slot is not one in use');
          model.set(s, { v: op.v, exp: op.exp, seq });
        } else if (op.k === 'set' && live.length > 0) {
          const s = live[op.i % live.length]!;
          slots.set(s, op.v, 5, 2, 9, ++seq);
          model.set(s, { v: op.v, exp: 5, seq });
        } else if (op.k === 'free' && live.length > 0) {
          const s = live[op.i % live.length]!;
          slots.free(s);
          model.delete(s);
        } else if (op.k === 'compact') slots.compact();
      }
      assert.equal(slots.count, model.size);
      assert.deepEqual([...slots.slots()].sort((x, y) => x - y), [...model.keys()].sort((x, y) => x - y));
      let live = 0;
      for (const [s, m] of model) {
        assert.ok(same(slots.value(s), m.v), `slot ${s} holds its value`);
        assert.equal(slots.expiresAt(s), m.exp);
        assert.equal(slots.vSeq(s), m.seq);
        live += bytesOf(m.v);
      }
      assert.equal(slots.liveBytes, live);
      assert.ok(slots.arenaBytes >= live);
      assert.ok(slots.deadBytes <= Math.max(COMPACT_MIN_DEAD_BYTES, live / 2), 'dead bytes are compacted away past their bound');
    }),
    { numRuns: 150 },
  );
});

test('a value handed out is a view that stays as it was through overwrites, frees and compactions', () => {
  const slots = new ItemSlots();
  const first = Buffer.alloc(1100, 'f');
  const s = slots.add({ t: 3, v: first }, 0, 1, 1, 1);
  const many: number[] = [];
  for (let i = 0; i < 400; i++) many.push(slots.add({ t: 3, v: Buffer.alloc(1100, i) }, 0, 1, 1, 2));
  const held = slots.value(s);
  assert.equal(held.t, 3);
  slots.set(s, { t: 3, v: Buffer.alloc(1100, 's') }, 0, 1, 1, 3);
  for (const m of many) slots.value(m); // handed out: their rewrites go elsewhere
  // Two of every three overwritten: each old chunk keeps a third live, so only compaction frees them.
  for (let i = 0; i < many.length; i++) if (i % 3 !== 0) slots.set(many[i]!, { t: 3, v: Buffer.alloc(1100, 9) }, 0, 1, 1, 4);
  assert.ok(slots.compactions > 0, 'the overwrites made the bucket compact');
  assert.ok(slots.deadBytes <= Math.max(COMPACT_MIN_DEAD_BYTES, slots.liveBytes / 2));
  assert.ok((held.v as Buffer).equals(first), 'the view still shows what it showed');
  assert.equal((slots.value(s).v as Buffer)[0], 's'.charCodeAt(0));
  for (const m of many) slots.free(m);
  slots.compact();
  assert.ok((held.v as Buffer).equals(first));
  assert.ok(slots.arenaBytes <= 4096, `after compaction only the live bytes' chunk is held (${slots.arenaBytes})`);
});

test('a value never handed out is rewritten in place by one no longer (no dead bytes); one handed out is not', () => {
  const slots = new ItemSlots();
  const ids: number[] = [];
  for (let i = 0; i < 1000; i++) ids.push(slots.add({ t: 3, v: Buffer.alloc(100, 1) }, 0, 1, 1, 1));
  const arena = slots.arenaBytes;
  const dead = slots.deadBytes;
  for (let round = 0; round < 50; round++) for (let i = 1; i < ids.length; i++) slots.set(ids[i]!, { t: 3, v: Buffer.alloc(100, round) }, 0, 1, 1, 2);
  assert.equal(slots.arenaBytes, arena, 'same-size rewrites take no new arena bytes');
  assert.equal(slots.compactions, 0);
  assert.equal(slots.deadBytes, dead, 'nor make dead ones (only the tails of filled chunks are)');
  assert.ok((slots.value(ids[5]!).v as Buffer).equals(Buffer.alloc(100, 49)));
  const view = slots.value(ids[0]!);
  slots.set(ids[0]!, { t: 3, v: Buffer.alloc(100, 2) }, 0, 1, 1, 3);
  assert.ok((view.v as Buffer).equals(Buffer.alloc(100, 1)), 'the view handed out kept its bytes: the rewrite went elsewhere');
  assert.equal(slots.deadBytes, dead + 100);
  slots.set(ids[0]!, { t: 3, v: Buffer.alloc(100, 4) }, 0, 1, 1, 4);
  assert.equal(slots.deadBytes, dead + 100, 'the new bytes were not handed out: rewritten in place');
  assert.ok((view.v as Buffer).equals(Buffer.alloc(100, 1)));
  slots.set(ids[1]!, { t: 3, v: Buffer.from('short') }, 0, 1, 1, 3);
  assert.equal(slots.deadBytes, dead + 195, 'a shorter rewrite leaves the rest of the old bytes dead');
  slots.set(ids[2]!, { t: 2, v: -5n }, 0, 1, 1, 3);
  assert.equal(slots.value(ids[2]!).v, -5n);
  slots.set(ids[3]!, { t: 3, v: Buffer.alloc(101, 3) }, 0, 1, 1, 3);
  assert.ok((slots.value(ids[3]!).v as Buffer).equals(Buffer.alloc(101, 3)), 'a longer rewrite is appended');
});

test('a value of its own chunk is freed with its item, and one left after compaction keeps its bytes', () => {
  const slots = new ItemSlots();
  const big = Buffer.alloc(OWN_CHUNK_BYTES * 2, 7);
  const a = slots.add({ t: 4, v: big }, 0, 1, 1, 1);
  const b = slots.add({ t: 4, v: big }, 0, 1, 1, 2);
  assert.equal(slots.arenaBytes, 2 * big.length);
  slots.free(a);
  assert.equal(slots.arenaBytes, big.length, "the freed value's chunk went at once");
  slots.compact();
  assert.ok((slots.value(b).v as Buffer).equals(big));
});

type ModelItem = { v: Value; exp: number };

test('Store against a Map: random puts, overwrites, removes, map deletes, expiries and a widen', () => {
  type Op =
    | { k: 'put'; map: number; key: number; v: Value; exp: number }
    | { k: 'remove'; map: number; key: number }
    | { k: 'read'; map: number; key: number }
    | { k: 'removeMap'; map: number }
    | { k: 'sweep' }
    | { k: 'widen' };
  const ref = { map: fc.integer({ min: 0, max: 3 }), key: fc.integer({ min: 0, max: 40 }) };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ k: fc.constant('put' as const), ...ref, v: valueArb, exp: fc.constantFrom(0, 0, 50, 150) }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('remove' as const), ...ref }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('read' as const), ...ref }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('removeMap' as const), map: ref.map }) },
    { weight: 1, arbitrary: fc.constant({ k: 'sweep' as const }) },
    { weight: 1, arbitrary: fc.constant({ k: 'widen' as const }) },
  );
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
      const store = new Store(3);
      const model = new Map<string, ModelItem>();
      const mapName = (m: number): string => (m === 0 ? '' : `m${m}`);
      const id = (map: string, key: string): string => `${map}\u0000${key}`;
      const now = 100;
      for (const op of ops) {
        if (op.k === 'widen') {
          if (store.mask < 63) store.widen(store.mask * 2 + 1);
          continue;
        }
        if (op.k === 'sweep') {
          store.sweep(now, 1000, () => true, () => undefined);
          for (const [k, it] of model) if (it.exp !== 0 && it.exp <= now) model.delete(k);
          continue;
        }
        const map = mapName(op.map);
        if (op.k === 'removeMap') {
          const m = map === '' ? 'm1' : map;
          store.removeMap(store.bucketOf(m, ''), m);
          for (const k of [...model.keys()]) if (k.startsWith(`${m}\u0000`)) model.delete(k);
          continue;
        }
        const key = `k${op.key}`;
        const b = store.bucketOf(map, key);
        if (op.k === 'put') {
          store.put(b, map, key, { value: op.v, expiresAtMs: op.exp, vEpoch: 1, vSeq: 1 });
          model.set(id(map, key), { v: op.v, exp: op.exp });
        } else if (op.k === 'remove') {
          assert.equal(store.remove(b, map, key), model.delete(id(map, key)));
        } else {
          const got = store.read(b, map, key, now, null);
          const want = model.get(id(map, key));
          const live = want !== undefined && (want.exp === 0 || want.exp > now);
          assert.equal(got !== undefined, live, `read ${map}/${key}`);
          if (live) assert.ok(same(got!.value, want.v));
          else model.delete(id(map, key));
        }
      }
      assert.equal(store.totalItems(), model.size);
      let bytes = 0;
      for (const b of store.heldBuckets()) {
        const data = store.bucket(b)!;
        bytes += data.bytes;
        for (const it of data.entries()) {
          const want = model.get(id(it.map, it.key));
          assert.ok(want !== undefined && same(it.value, want.v) && it.expiresAtMs === want.exp, `held ${it.map}/${it.key} as the model`);
          assert.equal(store.bucketOf(it.map, it.key), b, 'each item sits in the bucket of its hash');
        }
      }
      assert.equal(store.approxBytes, bytes, 'the running memory count is the sum of the buckets');
    }),
    { numRuns: 150 },
  );
});

test('before the 32-bit last-use stamps wrap they are halved, and the least recently used item stays the candidate', () => {
  const s = new Store(1);
  const str = (x: string): Value => ({ t: 3, v: Buffer.from(x) });
  (s as unknown as { tick: number }).tick = TICK_MAX - 2;
  for (const k of ['a', 'b', 'c', 'd']) s.put(0, '', k, { value: str(k), expiresAtMs: 0, vEpoch: 0, vSeq: 0 });
  s.read(0, '', 'a', 0, null);
  const c = s.evictionCandidate(0, 5, false, false);
  assert.equal(c?.key, 'b');
  assert.ok(c!.usedTick < TICK_MAX / 2 + 10, `stamps were halved (${c!.usedTick})`);
});

test('the memory count follows items in and out, down to the empty bucket', () => {
  const s = new Store(1);
  const empty = s.hold(0).bytes;
  for (let i = 0; i < 5000; i++) s.put(0, '', `key:${i}`, { value: { t: 3, v: Buffer.alloc(100, i) }, expiresAtMs: 0, vEpoch: 0, vSeq: 0 });
  const each = 100 + SLOT_BYTES + ENTRY_BYTES + 'key:1234'.length;
  assert.ok(s.approxBytes > 5000 * each, `5000 items of 100 bytes count at least value, slot, index entry and key (${each} B) each (${s.approxBytes})`);
  for (let i = 0; i < 5000; i++) s.remove(0, '', `key:${i}`);
  assert.ok(s.approxBytes - empty <= 5000 * SLOT_BYTES * 1.3 + 70_000, `only the records' room and one chunk stay (${s.approxBytes - empty})`);
});

test('writeValueOf (the mget read) writes a value in its wire form, a map entry too, and removes an item once expired', () => {
  const s = new Store(15);
  const key = 'k\u00e9y1';
  const b = s.bucketOf('', key);
  s.put(b, '', key, { value: { t: 3, v: Buffer.from('hello') }, expiresAtMs: 1000, vEpoch: 1, vSeq: 1 });
  s.put(s.bucketOf('m', key), 'm', key, { value: { t: 1, v: 7 }, expiresAtMs: 0, vEpoch: 1, vSeq: 2 });
  const w = new Writer();
  w.begin(1, 0, 1);
  assert.equal(s.writeValueOf(b, '', key, 999, null, w), true);
  assert.equal(s.writeValueOf(s.bucketOf('m', key), 'm', key, 5000, null, w), true, 'a map entry, never expiring');
  assert.equal(s.writeValueOf(b, '', key.slice(0, 3), 999, null, w), false, 'a prefix of the key is another key');
  w.end();
  const r = new Reader(w.take(), 12);
  assert.deepEqual(readValue(r), { t: 3, v: Buffer.from('hello') });
  assert.deepEqual(readValue(r), { t: 1, v: 7 });
  const expired: string[] = [];
  assert.equal(s.writeValueOf(b, '', key, 1000, (_b, map, k) => expired.push(`${map}/${k}`), new Writer()), false);
  assert.deepEqual(expired, [`/${key}`]);
  assert.equal(s.read(b, '', key, 0, null), undefined, 'the expired item is gone');
});
