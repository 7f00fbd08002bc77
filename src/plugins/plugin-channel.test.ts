import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isChannelError } from '../contracts/channel.js';
import { plugin, statusOf, withHost } from '../../test/support/plugin-host-harness.js';
import type { ChannelRunHandlers } from './plugin-host.js';

const NEVER = new AbortController().signal;
const ACCOUNT = { accountId: 'default', settings: { greeting: 'hi' } };

/** A channel whose run hands over `messages` (as the plugin wrote them) and reports what receive() said of each. */
const handing = (messages: unknown[]) => `
export default function activate(api) {
  api.registerChannel({
    platform: 'handchat',
    maxMessageLength: 500,
    markup: 'markdown',
    async run(account, context) {
      context.connected({ botId: 'b1', botName: 'hand-' + account.settings.greeting });
      for (const message of ${JSON.stringify(messages)}) {
        try {
          await context.receive(message);
          api.log('stored ' + message.messageId);
        } catch (error) {
          api.log('refused: ' + error.message);
        }
      }
      await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
    },
    async send(account, message) {
      if (message.text === 'blocked') throw api.channelError('rejected', 'the chat is gone');
      if (message.text === 'slow down') throw api.channelError('rate-limited', 'too fast', { retryAfterMs: 1500 });
      if (message.text === 'boom') throw new Error('socket hang up');
      return { messageId: 'sent-' + message.target.chatId };
    },
  });
}`;

function collector(): ChannelRunHandlers & { received: unknown[]; bot: string | null } {
  const handlers = {
    received: [] as unknown[],
    bot: null as string | null,
    async receive(message: unknown) {
      handlers.received.push(message);
    },
    connected(info: { botName: string }) {
      handlers.bot = info.botName;
    },
    progress() {},
    reject() {},
  };
  return handlers;
}

test('a plugin channel: messages are checked and normalised as they cross, and send errors keep their kind', () =>
  withHost(
    [],
    {
      extra: plugin(
        'hand',
        { channels: ['handchat'] },
        handing([
          { messageId: 1, chat: { id: 'c1' }, sender: { id: 'u1', name: 'Ada' }, text: 'hello' },
          { messageId: 'm2', chat: { id: 'c1' }, sender: {}, text: 'no sender id' },
          { messageId: 'm3', chat: { id: 'g1', kind: 'forum' }, sender: { id: 'u1' }, text: 'odd kind' },
          { messageId: 'm4', chat: { id: 'g1', kind: 'group' }, sender: { id: 'u2' }, text: 'hi all', mentionsBot: true, attachments: [{ kind: 'image', name: 'cat.png' }] },
        ]),
      ),
    },
    async (host, home) => {
      assert.deepEqual(statusOf(host, 'hand').registered, { tools: [], hooks: [], channels: ['handchat'] });
      const info = await host.channel('hand', 'handchat', 1000);
      assert.deepEqual(info, { platform: 'handchat', maxMessageLength: 500, markup: 'markdown', stallTimeoutMs: 120_000, typing: false, probe: false });

      const handlers = collector();
      const stop = new AbortController();
      const running = host.runChannel('hand', 'handchat', ACCOUNT, handlers, stop.signal);
      const logged = () => home.logs.filter((line) => line.includes('stored ') || line.includes('refused: '));
      for (let i = 0; i < 100 && logged().length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(handlers.bot, 'hand-hi', 'the account settings reach the plugin');
      assert.deepEqual(handlers.received, [
        { messageId: '1', chat: { id: 'c1', kind: 'direct' }, sender: { id: 'u1', name: 'Ada' }, text: 'hello', mentionsBot: false, replyToBot: false, attachments: [] },
        { messageId: 'm4', chat: { id: 'g1', kind: 'group' }, sender: { id: 'u2' }, text: 'hi all', mentionsBot: true, replyToBot: false, attachments: [{ kind: 'image', name: 'cat.png' }] },
      ]);
      const lines = logged().join('\n');
      assert.match(lines, /refused: sender\.id must be a string of 1 to 256 characters/u);
      assert.match(lines, /refused: chat\.kind must be "direct", "group" or "thread"/u);

      const send = (text: string) => host.callChannel('hand', 'handchat', 'send', ACCOUNT, { target: { chatId: 'c9' }, text, idempotencyKey: 'k' }, NEVER);
      assert.deepEqual(await send('fine'), { messageId: 'sent-c9' });
      const failures = await Promise.all(['blocked', 'slow down', 'boom'].map((text) => send(text).catch((error: unknown) => error)));
      assert.ok(failures.every(isChannelError));
      assert.deepEqual(
        failures.map((error) => [error.kind, error.message, error.retryAfterMs]),
        [
          ['rejected', 'the chat is gone', undefined],
          ['rate-limited', 'too fast', 1500],
          ['transient', 'socket hang up', undefined],
        ],
      );
      await assert.rejects(host.callChannel('hand', 'handchat', 'probe', ACCOUNT, null, NEVER), /has no probe/u);

      stop.abort();
      await running;
    },
  ));

test('a channel the manifest does not declare, or without send, fails the activation naming it; a missing one is refused as final', () =>
  withHost(
    [],
    {
      extra: {
        ...plugin('sneaky', { channels: ['okchat'] }, `export default (api) => api.registerChannel({ platform: 'otherchat', run: async () => {}, send: async () => ({ messageId: '1' }) });`),
        ...plugin('halfdone', { channels: ['halfchat'] }, `export default (api) => api.registerChannel({ platform: 'halfchat', run: async () => {} });`),
      },
    },
    async (host) => {
      assert.match(statusOf(host, 'sneaky').lastError ?? '', /channel "otherchat" is not declared in hearth\.plugin\.json registers\.channels/u);
      assert.match(statusOf(host, 'halfdone').lastError ?? '', /channel "halfchat" has no send function/u);
      const missing = await host.channel('sneaky', 'okchat', 100);
      assert.ok('error' in missing);
      assert.equal(missing.final, true);
      assert.match(missing.error, /Plugin "sneaky" is quarantined/u);
      const error = await host.runChannel('nobody', 'okchat', ACCOUNT, collector(), NEVER).catch((failure: unknown) => failure);
      assert.ok(isChannelError(error) && error.kind === 'auth', String(error));
      assert.match(error.message, /No plugin "nobody" is installed/u);
    },
  ));
