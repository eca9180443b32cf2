// Unit tests of what inject sends for a stored item: remaining expiry in whole seconds rounded up,
// expired items skipped, byte strings turned into the client's text, and what cannot be sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toInjectCall } from '../../src/cli/logger-commands.js';
import type { Item } from '../../src/protocol/messages/node.js';

const NOW = 1_800_000_000_000;
const latin1 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

function item(over: Partial<Item>): Item {
  return { map: '', key: 'k', expiresAtMs: 0, value: { t: 1, v: 1 }, ...over };
}

test('remaining expiry: whole seconds rounded up; 0 stays never; expired (or expiring now) is skipped', () => {
  const exp = (ms: number): unknown => {
    const c = toInjectCall(item({ expiresAtMs: ms }), NOW);
    return c.kind === 'set' ? c.expiresSec : c.kind;
  };
  assert.equal(exp(0), 0);
  assert.equal(exp(NOW + 1), 1);
  assert.equal(exp(NOW + 1000), 1);
  assert.equal(exp(NOW + 1001), 2);
  assert.equal(exp(NOW + 3_600_000), 3600);
  assert.equal(exp(NOW), 'expired');
  assert.equal(exp(NOW - 1), 'expired');
  assert.equal(exp(NOW + 2 ** 45), 2 ** 31 - 1, 'capped at the largest expiry the protocol carries');
});

test('values keep their type; keys, map names and strings come back as the UTF-8 text the client sent', () => {
  const call = toInjectCall(item({ map: latin1('carte-é'), key: latin1('clé-🔑'), value: { t: 3, v: Buffer.from('valeur é', 'utf8') } }), NOW);
  assert.deepEqual(call, { kind: 'set', map: 'carte-é', key: 'clé-🔑', value: 'valeur é', expiresSec: 0 });
  const big = toInjectCall(item({ value: { t: 2, v: -(2n ** 62n) } }), NOW);
  assert.equal(big.kind === 'set' && big.value, -(2n ** 62n));
  const int = toInjectCall(item({ value: { t: 1, v: -7 } }), NOW);
  assert.equal(int.kind === 'set' && int.value, -7);
  const bin = toInjectCall(item({ value: { t: 4, v: Buffer.from([0xff, 0, 0xc3]) } }), NOW);
  assert.ok(bin.kind === 'set' && Buffer.isBuffer(bin.value) && bin.value.equals(Buffer.from([0xff, 0, 0xc3])));
});

test('bytes that are not UTF-8 (a legacy client key, a string value) cannot go through the client: reported, not mangled', () => {
  assert.equal(toInjectCall(item({ key: '\u00ff\u00fe' }), NOW).kind, 'invalid');
  assert.equal(toInjectCall(item({ map: '\u00c3' }), NOW).kind, 'invalid');
  assert.equal(toInjectCall(item({ value: { t: 3, v: Buffer.from([0xc3]) } }), NOW).kind, 'invalid');
});
