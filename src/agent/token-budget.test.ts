import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatMessage } from '../contracts/messages.js';
import { fitHistory } from './token-budget.js';

test('keeps the newest messages that fit, starting at a user message', () => {
  const history: ChatMessage[] = [
    { role: 'user', content: 'a'.repeat(400) },
    { role: 'assistant', content: 'b'.repeat(400) },
    { role: 'user', content: 'second question' },
    { role: 'assistant', content: '', toolCalls: [{ id: '1', name: 'read', arguments: '{"path":"x"}' }] },
    { role: 'tool', toolCallId: '1', name: 'read', content: 'file text' },
    { role: 'assistant', content: 'answer' },
  ];
  const all = fitHistory(history, 10_000);
  assert.equal(all.length, 6);
  const recent = fitHistory(history, 60);
  assert.equal(recent[0]?.role, 'user');
  assert.equal(recent[0]?.content, 'second question');
  assert.equal(recent.length, 4);
  // A budget that only fits the tail drops the orphaned tool result instead of splitting the pair.
  assert.deepEqual(fitHistory(history, 12), []);
});
