import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRateLimiter } from './rate-limiter.js';

test('a flood from one client is limited while others pass, and idle buckets are pruned', () => {
  let clock = 0;
  const limiter = createRateLimiter({ perSecond: 10, burst: 5, now: () => clock });
  for (let i = 0; i < 5; i++) assert.equal(limiter.take('flooder'), 0);
  const wait = limiter.take('flooder');
  assert.ok(wait > 0 && wait <= 100, `wait ${wait}`);
  assert.equal(limiter.take('someone-else'), 0);
  clock += 100;
  assert.equal(limiter.take('flooder'), 0);
  clock += 10_000;
  assert.equal(limiter.prune(), 2);
  assert.equal(limiter.size(), 0);
});

test('the number of buckets is capped', () => {
  const limiter = createRateLimiter({ perSecond: 1, burst: 1, maxKeys: 100 });
  for (let i = 0; i < 1000; i++) limiter.take(`ip-${i}`);
  assert.equal(limiter.size(), 100);
});

test('peek says how long a key must wait without taking a token', () => {
  let clock = 0;
  const limiter = createRateLimiter({ perSecond: 1, burst: 2, now: () => clock });
  assert.equal(limiter.peek('guesser'), 0);
  limiter.take('guesser');
  limiter.take('guesser');
  assert.equal(limiter.peek('guesser'), 1000);
  assert.equal(limiter.peek('guesser'), 1000, 'peeking took a token');
  clock += 1000;
  assert.equal(limiter.peek('guesser'), 0);
});
