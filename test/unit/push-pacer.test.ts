// Unit tests of the push pacing for hello clients: one push outstanding, acks by command and id,
// merging of waiting pushes (hashmask per bucket, server_info per address), the queue bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PushPacer, SERVER_INFO_QUEUED_MAX, type GiveUpWhy } from '../../src/server/push-pacer.js';
import type { Frame } from '../../src/protocol/header.js';
import { Writer } from '../../src/protocol/codec.js';
import { VirtualClock } from '../../src/sim/clock.js';

const SERVER_INFO = 100;
const HASHMASK = 120;

function pacer(): { p: PushPacer; written: { command: number; id: number }[]; gaveUp: GiveUpWhy[] } {
  const written: { command: number; id: number }[] = [];
  const gaveUp: GiveUpWhy[] = [];
  let nextId = 1;
  // A virtual clock that is never advanced: the ack timeout plays no part here.
  const p = new PushPacer(60_000, new VirtualClock(), {
    write: (command, encode) => {
      encode(new Writer());
      written.push({ command, id: nextId });
      return nextId++;
    },
    giveUp: (why) => gaveUp.push(why),
  });
  return { p, written, gaveUp };
}

const enc = (t: string, set: (t: string) => void) => (): void => set(t);

function ack(command: number, id: number): Frame {
  return { command: 1, replyTo: command, requestId: id, payload: Buffer.alloc(0) } as Frame;
}

test('one push at a time; only the ack with its command and id lets the next go', () => {
  const { p, written } = pacer();
  let last = '';
  const set = (t: string): void => void (last = t);
  p.serverInfo(SERVER_INFO, 'a:1', enc('si a', set));
  p.hashmask(HASHMASK, 0xff, 1, enc('hm 1', set));
  p.hashmask(HASHMASK, 0xff, 2, enc('hm 2', set));
  assert.equal(written.length, 1);
  assert.equal(last, 'si a');
  assert.equal(p.onReply(ack(HASHMASK, 1)), false, 'another command: not the ack');
  assert.equal(p.onReply(ack(SERVER_INFO, 99)), false, 'another id: not the ack');
  assert.equal(written.length, 1);
  assert.equal(p.onReply(ack(SERVER_INFO, 1)), true);
  assert.equal(last, 'hm 1');
  assert.equal(p.onReply(ack(HASHMASK, 2)), true);
  assert.equal(last, 'hm 2');
  assert.equal(p.onReply(ack(HASHMASK, 3)), true);
  assert.equal(written.length, 3);
  assert.equal(p.waiting, 0);
  p.stop();
});

test('waiting pushes merge: a newer hashmask of a bucket replaces the older and goes last; an address waits once', () => {
  const { p, written } = pacer();
  const seen: string[] = [];
  const set = (t: string): void => void seen.push(t);
  p.hashmask(HASHMASK, 0xff, 0, enc('hm 0 level 0', set)); // written at once
  p.hashmask(HASHMASK, 0xff, 5, enc('hm 5 level 0', set));
  p.serverInfo(SERVER_INFO, 'b:2', enc('si b', set));
  p.serverInfo(SERVER_INFO, 'b:2', enc('si b again', set));
  p.hashmask(HASHMASK, 0xff, 5, enc('hm 5 level -1', set));
  p.hashmask(HASHMASK, 0xfff, 5, enc('hm 5 of 0xfff', set)); // another bucket (wider mask)
  assert.equal(p.waiting, 4);
  for (let i = 0; i < 10 && p.waiting > 0; i++) p.onReply(ack(written.at(-1)!.command, written.at(-1)!.id));
  assert.deepEqual(seen, ['hm 0 level 0', 'si b', 'hm 5 level -1', 'hm 5 of 0xfff']);
  p.stop();
});

test('more waiting than twice the widest table plus the server_info room: the client is given up, once', () => {
  const { p, gaveUp } = pacer();
  const none = (): void => undefined;
  // Mask 0xff: room for 2 x 256 hashmasks + 256 server_info = 768 waiting (one more is written).
  for (let a = 0; a <= 768; a++) p.serverInfo(SERVER_INFO, `h:${a}`, none);
  assert.equal(p.waiting, 769);
  assert.deepEqual(gaveUp, []);
  p.serverInfo(SERVER_INFO, 'one:more', none);
  assert.deepEqual(gaveUp, ['queueFull']);
  p.hashmask(HASHMASK, 0xff, 7, none);
  assert.deepEqual(gaveUp, ['queueFull'], 'given up once; nothing is queued after');
  assert.equal(p.waiting, 0);
});

test('a widening to 4,096 buckets makes room for its hashmasks; repeated news of a bucket does not grow the queue', () => {
  const { p, gaveUp } = pacer();
  const none = (): void => undefined;
  for (let round = 0; round < 3; round++) for (let b = 0; b < 4096; b++) p.hashmask(HASHMASK, 0xfff, b, none);
  assert.equal(p.waiting, 4097, 'bucket 0 written (unacknowledged) and news of every bucket waiting once');
  assert.equal(SERVER_INFO_QUEUED_MAX, 256);
  assert.deepEqual(gaveUp, []);
  p.stop();
});
