import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatMessage } from '../contracts/messages.js';
import { joinPacked, packMessages, unpackMessages } from '../contracts/packed-messages.js';
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
  assert.deepEqual(cache.stats(), { sessions: 0, bytes: 0, maxBytes: 100_000, offHeapBytes: 0 });
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
  assert.deepEqual(cache.stats(), { sessions: 0, bytes: 0, maxBytes: 1_000_000, offHeapBytes: 0 });
});

test('long histories are kept outside the V8 heap and read back exactly; replacing, dropping and clearing free their bytes', () => {
  const cache = createHistoryCache({ maxBytes: 1_000_000, minIdleMs: 0 });
  const long = joinPacked([exchange('ascii '.repeat(2000)), exchange('ünïcödé ✓ '.repeat(500))]);
  const entry = { from: 0, segments: [long], budget: 100 };
  const kept = cache.set('s', entry);
  assert.ok(kept && kept !== entry, 'the long segment moved off the heap');
  assert.ok(cache.stats().offHeapBytes >= long.json.length);
  assert.equal(cache.get('s'), kept, 'get returns the entry as kept');
  assert.equal(joinPacked(kept.segments).json, long.json);
  assert.deepEqual(unpackMessages(kept.segments[0]!), unpackMessages(long));

  // The next turn carries the kept segment over and adds its exchange: nothing is copied or freed.
  const before = cache.stats().offHeapBytes;
  const next = cache.set('s', { from: 0, segments: [...kept.segments, exchange('next')], budget: 100 });
  assert.equal(next?.segments[0], kept.segments[0]);
  assert.equal(cache.stats().offHeapBytes, before);
  assert.equal(joinPacked(next!.segments).json, joinPacked([long, exchange('next')]).json);

  cache.delete('s');
  assert.equal(cache.stats().offHeapBytes, 0);
  cache.set('t', { from: 0, segments: [long], budget: 100 });
  cache.clear();
  assert.equal(cache.stats().offHeapBytes, 0);
});

test('with more long histories passing through than the cache holds, every kept one still reads back exactly', () => {
  const one = estimateHistoryBytes([exchange('y'.repeat(9000))]);
  const cache = createHistoryCache({ maxBytes: one * 8, minIdleMs: 0 });
  for (let session = 0; session < 200; session++) {
    const text = `${session} `.repeat(3000).slice(0, 9000);
    cache.set(`s${session % 20}`, { from: 0, segments: [exchange(text)], budget: 100 });
    for (let back = 0; back < 8 && back <= session; back++) {
      const kept = cache.get(`s${(session - back) % 20}`);
      if (kept) assert.equal(unpackMessages(kept.segments[0]!)[0]!.content, `${session - back} `.repeat(3000).slice(0, 9000));
    }
  }
  assert.ok(cache.stats().offHeapBytes <= one * 8);
});
