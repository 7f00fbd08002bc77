import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatMessage } from '../contracts/messages.js';
import { flushTrust, identifiersIn, renderParts, SUMMARY_SECTIONS, splitPoint, summaryProblems } from './compaction.js';

const line = (message: ChatMessage, tokens = 10) => ({ message, tokens });

test('the cut keeps the newest turns within the token and line bounds, and never falls between a tool call and its result', () => {
  const lines = [
    line({ role: 'user', content: 'q1' }),
    line({ role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'current_time', arguments: '{}' }] }),
    line({ role: 'tool', toolCallId: 'c1', name: 'current_time', content: 'noon' }),
    line({ role: 'assistant', content: 'it is noon' }),
    line({ role: 'user', content: 'q2' }),
    line({ role: 'assistant', content: 'a2' }),
  ];
  assert.equal(splitPoint(lines, 1000), 0, 'everything fits: nothing older to summarise');
  assert.equal(splitPoint(lines, 30), 4, 'the tool result would be kept without its call: the cut moves on to the next user message');
  assert.equal(splitPoint(lines, 1000, 2), 4, 'at most maxLines lines are kept');
  assert.equal(splitPoint(lines, 5), 6, 'nothing fits: everything is summarised');
});

test('a safeguard summary needs its sections and most of the identifiers of the turns it replaces', () => {
  const ids = identifiersIn([
    { message: { role: 'user', content: 'see https://example.test/a and /srv/data/report.csv, ticket 123456' } },
    { message: { role: 'tool', toolCallId: 'x', name: 't', content: 'ignored-id-99999999' } },
  ]);
  assert.deepEqual(ids, ['https://example.test/a', '/srv/data/report.csv', '123456']);
  const complete = `${SUMMARY_SECTIONS.join('\nnone\n')}\nhttps://example.test/a /srv/data/report.csv 123456`;
  assert.equal(summaryProblems(complete, ids), null);
  assert.match(summaryProblems('## Goals\nsome', ids)!, /lacks the sections ## Decisions, ## Progress, ## Open items, ## Key details; it lost the identifiers/u);
  assert.equal(summaryProblems('   ', ids), 'the summary is empty');
});

test('the summary input is cut into parts, the newest kept when there are too many', () => {
  const lines = Array.from({ length: 20 }, (_, index) => ({ message: { role: 'user', content: `message ${index} ${'x'.repeat(80)}` } as ChatMessage }));
  const parts = renderParts(lines, 200);
  assert.equal(parts.length, 8);
  assert.match(parts.at(-1)!, /\[user\] message 19 /u);
  assert.ok(parts.every((part) => part.length <= 200));
});

test('the memory flush writes untrusted memory when the turn was outside input or the conversation is a group chat', () => {
  assert.deepEqual(flushTrust({ sessionKey: 'agent:main:main' }), {});
  assert.deepEqual(flushTrust({ sessionKey: 'agent:main:main', untrustedInput: 'a direct message from 7' }), { untrustedInput: 'a direct message from 7' });
  assert.match(flushTrust({ sessionKey: 'agent:main:telegram:group:-100' }).untrustedInput ?? '', /group chat/u);
});
