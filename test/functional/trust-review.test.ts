// Attacks found in the review of the trust boundary (issue 9), each against real node processes over
// real sockets: an attacker who does not know the cluster secret must not get a node link, make a
// node drop data, or hold resources past the documented bounds.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { missingKeys, writeKeys } from '../helpers/keys.js';
import { cleanup, killNode, startNode, type NodeProcess } from '../helpers/nodes.js';
import { waitForGoalState } from '../helpers/cluster.js';
import { frame, HEADER, int, long, RawClient, str } from '../helpers/raw.js';
import { randomBytes } from 'node:crypto';

const TEST_TIMEOUT_MS = 90_000;
const PROBE = 54;
const REPLY_LONG = 7;
const YOU_REJOIN = 2n;

after(cleanup);

/**
 * The attacker: it sits on an address a node dials (here the address of a member that died) and
 * relays the node's own node handshake to `relayTo` (a node that answers node_auth from anyone),
 * so the node checks a proof that node made; it answers every probe itself with youRejoin.
 */
function reflector(host: string, port: number, relayTo: string, events: { connections: number; probesAnswered: number }): Promise<{ close(): Promise<void> }> {
  const [toHost, toPort] = [relayTo.slice(0, relayTo.lastIndexOf(':')), Number(relayTo.slice(relayTo.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    events.connections++;
    const outbound = connect({ host: toHost, port: toPort });
    sockets.add(inbound).add(outbound);
    for (const s of [inbound, outbound]) {
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    outbound.on('data', (chunk: Buffer) => inbound.write(chunk));
    let pending = Buffer.alloc(0);
    inbound.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= HEADER && pending.length >= HEADER + pending.readUInt32BE(8)) {
        const total = HEADER + pending.readUInt32BE(8);
        const f = pending.subarray(0, total);
        pending = pending.subarray(total);
        if (f.readUInt16BE(0) === PROBE && f.readUInt16BE(2) === 0) {
          events.probesAnswered++;
          inbound.write(frame(REPLY_LONG, PROBE, f.readUInt32BE(4), long(YOU_REJOIN)));
        } else {
          outbound.write(f);
        }
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () =>
      resolve({
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise<void>((done) => server.close(() => done()));
        },
      }),
    );
  });
}

test('a node dialling an attacker cannot be fed its own handshake proof: the probe of a dead member finds an impostor, the node keeps its data', { timeout: TEST_TIMEOUT_MS }, async () => {
  const args = ['--dead-after-ms', '1500', '--heartbeat-ms', '100'];
  const first = await startNode({ args });
  const second = await startNode({ args, nodes: [first.addr] });
  const addrs = [first.addr, second.addr];
  await waitForGoalState(addrs);
  await writeKeys(addrs, 'refl', 300);
  // The lower address probes a member it declared dead (healing.ts); the other one dies.
  const [low, high]: NodeProcess[] = first.addr < second.addr ? [first, second] : [second, first];
  await killNode(high);
  await low.waitForLog((l) => l['msg'] === 'member declared dead' && l['peer'] === high.addr, 20_000);

  // Someone else now listens on the dead member's address (a local user on a shared host can). It
  // relays the node's handshake first back to the node itself, then to a node of another cluster
  // with the same secret (any node answers node_auth from anyone with its proof).
  const port = Number(high.addr.slice(high.addr.lastIndexOf(':') + 1));
  const other = await startNode({ args });
  for (const relayTo of [low.addr, other.addr]) {
    const events = { connections: 0, probesAnswered: 0 };
    const from = low.logs.length;
    const impostor = await reflector('127.0.0.1', port, relayTo, events);
    try {
      // The next probe reaches the impostor: either the node sees through the handshake, or (the bug)
      // it takes the impostor's youRejoin and drops every key it holds.
      const outcome = await low.waitForLog((l) => low.logs.indexOf(l) >= from && (l['msg'] === 'probe failed: the node handshake failed' || String(l['msg']).startsWith('rejoining the cluster')), 20_000);
      assert.ok(events.connections >= 1, 'the probe dialled the impostor');
      assert.equal(outcome['msg'], 'probe failed: the node handshake failed', `relayed to ${relayTo}: the node refused the impostor's handshake (got: ${String(outcome['msg'])}, ${String(outcome['why'])})`);
      assert.equal(events.probesAnswered, 0, 'no probe was sent to the impostor');
      assert.match(String(outcome['err']), relayTo === low.addr ? /itself/ : /proved to be/, 'the error names the identity mismatch');
    } finally {
      await impostor.close();
    }
  }
  assert.equal(low.logs.filter((l) => String(l['msg']).startsWith('rejoining')).length, 0, 'the node did not rejoin');
  assert.equal(await missingKeys([low.addr], 'refl', 300), 0, 'every key is still there');
});

