import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFakeDiscordServer } from '../../../test/support/fake-discord/fake-discord-server.js';
import { createDiscordChannel } from './discord-channel.js';

test('discord: resending a piece after a crash returns the message already posted instead of posting it twice', { timeout: 10_000 }, async () => {
  const server = await startFakeDiscordServer();
  const channel = createDiscordChannel({ accountId: 'default', token: server.token, apiRoot: server.apiBase });
  try {
    const signal = AbortSignal.timeout(5000);
    const piece = { target: { chatId: server.textChannelId }, text: 'the second piece', idempotencyKey: '17:1' };
    const first = await channel.send(piece, signal);
    const resent = await channel.send({ ...piece }, signal);
    assert.equal(resent.messageId, first.messageId);
    const next = await channel.send({ ...piece, idempotencyKey: '18:1' }, signal);
    assert.notEqual(next.messageId, first.messageId, 'another outbox entry with the same text is a new message');
    assert.deepEqual(
      server.sent.map((entry) => [entry.id, entry.content]),
      [
        [first.messageId, 'the second piece'],
        [next.messageId, 'the second piece'],
      ],
    );
  } finally {
    await channel.close();
    await server.close();
  }
});
