// The small pieces of TLS support: the rate gate of provoked log lines, the recognition of a TLS
// record's first bytes, and the client's validation of its tls option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateGate } from '../../src/shared/rate-gate.js';
import { looksLikeTls } from '../../src/net/tls-material.js';
import { resolveOptions } from '../../src/client/options.js';
import { ClusterError } from '../../src/index.js';

test('RateGate passes at most N per window and reports how many it held back', () => {
  const g = new RateGate(2, 1000);
  assert.equal(g.pass(0), 0);
  assert.equal(g.pass(10), 0);
  assert.equal(g.pass(20), null);
  assert.equal(g.pass(30), null);
  assert.equal(g.pass(1000), 2, 'the next pass carries the count suppressed');
  assert.equal(g.pass(1001), 0);
  assert.equal(g.pass(1002), null);
});

test('looksLikeTls: a ClientHello or an alert record, never a frame of ours', () => {
  assert.equal(looksLikeTls(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])), true);
  assert.equal(looksLikeTls(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02])), true);
  assert.equal(looksLikeTls(Buffer.from([0x00, 0x1e, 0x00, 0x00])), false, 'ping (30)');
  assert.equal(looksLikeTls(Buffer.from([0x16])), false, 'one byte says nothing');
});

test('client tls option: validated, cert and key together', () => {
  assert.equal(resolveOptions({ seeds: ['127.0.0.1:1'] }).tls, undefined);
  assert.deepEqual(resolveOptions({ seeds: ['127.0.0.1:1'], tls: { ca: 'PEM' } }).tls, { ca: 'PEM' });
  const bad = (tls: unknown): void => {
    assert.throws(() => resolveOptions({ seeds: ['127.0.0.1:1'], tls } as never), (e: unknown) => e instanceof ClusterError && e.code === 'BAD_REQUEST');
  };
  bad({ cert: 'c' });
  bad({ key: 'k' });
  bad({ ca: 42 });
  bad({ servername: '' });
  bad('yes');
});
