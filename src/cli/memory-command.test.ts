import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CliIo } from './cli-context.js';
import { describeContract, describeProgress, describeStatus, embeddingMismatches, indexWithProgress } from './memory-command.js';

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

/** A gateway client whose memory.index sends the given progress events (when asked for them) before it answers. */
function fakeIndexClient(events: object[]) {
  const listeners = new Set<(event: string, payload: unknown) => void>();
  const calls: { method: string; params: unknown }[] = [];
  return {
    calls,
    onEvent(listener: (event: string, payload: unknown) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async call<T>(method: string, params?: unknown): Promise<T> {
      calls.push({ method, params });
      if ((params as { progress?: boolean }).progress) for (const payload of events) for (const listener of listeners) listener('memory.index.progress', payload);
      return status({}) as T;
    },
  };
}

const progressEvents = [
  { agentId: 'main', phase: 'reading', done: 2, total: null },
  { agentId: 'main', phase: 'indexing', done: 1, total: 2 },
  { agentId: 'main', phase: 'embedding', done: 32, total: 64 },
  { agentId: 'main', phase: 'done', done: 2, total: 2 },
];

test('memory index on a terminal: one line rewritten with the files and chunks done of the total, cleared before the answer', async () => {
  const written: string[] = [];
  const terminal: CliIo = { out: (text) => void written.push(text), err: () => {}, outIsTerminal: true };
  const client = fakeIndexClient(progressEvents);
  const answer = await indexWithProgress(client, terminal, { force: true }, true);
  assert.equal(answer.agentId, 'main');
  assert.deepEqual(client.calls, [{ method: 'memory.index', params: { force: true, progress: true } }]);
  assert.deepEqual(written, ['\r\u001b[2KReading memory files… 2', '\r\u001b[2KIndexing files 1/2 (50%)', '\r\u001b[2KEmbedding chunks 32/64 (50%)', '\r\u001b[2KIndexed 2 files', '\r\u001b[2K']);
  assert.equal(describeProgress({ agentId: 'main', phase: 'embedding', done: 0, total: 0 }), 'Embedding chunks 0/0');
});

test('memory index into a pipe (or with --json): no progress asked for and nothing but the answer written', async () => {
  const written: string[] = [];
  const piped: CliIo = { out: (text) => void written.push(text), err: () => {} };
  const client = fakeIndexClient(progressEvents);
  await indexWithProgress(client, piped, {}, false);
  assert.deepEqual(client.calls, [{ method: 'memory.index', params: {} }]);
  assert.deepEqual(written, []);
});

test('memory status shows the in-memory scan copy of the vectors: its size once loaded, or that it loads at the next search', () => {
  const loaded = describeStatus(status({ vectorCopy: { loaded: true, vectors: 100_001, bytes: 41_943_040 } }) as Parameters<typeof describeStatus>[0]).join('\n');
  assert.match(loaded, /^Scan copy {3}100001 vectors in memory \(40\.0 MB\)$/mu);
  const waiting = describeStatus(status({ vectorCopy: { loaded: false, vectors: 0, bytes: 0 } }) as Parameters<typeof describeStatus>[0]).join('\n');
  assert.match(waiting, /^Scan copy {3}not loaded \(loads in the background at the next search by meaning\)$/mu);
  const keywordOnly = describeStatus(status({ embeddings: null, vectors: { identity: null, dimensions: null, pending: 0 }, vectorCopy: { loaded: false, vectors: 0, bytes: 0 } }) as Parameters<typeof describeStatus>[0]).join('\n');
  assert.doesNotMatch(keywordOnly, /Scan copy/u);
});
