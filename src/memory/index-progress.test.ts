import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type MemoryIndexProgress, throttleProgress } from './index-progress.js';

test('progress is passed on at most every interval within a phase; a new phase and a finished one always; a failing listener is ignored', () => {
  const seen: string[] = [];
  let clock = 0;
  const step = (phase: MemoryIndexProgress['phase'], done: number, total: number | null) => ({ agentId: 'main', phase, done, total });
  const report = throttleProgress((progress) => seen.push(`${progress.phase} ${progress.done}`), 100, () => clock);
  report(step('indexing', 1, 10));
  clock = 50;
  report(step('indexing', 2, 10));
  clock = 120;
  report(step('indexing', 3, 10));
  clock = 130;
  report(step('indexing', 10, 10));
  report(step('embedding', 0, 5));
  assert.deepEqual(seen, ['indexing 1', 'indexing 3', 'indexing 10', 'embedding 0']);
  const failing = throttleProgress(() => {
    throw new Error('connection closed');
  });
  assert.doesNotThrow(() => failing(step('done', 1, 1)));
});
