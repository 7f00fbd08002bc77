import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemoryPort, MemorySearchResult } from '../contracts/memory.js';
import type { ToolContext } from '../contracts/tool.js';
import { createMemoryTools } from './memory-tools.js';

function toolsAnswering(result: Omit<MemorySearchResult, 'hits'>) {
  const port: MemoryPort = {
    search: async () => ({ ...result, hits: [{ path: 'MEMORY.md', startLine: 2, endLine: 3, score: 0.8, snippet: 'Ada likes tea.', citation: 'MEMORY.md#L2-L3', provenance: 'untrusted' }] }),
    get: async () => ({ path: 'MEMORY.md', from: 1, to: 1, totalLines: 1, text: '' }),
    write: async () => ({ path: 'memory/x.md', startLine: 1, endLine: 1, provenance: 'agent' as const }),
  };
  return createMemoryTools(port);
}

const context = (sessionKey: string): ToolContext => ({ workspaceDir: '/ws', agentId: 'main', sessionKey, runId: 'run_1', signal: new AbortController().signal, now: () => new Date() });

test('memory.citations: on and off, and auto cites in a direct conversation but not in a group chat', async () => {
  const search = async (citations: 'on' | 'off' | 'auto', sessionKey: string) => (await toolsAnswering({ mode: 'keyword', citations })[0]!.execute({ query: 'tea' }, context(sessionKey)));
  const direct = 'agent:main:telegram:direct:42';
  const group = 'agent:main:telegram:group:-100';
  assert.match((await search('on', group)).content, /^1\. MEMORY\.md#L2-L3 \(score 0\.80, UNTRUSTED/mu);
  const off = await search('off', direct);
  assert.doesNotMatch(off.content, /#L2-L3/u);
  assert.equal((off.details?.retrieval as { citationsInPrompt?: boolean } | undefined)?.citationsInPrompt, false);
  assert.match((await search('auto', direct)).content, /MEMORY\.md#L2-L3/u);
  assert.doesNotMatch((await search('auto', group)).content, /#L2-L3/u);
  assert.match((await search('auto', group)).content, /Ada likes tea\./u, 'the text itself is still given');
});

test('a query kept only as its hash never appears in the run record', async () => {
  const result = await toolsAnswering({ mode: 'keyword', recordQuery: 'hash' })[0]!.execute({ query: 'my secret plan' }, context('s'));
  const retrieval = result.details?.retrieval as Record<string, unknown>;
  assert.equal(retrieval.query, undefined);
  assert.match(String(retrieval.queryHash), /^[0-9a-f]{64}$/u);
  assert.doesNotMatch(JSON.stringify(result.details), /secret plan/u);
});
