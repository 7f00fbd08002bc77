import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentProfile } from '../agent/agent-loop.js';
import type { MemoryConfig, ProviderConfig } from '../config/schema.js';
import { memoryContract } from './memory-contract.js';

const profile = (memory?: MemoryConfig) => ({ id: 'main', workspaceDir: '/ws', ...(memory ? { memory } : {}) }) as unknown as AgentProfile;
const providers = { local: { api: 'ollama' } } as unknown as Record<string, ProviderConfig>;

test('the memory contract fills every default: keyword search, the default paths, sessions off, citations auto, redaction on, no rules', () => {
  assert.deepEqual(memoryContract(profile(), providers), {
    embeddings: null,
    embeddingsError: null,
    indexPaths: ['MEMORY.md', 'USER.md', 'memory/'],
    extraPaths: [],
    sessions: false,
    citations: 'auto',
    recordQuery: 'text',
    redaction: { secrets: true, apiKeys: true },
    governance: { rules: [], denyPaths: [] },
    retentionPolicy: null,
  });
});

test('the memory contract shows what is configured, embeddings resolved to their base URL, every rule with its action, pattern and reason or tag', () => {
  const contract = memoryContract(
    profile({
      embeddings: { provider: 'local', model: 'nomic-embed-text' },
      extraPaths: ['/notes'],
      sessions: true,
      citations: 'off',
      redaction: { apiKeys: false },
      governance: { rules: [{ action: 'block', pattern: 'CONFIDENTIAL', reason: 'confidential' }, { action: 'tag', pattern: 'invoice', tag: 'finance' }], denyPaths: ['memory/private/'] },
      retentionPolicy: { kind: 'time', maxAgeDays: 90 },
    }),
    providers,
  );
  assert.deepEqual(contract.embeddings, { provider: 'local', model: 'nomic-embed-text', baseUrl: 'http://127.0.0.1:11434/v1' });
  assert.deepEqual(contract.redaction, { secrets: true, apiKeys: false });
  assert.deepEqual(contract.governance.rules, [{ action: 'block', pattern: 'CONFIDENTIAL', reason: 'confidential' }, { action: 'tag', pattern: 'invoice', tag: 'finance' }]);
  assert.deepEqual([contract.extraPaths, contract.sessions, contract.citations, contract.governance.denyPaths, contract.retentionPolicy], [['/notes'], true, 'off', ['memory/private/'], { kind: 'time', maxAgeDays: 90 }]);
  const broken = memoryContract(profile({ embeddings: { provider: 'cloud', model: 'm' } }), providers);
  assert.deepEqual(broken.embeddings, { provider: 'cloud', model: 'm', baseUrl: null });
  assert.match(broken.embeddingsError ?? '', /'cloud' is not configured under models\.providers \(configured: local\)/u);
});
