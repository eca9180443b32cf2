// The argument parsing of issue 11 B: --cluster PORT and seed lists, a value from stdin or a file,
// and gamut's named --mix weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseClusterAddress, parseClusterSeeds, readValueSource, UsageError } from '../../src/cli/args.js';
import { parseMix } from '../../src/cli/gamut.js';

test('--cluster: a bare port is 127.0.0.1:PORT; a list gives each seed once, in order', () => {
  assert.equal(parseClusterAddress('13601'), '127.0.0.1:13601');
  assert.equal(parseClusterAddress('10.0.0.5'), '10.0.0.5:13600');
  assert.deepEqual(parseClusterSeeds('13601, 10.0.0.5:7000,13601'), ['127.0.0.1:13601', '10.0.0.5:7000']);
  assert.throws(() => parseClusterSeeds('13601,'), UsageError);
  assert.throws(() => parseClusterAddress('0'), UsageError);
  assert.throws(() => parseClusterAddress('99999'), UsageError);
});

test('a value from VALUE, stdin (-) or --file, typed as --type says', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oc-args-'));
  try {
    const file = join(dir, 'v');
    writeFileSync(file, Buffer.from([0xff, 0x00, 0x0a]));
    assert.deepEqual(readValueSource('binary', undefined, file), Buffer.from([0xff, 0x00, 0x0a]));
    assert.equal(readValueSource('string', '-', undefined, () => Buffer.from('héllo\n')), 'héllo\n');
    assert.equal(readValueSource('int', '-', undefined, () => Buffer.from(' 42\n')), 42);
    assert.equal(readValueSource('long', '7', undefined), 7n);
    assert.throws(() => readValueSource('string', 'x', file), /not two of them/);
    assert.throws(() => readValueSource('string', undefined, undefined), /missing VALUE/);
    assert.throws(() => readValueSource('string', undefined, join(dir, 'none')), /cannot read the value from --file/);
    assert.throws(() => readValueSource('int', '-', undefined, () => Buffer.from('many')), UsageError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--mix: positional GET:SET[:INCR] or named weights with incr and mget', () => {
  assert.deepEqual(parseMix('90:10'), { getWeight: 90, setWeight: 10, incrWeight: 0, mgetWeight: 0 });
  assert.deepEqual(parseMix('1:1:2'), { getWeight: 1, setWeight: 1, incrWeight: 2, mgetWeight: 0 });
  assert.deepEqual(parseMix('get=1,mget=3'), { getWeight: 1, setWeight: 0, incrWeight: 0, mgetWeight: 3 });
  assert.deepEqual(parseMix('set=2, get=1, mget=1'), { getWeight: 1, setWeight: 2, incrWeight: 0, mgetWeight: 1 });
  assert.deepEqual(parseMix('incr=1,mget=1'), { getWeight: 0, setWeight: 0, incrWeight: 1, mgetWeight: 1 });
  for (const bad of ['0:0', '0:0:0', 'mget=0', 'incr=1x', 'get=1,frob=1', '1:2:3x', '1:2:3:4', 'get=1,get=2', 'get=1,', '1:1,mget=1']) {
    assert.throws(() => parseMix(bad), UsageError, bad);
  }
});
