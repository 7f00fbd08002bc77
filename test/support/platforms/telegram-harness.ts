import type { PlatformAccount, PlatformHarness, Person } from '../../e2e/channel-contract.js';
import { fakeTelegramToken, startFakeTelegramServer } from '../fake-telegram/fake-telegram-server.js';

const GROUP_ID = -1001234567890;
const TOPIC_ID = 77;

/** The channel contract's view of the fake Telegram Bot API server: one bot token per account. */
export async function createTelegramHarness(): Promise<PlatformHarness> {
  const tokens = Array.from({ length: 24 }, (_, index) => fakeTelegramToken(5_000_000_000 + index));
  const invalidToken = fakeTelegramToken(6_999_999_999);
  const server = await startFakeTelegramServer({ tokens });
  server.setTokenValid(invalidToken, false);
  let next = 0;

  return {
    platform: 'telegram',
    maxMessageLength: 4096,
    typing: true,
    sendFailures: true,
    async newAccount(): Promise<PlatformAccount> {
      const token = tokens[next++];
      if (!token) throw new Error('the Telegram harness ran out of bot tokens');
      const person = (sender: Person) => ({ id: Number(sender.id), first_name: sender.name, username: sender.name.toLowerCase() });
      return {
        settings: { botToken: token, apiRoot: server.apiRoot, pollTimeoutSeconds: 1 },
        groupId: String(GROUP_ID),
        senderId: (sender) => sender.id,
        dmChatId: (sender) => sender.id,
        async dm(sender, text) {
          server.injectMessage({ token, chatType: 'private', chatId: Number(sender.id), from: person(sender), text });
        },
        async group(sender, text, options) {
          server.injectMessage({
            token,
            chatType: 'supergroup',
            chatId: GROUP_ID,
            chatTitle: 'Hearth testers',
            from: person(sender),
            text,
            mentionBot: options.mention,
            ...(options.thread ? { messageThreadId: TOPIC_ID } : {}),
          });
        },
        sent: () =>
          server.sent
            .filter((message) => message.token === token && message.method === 'sendMessage')
            .map((message) => ({
              chatId: String(message.chatId),
              text: message.renderedText,
              ...(message.messageThreadId === undefined ? {} : { threadId: String(message.messageThreadId) }),
              at: message.at,
            })),
        typing: () => server.chatActions.filter((call) => call.token === token && call.action === 'typing').map((call) => ({ chatId: String(call.chatId), at: call.at })),
        failSends(failures) {
          for (const failure of failures) {
            server.failNext('sendMessage', failure.status === 429 ? { status: 429, retryAfter: failure.retryAfterSeconds } : { status: 500 }, { token });
          }
        },
        setSendsFailing(on) {
          if (on) server.failNext('sendMessage', { status: 500 }, { token, times: 1_000_000 });
          else server.clearFailures('sendMessage', token);
        },
        async malformed() {
          server.injectRawUpdate({ update_id: 900_000_001, message: { message_id: 1, date: 0, text: 'no chat, no sender' } }, token);
          server.injectRawUpdate({ update_id: 900_000_002, edited_channel_post: { weird: true } }, token);
          server.injectRawUpdate({ update_id: 900_000_003, message: { message_id: 2, date: 0, chat: { id: 'not a number' }, from: null } }, token);
        },
      };
    },
    invalidAccountSettings: () => ({ botToken: invalidToken, apiRoot: server.apiRoot, pollTimeoutSeconds: 1 }),
    dropConnections: () => server.dropConnections(),
    close: () => server.close(),
  };
}
