import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentHealth, createMemoryHealthCheck, type MemoryHealthInput } from './memory-health.js';

/** Resolves once `check` holds, checking every few milliseconds; fails with `what` after 5 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const local = { providerId: 'local', baseUrl: 'http://127.0.0.1:11434/v1', model: 'nomic' };
const input = (overrides: Partial<MemoryHealthInput> = {}): MemoryHealthInput => ({
  agentId: 'main',
  files: 2,
  chunks: 10,
  pending: 0,
  builtWith: local,
  embeddings: local,
  embeddingsError: null,
  embeddingFailures: 0,
  lastEmbeddingError: null,
  waitingSinceMs: 0,
  lastIndexLagMs: 400,
  searchSeconds: [0.001, 0.002, 0.003, 0.010],
  ...overrides,
});

test('memory health: freshness, embedding readiness, search p50/p99 and provider identity; ok when all is well', () => {
  const health = agentHealth(input());
  assert.deepEqual({ status: health.status, problems: health.problems, lag: health.indexLagMs, search: health.searchMs, mismatch: health.provider.mismatch }, { status: 'ok', problems: [], lag: 400, search: { p50: 3, p99: 10, count: 4 }, mismatch: false });
  assert.equal(agentHealth(input({ searchSeconds: [] })).searchMs, null);
  assert.equal(agentHealth(input({ embeddings: null, builtWith: null, pending: 10 })).pendingEmbeddings, 0, 'keyword search by design: nothing waits');
});

test('memory health is degraded by a waiting change, failing embeddings, a provider mismatch or a broken config; each named', () => {
  const stuck = agentHealth(input({ waitingSinceMs: 45_000 }));
  assert.equal(stuck.indexLagMs, 45_000, 'the oldest unindexed change sets the lag');
  assert.deepEqual(stuck.problems, ['a change on disk has waited 45 s to be indexed']);
  assert.equal(agentHealth(input({ waitingSinceMs: 1500 })).status, 'ok', 'a change being indexed now is not a problem');
  const failing = agentHealth(input({ pending: 3, lastEmbeddingError: 'HTTP 503', embeddingFailures: 2 }));
  assert.deepEqual(failing.problems, ['3 chunks without vectors (HTTP 503)']);
  assert.equal(agentHealth(input({ pending: 0, lastEmbeddingError: 'HTTP 503' })).lastEmbeddingError, null, 'an old error with nothing waiting is history');
  const moved = agentHealth(input({ embeddings: { ...local, model: 'bge' }, pending: 10 }));
  assert.equal(moved.provider.mismatch, true);
  assert.match(moved.problems[0] ?? '', /index was built with local\/nomic at .*, not the configured local\/bge/u);
  assert.deepEqual(agentHealth(input({ embeddings: null, builtWith: null, embeddingsError: "provider 'x' is not configured" })).problems, ["provider 'x' is not configured"]);
});

test('the periodic check runs on its interval, retries stuck work, records when it ran, logs turning degraded and healthy once each, and stops', async () => {
  let raw = [input()];
  let catchUps = 0;
  const logged: string[] = [];
  const check = createMemoryHealthCheck({
    health: () => raw,
    catchUp: () => void catchUps++,
    logger: { warn: (_object, message) => void logged.push(`warn ${message}`), info: (_object, message) => void logged.push(`info ${message}`) },
    intervalMs: 1000,
    now: () => 5000,
  });
  assert.equal(check.report().checkedAt, null);
  const started = performance.now();
  check.start();
  await until(() => catchUps > 0, 'the timer\'s first check');
  const elapsed = performance.now() - started;
  // Timers never fire early (a busy machine only makes them later): the first check comes after one interval.
  assert.ok(elapsed >= 990, `the first check came after one interval (${Math.round(elapsed)} ms)`);
  assert.equal(catchUps, 1, 'the timer ran one check');
  assert.equal(check.report().checkedAt, 5000);
  raw = [input({ waitingSinceMs: 60_000 })];
  check.check();
  check.check();
  raw = [input()];
  check.check();
  assert.deepEqual(logged, ['warn memory of main is degraded: a change on disk has waited 60 s to be indexed', 'info memory of main is healthy again']);
  check.stop();
  const before = catchUps;
  // Nothing to wait for when nothing should happen: give a stray timer a little more than one interval.
  await new Promise((resolve) => setTimeout(resolve, 1150));
  assert.equal(catchUps, before, 'no check after stop');
});