/** Log lines of each refusal kind per second at most (admission.ts NOTICES_PER_SECOND_MAX), as docs/architecture.md promises. */
const NOTICES_PER_SECOND_MAX = 5;
const ATTEMPTS_PER_KIND = 120;
const ATTEMPTS_AT_ONCE = 10;

/** Runs `attempt` ATTEMPTS_PER_KIND times, ATTEMPTS_AT_ONCE at a time; every connection ends closed by the node. */
async function burst(addr: string, attempt: (c: RawClient) => void): Promise<void> {
  for (let done = 0; done < ATTEMPTS_PER_KIND; done += ATTEMPTS_AT_ONCE) {
    await Promise.all(
      Array.from({ length: ATTEMPTS_AT_ONCE }, async () => {
        const c = await RawClient.connect(addr);
        attempt(c);
        assert.ok(await c.waitClosed(10_000), 'the node closed the connection');
      }),
    );
  }
}

test('refusals an outsider provokes per connection are logged at a bounded rate, not once per connection', { timeout: TEST_TIMEOUT_MS }, async () => {
  const node = await startNode();
  const kinds: { msg: string; attempt: (c: RawClient) => void }[] = [
    // Three node commands without the secret.
    { msg: 'connection closed: it kept sending node commands without proving the cluster secret', attempt: (c) => { for (let i = 1; i <= 3; i++) c.sendFrame(52, 0, i); } },
    // A node handshake with a wrong proof.
    {
      msg: 'node authentication failed: the peer does not know the cluster secret',
      attempt: (c) => {
        c.sendFrame(56, 0, 1, Buffer.concat([str('127.0.0.1:1'), long(1n), int(0), str(randomBytes(32))]));
        c.sendFrame(57, 0, 2, str(randomBytes(32)));
      },
    },
    // A frame header announcing more than the node's frame limit.
    { msg: 'client connection closed on error', attempt: (c) => c.send(Buffer.concat([frame(2200, 0, 1).subarray(0, 8), int(0x7fffffff)])) },
  ];
  for (const k of kinds) {
    const from = node.logs.length;
    const startMs = Date.now();
    await burst(node.addr, k.attempt);
    // The node logs the last refusal before it closes the connection, or as it does.
    const elapsedSec = Math.ceil((Date.now() - startMs) / 1000);
    const lines = node.logs.slice(from).filter((l) => l['msg'] === k.msg).length;
    assert.ok(lines >= 1, `"${k.msg}" was logged at all`);
    const bound = NOTICES_PER_SECOND_MAX * (elapsedSec + 1);
    assert.ok(lines <= bound, `"${k.msg}": ${lines} lines for ${ATTEMPTS_PER_KIND} connections in ${elapsedSec} s (at most ${bound})`);
  }
  const stats = await RawClient.connect(node.addr);
  const doc = JSON.parse((await stats.request(32)).payload.subarray(4).toString('utf8')) as { ops: Record<string, number> };
  stats.destroy();
  // What is not logged is counted.
  assert.equal(doc.ops['nodeCommandsRefused'], 3 * ATTEMPTS_PER_KIND, 'every refused node command is counted');
  assert.equal(doc.ops['nodeAuthFailed'], ATTEMPTS_PER_KIND, 'every failed node handshake is counted');
  assert.equal(doc.ops['protocolErrors'], ATTEMPTS_PER_KIND, 'every oversized frame is counted');
});
