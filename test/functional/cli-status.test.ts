// `opencluster status` against two real nodes: both listed, the verdict reaches balanced with
// every bucket backed up, and a node's loss shows as degraded, then rebalanced, with the lost node
// in state dead (never as a live row).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_PATH, cleanup, killNode, makeTempDir, runCli, startNode, waitFor, type NodeProcess } from '../helpers/nodes.js';

interface Report {
  nodes: { addr: string; state: string; primary: number; backup: number; items: number | null; transfer: unknown; incoming: unknown }[];
  loggers: { addr: string; state: string }[];
  verdict: string;
  mask: number;
}

let first: NodeProcess;
let second: NodeProcess;
let logger: ChildProcess | undefined;

const EXIT_OF: Record<string, number> = { balanced: 0, balancing: 1, degraded: 3 };

/** The report; its exit code always matches its verdict. */
async function status(addr: string): Promise<Report> {
  const r = await runCli(['status', '--json', '--cluster', addr]);
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(r.code, EXIT_OF[report.verdict], `exit code of verdict ${report.verdict}: ${r.stderr}`);
  return report;
}

before(async () => {
  first = await startNode();
  second = await startNode({ nodes: [first.addr] });
});
after(async () => {
  if (logger !== undefined && logger.exitCode === null && logger.signalCode === null) {
    const gone = new Promise((resolve) => logger!.once('exit', resolve));
    logger.kill('SIGKILL');
    await gone;
  }
  await cleanup();
});

test('two nodes: status lists both and reaches balanced with every bucket backed up', async () => {
  for (let i = 0; i < 50; i++) {
    const r = await runCli(['set', `st:${i}`, String(i), '--type', 'int', '--cluster', first.addr]);
    assert.equal(r.code, 0, r.stderr);
  }
  const report = await waitFor('a balanced two-node cluster', async () => {
    const rep = await status(second.addr);
    return rep.verdict === 'balanced' ? rep : undefined;
  }, 60000, 500);
  assert.deepEqual(report.nodes.map((n) => n.addr).sort(), [first.addr, second.addr].sort());
  const buckets = report.mask + 1;
  let primaries = 0;
  for (const n of report.nodes) {
    assert.equal(n.state, 'alive');
    assert.ok(Math.abs(n.primary - buckets / 2) <= 1, `${n.addr} primary ${n.primary}`);
    assert.ok(Math.abs(n.backup - buckets / 2) <= 1, `${n.addr} backup ${n.backup}`);
    assert.equal(n.transfer, null);
    primaries += n.primary;
  }
  assert.equal(primaries, buckets);
  const items = report.nodes.reduce((sum, n) => sum + (n.items ?? 0), 0);
  assert.ok(items >= 50, `items ${items}: every key written is held (primary copies at least)`);
  const text = await runCli(['status', '--cluster', first.addr]);
  assert.equal(text.code, 0, text.stderr);
  assert.ok(text.stdout.includes(first.addr) && text.stdout.includes(second.addr));
  assert.match(text.stdout, /^verdict: balanced\b/m);
});

test('a logging node is listed apart from the data nodes', async () => {
  const dir = makeTempDir('oc-logs-');
  logger = spawn(process.execPath, [CLI_PATH, 'logger', '--node', first.addr, '--dir', dir, '--log-level', 'warn'], { stdio: 'ignore' });
  const report = await waitFor('the logger in the status', async () => {
    const rep = await status(first.addr);
    return rep.loggers.length > 0 ? rep : undefined;
  }, 20000, 300);
  assert.equal(report.loggers.length, 1);
  assert.equal(report.nodes.length, 2, 'the logger is not a data node');
  assert.ok(report.nodes.every((n) => n.addr !== report.loggers[0]!.addr));
  const text = await runCli(['status', '--cluster', first.addr]);
  assert.match(text.stdout, new RegExp(`^logging nodes: .*${report.loggers[0]!.addr.replace(/[.[\]]/g, '\\$&')}`, 'm'));
});

test('after one node is killed, status shows it dead, and balanced once the survivor holds every bucket', async () => {
  await killNode(second);
  await waitFor('the killed node shown dead', async () => {
    const rep = await status(first.addr);
    return rep.nodes.some((n) => n.addr === second.addr && n.state === 'dead') ? rep : undefined;
  }, 30000, 500);
  const settled = await waitFor('the survivor to hold every bucket', async () => {
    const rep = await status(first.addr);
    return rep.verdict === 'balanced' ? rep : undefined;
  }, 30000, 500);
  const live = settled.nodes.filter((n) => n.state !== 'dead');
  assert.equal(live.length, 1);
  assert.equal(live[0]!.addr, first.addr);
  assert.equal(live[0]!.primary, settled.mask + 1);
  assert.deepEqual(settled.nodes.filter((n) => n.state === 'dead').map((n) => [n.addr, n.primary, n.backup]), [[second.addr, 0, 0]], 'the dead node is still shown, holding nothing');
  for (let i = 0; i < 50; i += 7) {
    const r = await runCli(['get', `st:${i}`, '--cluster', first.addr]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${i}\n`);
  }
});
