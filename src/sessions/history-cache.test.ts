import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatMessage } from '../contracts/messages.js';
import { packMessages } from '../contracts/packed-messages.js';
import { createHistoryCache, estimateHistoryBytes } from './history-cache.js';

const exchange = (text: string) =>
  packMessages([
    { role: 'user', content: text },
    { role: 'assistant', content: `echo: ${text}` },
  ] satisfies ChatMessage[]);

test('the history cache stays within its bytes however many sessions pass through, dropping the least recently used', () => {
  const one = estimateHistoryBytes([exchange('x'.repeat(1000))]);
  const cache = createHistoryCache({ maxBytes: one * 10, minIdleMs: 0 });
  for (let session = 0; session < 1000; session++) {
    cache.set(`s${session}`, { from: 0, segments: [exchange('x'.repeat(1000))], budget: 100 });
    assert.ok(cache.stats().bytes <= one * 10);
  }
  assert.equal(cache.stats().sessions, 10);
  assert.ok(cache.get('s999'));
  assert.equal(cache.get('s989'), undefined);
  // Using a session keeps it: s990 is touched, so the next new session pushes out s991.
  assert.ok(cache.get('s990'));
  cache.set('new', { from: 0, segments: [exchange('x'.repeat(1000))], budget: 100 });
  assert.ok(cache.get('s990'));
  assert.equal(cache.get('s991'), undefined);
});

test('a history larger than a quarter of the cache is not kept, and replacing an entry frees its bytes', () => {
  const cache = createHistoryCache({ maxBytes: 100_000 });
  cache.set('big', { from: 0, segments: [exchange('x'.repeat(20_000))], budget: 100 });
  assert.equal(cache.get('big'), undefined);
  const entry = { from: 0, segments: [exchange('small')], budget: 100 };
  cache.set('s', entry);
  assert.equal(cache.get('s'), entry);
  cache.set('s', { from: 0, segments: [exchange('other')], budget: 100 });
  assert.equal(cache.stats().bytes, estimateHistoryBytes([exchange('other')]));
  cache.delete('s');
  assert.deepEqual(cache.stats(), { sessions: 0, bytes: 0, maxBytes: 100_000 });
});

test('when full, sessions in use keep their place; a newcomer replaces only sessions idle for a while', () => {
  let clock = 0;
  const one = estimateHistoryBytes([exchange('x'.repeat(1000))]);
  const cache = createHistoryCache({ maxBytes: one * 10, minIdleMs: 5000, now: () => clock });
  // 100 sessions in rotation, 10 fit: the first ten stay and keep being found.
  for (let round = 0; round < 3; round++) {
    for (let session = 0; session < 100; session++) {
      clock += 10;
      if (!cache.get(`s${session}`)) cache.set(`s${session}`, { from: 0, segments: [exchange('x'.repeat(1000))], budget: 100 });
    }
  }
  assert.equal(cache.stats().sessions, 10);
  for (let session = 0; session < 10; session++) assert.ok(cache.get(`s${session}`), `s${session} kept`);
  assert.equal(cache.get('s50'), undefined);
  // Once they go quiet, new sessions take their place.
  clock += 5000;
  cache.set('later', { from: 0, segments: [exchange('x'.repeat(1000))], budget: 100 });
  assert.ok(cache.get('later'));
  assert.ok(cache.stats().bytes <= one * 10);
});

test('sessions that went quiet leave the cache at the next sweep; active ones stay', () => {
  let clock = 0;
  const cache = createHistoryCache({ maxBytes: 1_000_000, idleMs: 20_000, now: () => clock });
  cache.set('quiet', { from: 0, segments: [exchange('a')], budget: 100 });
  cache.set('busy', { from: 0, segments: [exchange('b')], budget: 100 });
  clock += 15_000;
  assert.ok(cache.get('busy'));
  clock += 10_000;
  cache.sweep();
  assert.equal(cache.get('quiet'), undefined);
  assert.ok(cache.get('busy'), 'used 10 s ago');
  clock += 20_000;
  cache.sweep();
  assert.deepEqual(cache.stats(), { sessions: 0, bytes: 0, maxBytes: 1_000_000 });
});
