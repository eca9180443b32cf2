// gamut's load phase against a real node: preloadSec counts the preload alone, never the timed phase
// that follows it (it used to be read after the timed phase, so it always included it); a warm-up
// runs between the two and is counted in neither.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { runLoad, type LoadOptions, type LoadProgress } from '../../src/gamut/load.js';
import { oursStore } from '../../src/gamut/target.js';
import { Cluster } from '../../src/index.js';
import { cleanup, startNode } from '../helpers/nodes.js';

after(cleanup);

test('preloadSec ends where the timed phase begins', { timeout: 60_000 }, async () => {
  const node = await startNode();
  const store = oursStore({ seed: node.addr, requestTimeoutMs: 5000, connectTimeoutMs: 5000, access: {} });
  const startedMs = performance.now();
  let timedStartMs: number | null = null;
  const result = await runLoad(store, {
    keys: 300,
    valueBytes: 100,
    inflight: 8,
    connections: 1,
    getWeight: 1,
    setWeight: 1,
    incrWeight: 0,
    mgetWeight: 0,
    mgetKeys: 1,
    durationSec: 1,
    requestsMax: 1_000_000,
    prefix: 'preload-test:',
    seed: 7,
    retries: 0,
    ledger: null,
    onPhaseChange: (phase) => {
      if (phase === 'load') timedStartMs = performance.now();
    },
  });
  assert.notEqual(timedStartMs, null, "the timed phase was announced with onPhaseChange('load')");
  assert.equal(result.preloadErrors, 0);
  assert.ok(result.ops > 0);
  // Both are read from the same monotonic clock: the preload ran inside [startedMs, timedStartMs],
  // whatever the machine's speed (the 0.0005 s is preloadSec's rounding to 3 decimals).
  const beforeTimedSec = (timedStartMs! - startedMs) / 1000;
  assert.ok(result.preloadSec <= beforeTimedSec + 0.0005, `preloadSec ${result.preloadSec} > ${beforeTimedSec} s before the timed phase`);
  assert.ok(result.preloadSec > 0);
});

test('a warm-up runs the mix between the preload and the timed phase, and the timed figures leave it out', { timeout: 60_000 }, async () => {
  const node = await startNode();
  const store = oursStore({ seed: node.addr, requestTimeoutMs: 5000, connectTimeoutMs: 5000, access: {} });
  const phases: LoadProgress['phase'][] = [];
  const opts: LoadOptions = {
    keys: 200,
    valueBytes: 100,
    inflight: 4,
    connections: 1,
    getWeight: 1,
    setWeight: 0,
    incrWeight: 0,
    mgetWeight: 0,
    mgetKeys: 1,
    durationSec: 60,
    warmupSec: 0.3,
    requestsMax: 400,
    prefix: 'warmup-test:',
    seed: 7,
    retries: 0,
    ledger: null,
    onProgress: (p) => {
      if (phases.at(-1) !== p.phase) phases.push(p.phase);
    },
  };
  const result = await runLoad(store, opts);
  assert.deepEqual(phases, ['preload', 'warmup', 'load']);
  assert.equal(result.errors, 0);
  // The timed phase ends at its request bound: its count is its own, not the warm-up's on top
  // (time alone bounds the warm-up).
  assert.equal(result.ops, 400);
  assert.ok(result.warmupOps > 0, `warm-up requests ${result.warmupOps}`);
  assert.equal(result.warmupErrors, 0);
  // The node served the preload's sets, then the warm-up's gets and the timed phase's.
  const c = new Cluster({ seeds: [node.addr] });
  try {
    await c.connect();
    const s = (await c.stats())[0] as { ops?: { reads?: number } } | undefined;
    assert.equal(s?.ops?.reads, result.warmupOps + result.ops);
  } finally {
    await c.close();
  }
  await assert.rejects(runLoad(store, { ...opts, warmupSec: -1 }), /warm-up out of range/);
});
