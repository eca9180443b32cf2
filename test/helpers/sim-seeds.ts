// Runs a range of simulator seeds with every fault kind and --quorum majority, and asserts that
// none finds a violation (the failing runs are printed whole: seed, schedule, trace).
import assert from 'node:assert/strict';
import { describeRun, runSeed } from '../../src/sim/run.js';

export async function checkSeeds(first: number, last: number): Promise<void> {
  const failing: string[] = [];
  let acked = 0;
  let faults = 0;
  for (let seed = first; seed <= last; seed++) {
    const r = await runSeed({ seed });
    acked += r.writes.ack;
    faults += r.schedule.length;
    if (!r.ok) failing.push(describeRun(r));
  }
  const seeds = last - first + 1;
  assert.ok(acked > 50 * seeds, `the clients got writes acknowledged (${acked})`);
  assert.ok(faults >= seeds, `the schedules applied faults (${faults})`);
  assert.deepEqual(failing, [], failing.join('\n\n'));
}
