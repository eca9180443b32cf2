// Small fixes of issue 14: the log line of a client connection closed on error names the client's
// address; `opencluster logger` takes --cluster like every other command (--node stays an alias).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI_PATH, cleanup, makeTempDir, runCli, startNode } from '../helpers/nodes.js';
import { RawClient } from '../helpers/raw.js';

const TEST_TIMEOUT_MS = 30_000;
const procs = new Set<ReturnType<typeof spawn>>();

after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await cleanup();
});

test('a client connection closed on error is logged with the client\'s address', { timeout: TEST_TIMEOUT_MS }, async () => {
  const node = await startNode({ args: ['--max-frame-bytes', '4096'] });
  const c = await RawClient.connect(node.addr);
  const local = `${c.socket.localAddress}:${c.socket.localPort}`;
  assert.equal((await c.request(30)).command, 1, 'ping acked');
  // A header announcing a payload past --max-frame-bytes: the node closes the connection on error.
  const header = Buffer.alloc(12);
  header.writeUInt16BE(30, 0);
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(1_000_000, 8);
  c.send(header);
  assert.equal(await c.waitClosed(10_000), true, 'the node closed the connection');
  const line = await node.waitForLog((l) => l['msg'] === 'client connection closed on error', 10_000);
  assert.equal(line['client'], local, 'the line names the client\'s address');
  assert.match(String(line['why']), /exceeds the limit of 4096/);
  c.destroy();
});

test('logger --cluster HOST:PORT streams from the cluster; --node is still accepted; neither is a usage error', { timeout: TEST_TIMEOUT_MS }, async () => {
  const node = await startNode();
  for (const flag of ['--cluster', '--node']) {
    const dir = makeTempDir('oc-logger-');
    const proc = spawn(process.execPath, [CLI_PATH, 'logger', flag, node.addr, '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.add(proc);
    const subscribed = new Promise<boolean>((resolve) => {
      createInterface({ input: proc.stdout! }).on('line', (text) => {
        if (text.includes('subscribed to node updates') && text.includes(node.addr)) resolve(true);
      });
      proc.on('exit', () => resolve(false));
    });
    assert.equal(await subscribed, true, `logger ${flag} ${node.addr} subscribed to the node`);
    proc.kill('SIGINT');
    await new Promise((resolve) => proc.once('exit', resolve));
    procs.delete(proc);
  }
  const missing = await runCli(['logger', '--dir', makeTempDir('oc-logger-')]);
  assert.equal(missing.code, 2, 'no node given: a usage error');
  assert.match(missing.stderr, /--cluster HOST:PORT is required/);
});
