import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeContract, embeddingMismatches } from './memory-command.js';

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

test('the memory contract reads one setting a line, with the rules numbered', () => {
  const lines = describeContract('main', {
    embeddings: { provider: 'local', model: 'nomic', baseUrl: 'http://127.0.0.1:11434/v1' },
    embeddingsError: null,
    indexPaths: ['MEMORY.md', 'memory/'],
    extraPaths: [],
    sessions: true,
    citations: 'auto',
    recordQuery: 'hash',
    redaction: { secrets: true, apiKeys: false },
    governance: { rules: [{ action: 'block', pattern: 'CONFIDENTIAL', reason: 'confidential' }, { action: 'tag', pattern: 'invoice', tag: 'finance' }], denyPaths: ['memory/private/'] },
    retentionPolicy: { kind: 'time', maxAgeDays: 90 },
  }).join('\n');
  assert.match(lines, /^Embeddings {3}local\/nomic at http:\/\/127\.0\.0\.1:11434\/v1$/mu);
  assert.match(lines, /^Index paths {2}MEMORY\.md, memory\/$/mu);
  assert.match(lines, /^Sessions {5}on \(conversations indexed as untrusted\)$/mu);
  assert.match(lines, /^Queries {6}kept in run records as their SHA-256 only$/mu);
  assert.match(lines, /^Redaction {4}configured credentials on, API-key shapes off$/mu);
  assert.match(lines, /^Rules {8}2\n {2}1\. block \/CONFIDENTIAL\/ {2}reason: confidential\n {2}2\. tag \/invoice\/ {2}tag: finance$/mu);
  assert.match(lines, /^Deny-list {4}memory\/private\/$/mu);
  assert.match(lines, /^Retention {4}dated notes older than 90 days leave the index$/mu);
});
