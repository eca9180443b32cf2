// Unit tests of address parsing: parseAddress, formatAddress and normalizeAddress, good and bad inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AddressError, formatAddress, normalizeAddress, parseAddress } from '../../src/shared/address.js';

test('parseAddress: good inputs', () => {
  assert.deepEqual(parseAddress('127.0.0.1:13600'), { host: '127.0.0.1', port: 13600 });
  assert.deepEqual(parseAddress('localhost:1'), { host: 'localhost', port: 1 });
  assert.deepEqual(parseAddress('node-a.example:65535'), { host: 'node-a.example', port: 65535 });
  assert.deepEqual(parseAddress('  10.0.0.2:80  '), { host: '10.0.0.2', port: 80 });
  assert.deepEqual(parseAddress('[::1]:13600'), { host: '::1', port: 13600 });
  assert.deepEqual(parseAddress('[fe80::1%eth0]:9'), { host: 'fe80::1%eth0', port: 9 });
  assert.deepEqual(parseAddress('localhost', 13600), { host: 'localhost', port: 13600 });
  assert.deepEqual(parseAddress('localhost:', 13600), { host: 'localhost', port: 13600 });
  assert.deepEqual(parseAddress('[::1]', 13600), { host: '::1', port: 13600 });
  assert.deepEqual(parseAddress('127.0.0.1:0080'), { host: '127.0.0.1', port: 80 });
  assert.deepEqual(parseAddress('h:5', 7), { host: 'h', port: 5 }, 'an explicit port wins over the default');
  assert.deepEqual(parseAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 }, 'port 0 (any free port) for listening');
  assert.deepEqual(parseAddress('h', 0), { host: 'h', port: 0 });
});

test('parseAddress: bad inputs throw AddressError', () => {
  const bad: Array<[string, number | undefined]> = [
    ['', undefined],
    ['', 13600],
    ['   ', 13600],
    [':13600', undefined],
    [':13600', 13600],
    ['localhost', undefined],
    ['localhost:', undefined],
    ['[::1]', undefined],
    ['[]:80', undefined],
    ['host:65536', undefined],
    ['host:99999999999', undefined],
    ['host:-1', undefined],
    ['host:+80', undefined],
    ['host:1.5', undefined],
    ['host:8o', undefined],
    ['host:0x50', undefined],
    ['host: 80', undefined],
    ['[::1]:x', 13600],
    ['[::1', undefined],
    ['[::1]]:80', undefined],
    ['::1', 13600],
    ['::1:80', undefined],
    ['a]:80', undefined],
  ];
  for (const [text, dflt] of bad) {
    assert.throws(() => parseAddress(text, dflt), AddressError, `"${text}" (default ${String(dflt)}) must be rejected`);
  }
  assert.throws(() => parseAddress('host', 70000), AddressError, 'a default port out of range');
});

test('formatAddress brackets IPv6 hosts', () => {
  assert.equal(formatAddress({ host: '127.0.0.1', port: 5 }), '127.0.0.1:5');
  assert.equal(formatAddress({ host: '::1', port: 5 }), '[::1]:5');
});

test('normalizeAddress: canonical text, or AddressError', () => {
  assert.equal(normalizeAddress(' 127.0.0.1:013600 '), '127.0.0.1:13600');
  assert.equal(normalizeAddress('localhost', 13600), 'localhost:13600');
  assert.equal(normalizeAddress('[::1]:80'), '[::1]:80');
  assert.equal(normalizeAddress('[::1]', 80), '[::1]:80');
  assert.throws(() => normalizeAddress('nohost'), AddressError);
  assert.equal(normalizeAddress('127.0.0.1:0'), '127.0.0.1:0', 'port 0: listen on any free port');
});

const hostName = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/);
const ipv6 = fc.ipV6();
const port = fc.integer({ min: 1, max: 65535 });

test('property: parse(format(a)) = a and normalize is idempotent (names, IPv4, IPv6)', () => {
  fc.assert(
    fc.property(fc.oneof(hostName, fc.ipV4(), ipv6), port, (host, p) => {
      const text = formatAddress({ host, port: p });
      assert.deepEqual(parseAddress(text), { host, port: p });
      assert.equal(normalizeAddress(text), text);
      assert.equal(normalizeAddress(normalizeAddress(`  ${text} `)), text);
    }),
  );
});

test('property: any port above 65535 is refused', () => {
  fc.assert(
    fc.property(hostName, fc.integer({ min: 65536, max: 2 ** 40 }), (host, p) => {
      assert.throws(() => parseAddress(`${host}:${p}`), AddressError);
    }),
  );
});

test('property: any text either parses to a host and a valid port, or throws AddressError', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 30 }), fc.option(port, { nil: undefined }), (text, dflt) => {
      try {
        const a = parseAddress(text, dflt);
        assert.ok(a.host.length > 0);
        assert.ok(Number.isInteger(a.port) && a.port >= 0 && a.port <= 65535);
      } catch (e) {
        assert.ok(e instanceof AddressError, `unexpected ${String(e)}`);
      }
    }),
  );
});
