import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChatSpec } from './chat-spec.js';

test('a chat spec names the platform, an optional account, the chat and an optional thread', () => {
  assert.deepEqual(parseChatSpec('telegram:12345'), { platform: 'telegram', accountId: 'default', chatId: '12345' });
  assert.deepEqual(parseChatSpec('telegram:work:-100123'), { platform: 'telegram', accountId: 'work', chatId: '-100123' });
  assert.deepEqual(parseChatSpec('slack:team:C01:1700000000.000100'), { platform: 'slack', accountId: 'team', chatId: 'C01', threadId: '1700000000.000100' });
  assert.deepEqual(parseChatSpec('email:default:ada@example.org'), { platform: 'email', accountId: 'default', chatId: 'ada@example.org' });
});

test('a Matrix room, user or alias id is one chat although it holds colons, with or without a port and a thread', () => {
  assert.deepEqual(parseChatSpec('matrix:!abc:example.org'), { platform: 'matrix', accountId: 'default', chatId: '!abc:example.org' });
  assert.deepEqual(parseChatSpec('matrix:work:!abc:example.org'), { platform: 'matrix', accountId: 'work', chatId: '!abc:example.org' });
  assert.deepEqual(parseChatSpec('matrix:work:!abc:example.org:8448'), { platform: 'matrix', accountId: 'work', chatId: '!abc:example.org:8448' });
  assert.deepEqual(parseChatSpec('matrix:work:!abc:example.org:$event1'), { platform: 'matrix', accountId: 'work', chatId: '!abc:example.org', threadId: '$event1' });
  assert.deepEqual(parseChatSpec('matrix:default:@ada:example.org'), { platform: 'matrix', accountId: 'default', chatId: '@ada:example.org' });
  assert.deepEqual(parseChatSpec('matrix:default:#ops:example.org'), { platform: 'matrix', accountId: 'default', chatId: '#ops:example.org' });
});

test('what is not a chat spec is refused', () => {
  for (const spec of ['telegram', 'telegram:', 'telegram::1', 'telegram:a:b:c:d', 'Telegram:1', 'telegram:a b', 'matrix:default:!abc']) {
    assert.equal(parseChatSpec(spec), null, spec);
  }
});
