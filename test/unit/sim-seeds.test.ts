// The second hundred of the simulator seeds `npm test` runs (the first are in sim-run.test.ts): with
// every fault kind and --quorum majority, no violation of any check (src/sim/run.ts).
import { test } from 'node:test';
import { checkSeeds } from '../helpers/sim-seeds.js';

test('100 seeded runs (101..200) with --quorum majority: no violation', async () => {
  await checkSeeds(101, 200);
});
