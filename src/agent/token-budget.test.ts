import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatMessage } from '../contracts/messages.js';
import { packMessages, unpackMessages } from '../contracts/packed-messages.js';
import { fitPacked } from './token-budget.js';

const history: ChatMessage[] = [
  { role: 'user', content: 'a'.repeat(400) },
  { role: 'assistant', content: 'b'.repeat(400) },
  { role: 'user', content: 'second question' },
  { role: 'assistant', content: '', toolCalls: [{ id: '1', name: 'read', arguments: '{"path":"x"}' }] },
  { role: 'tool', toolCallId: '1', name: 'read', content: 'file text' },
  { role: 'assistant', content: 'answer' },
];

test('keeps the newest messages that fit, starting at a user message', () => {
  const packed = packMessages(history);
  assert.deepEqual(unpackMessages(fitPacked(packed, 10_000, 400)), history);
  const recent = unpackMessages(fitPacked(packed, 80, 400));
  assert.deepEqual(recent, history.slice(2));
  // A budget that only fits the tail drops the orphaned tool result instead of splitting the pair.
  assert.deepEqual(unpackMessages(fitPacked(packed, 20, 400)), []);
});

test('keeps at most maxEntries messages, still starting at a user message', () => {
  const packed = packMessages(history);
  assert.deepEqual(unpackMessages(fitPacked(packed, 10_000, 4)), history.slice(2));
  assert.deepEqual(unpackMessages(fitPacked(packed, 10_000, 3)), []);
});

test('a window of plain messages is sent as stored; one with tool calls is not', () => {
  const packed = packMessages(history);
  assert.equal(packed.plain, false);
  const plain = fitPacked(packMessages(history.slice(0, 3)), 10_000, 400);
  assert.equal(plain.plain, true);
  assert.equal(plain.json, history.slice(0, 3).map((message) => JSON.stringify(message)).join(','));
});
