import assert from 'node:assert/strict';
import { test } from 'node:test';
import { embeddingMismatches } from './memory-command.js';

const identity = (model: string, providerId = 'local', baseUrl = 'http://127.0.0.1:11434/v1') => ({ providerId, baseUrl, model });
const status = (overrides: object) => ({
  agentId: 'main',
  files: 1,
  chunks: 1,
  vectors: { identity: identity('a'), dimensions: 8, pending: 0 },
  embeddings: identity('a'),
  embeddingsError: null,
  skipped: [],
  recentCalls: [{ ...identity('a'), at: 0, status: 'ok', durationMs: 1, texts: 1 }],
  ...overrides,
});

test('provider audit: agreeing config, index and calls have no mismatch; each disagreement is named', () => {
  assert.deepEqual(embeddingMismatches(status({})), []);
  assert.match(embeddingMismatches(status({ embeddings: identity('b') }))[0] ?? '', /index was built with local\/a .* but local\/b .* is configured/u);
  assert.match(embeddingMismatches(status({ recentCalls: [{ ...identity('a', 'cloud', 'https://api.example.com/v1'), at: 0, status: 'ok', durationMs: 1, texts: 1 }] }))[0] ?? '', /went to cloud\/a at https:\/\/api\.example\.com\/v1, not the configured local\/a/u);
  assert.match(embeddingMismatches(status({ embeddings: null }))[0] ?? '', /has vectors from local\/a .* but no embeddings are configured/u);
  assert.match(embeddingMismatches(status({ embeddingsError: 'provider "x" is not configured' }))[0] ?? '', /embeddings cannot work/u);
});
