import type { PlatformAccount, PlatformHarness, Person } from '../../e2e/channel-contract.js';
import { FAKE_MATRIX_SERVER_NAME, type FakeMatrixServer, startFakeMatrixServer } from '../fake-matrix/fake-matrix-server.js';

/** The Matrix user id of a person of the contract (Ada → @ada:hearth.test). */
export const matrixUserId = (person: Person) => `@${person.name.toLowerCase()}:${FAKE_MATRIX_SERVER_NAME}`;

/** A text message's content as Element sends it: with a pill and m.mentions when it mentions someone. */
export function matrixText(text: string, mention?: { userId: string; displayName: string }): Record<string, unknown> {
  if (!mention) return { msgtype: 'm.text', body: text, 'm.mentions': {} };
  return {
    msgtype: 'm.text',
    body: `${mention.displayName}: ${text}`,
    format: 'org.matrix.custom.html',
    formatted_body: `<a href="https://matrix.to/#/${mention.userId}">${mention.displayName}</a>: ${text}`,
    'm.mentions': { user_ids: [mention.userId] },
  };
}

/** One bot account on the fake homeserver, with its DM rooms made on first use. */
export interface MatrixBotAccount {
  userId: string;
  displayName: string;
  accessToken: string;
  settings: Record<string, unknown>;
  /** The DM room between the bot and `person` (created, with the bot's m.direct, on first use). */
  dmRoom(person: Person): string;
}

/** Adds a bot user with its own token to the server; `n` makes the names unique. */
export function addMatrixBot(server: FakeMatrixServer, n: number): MatrixBotAccount {
  const accessToken = `syt_aGVhcnRo${n}_FakeHearthMatrixToken${n}`;
  const displayName = `Hearth ${n}`;
  const userId = server.addUser(`hearth${n}`, { accessToken, displayName });
  const dms = new Map<string, string>();
  return {
    userId,
    displayName,
    accessToken,
    settings: { homeserverUrl: server.baseUrl, userId, accessToken },
    dmRoom(person) {
      const peer = matrixUserId(person);
      const known = dms.get(peer);
      if (known) return known;
      server.addUser(person.name.toLowerCase(), { displayName: person.name });
      const roomId = server.createRoom({ members: [peer, userId] });
      dms.set(peer, roomId);
      server.setDirect(userId, Object.fromEntries([...dms].map(([user, room]) => [user, [room]])));
      return roomId;
    },
  };
}

/** The channel contract's view of the fake Matrix homeserver: one bot user per account. */
export async function createMatrixHarness(): Promise<PlatformHarness> {
  const server = await startFakeMatrixServer();
  const revoked = 'syt_cmV2b2tlZA_RevokedHearthMatrixToken';
  const revokedUser = server.addUser('revoked', { accessToken: revoked });
  server.setTokenValid(revoked, false);
  const ada = server.addUser('ada', { displayName: 'Ada' });
  const bob = server.addUser('bob', { displayName: 'Bob' });
  let next = 0;

  return {
    platform: 'matrix',
    maxMessageLength: 16_000,
    typing: true,
    sendFailures: true,
    async newAccount(): Promise<PlatformAccount> {
      const bot = addMatrixBot(server, ++next);
      const groupId = server.createRoom({ members: [ada, bob, bot.userId], name: 'Hearth testers' });
      const threadRoot = server.post(groupId, ada, matrixText('a thread starts here'));
      return {
        settings: bot.settings,
        groupId,
        senderId: matrixUserId,
        dmChatId: (person) => bot.dmRoom(person),
        async dm(sender, text) {
          server.post(bot.dmRoom(sender), matrixUserId(sender), matrixText(text));
        },
        async group(sender, text, options) {
          const content = matrixText(text, options.mention ? { userId: bot.userId, displayName: bot.displayName } : undefined);
          if (options.thread) content['m.relates_to'] = { rel_type: 'm.thread', event_id: threadRoot, is_falling_back: true, 'm.in_reply_to': { event_id: threadRoot } };
          server.post(groupId, matrixUserId(sender), content);
        },
        sent: () =>
          server.sent
            .filter((message) => message.userId === bot.userId && message.eventType === 'm.room.message')
            .map((message) => {
              const relation = message.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
              return {
                chatId: message.roomId,
                text: String(message.content.body),
                ...(relation?.rel_type === 'm.thread' && relation.event_id ? { threadId: relation.event_id } : {}),
                at: message.at,
              };
            }),
        typing: () => server.typing.filter((call) => call.userId === bot.userId && call.typing).map((call) => ({ chatId: call.roomId, at: call.at })),
        failSends(failures) {
          server.failSends(
            bot.userId,
            failures.map((failure) => (failure.status === 429 ? { status: 429, retryAfterMs: failure.retryAfterSeconds * 1000 } : { status: 500 })),
          );
        },
        setSendsFailing: (on) => server.setSendsFailing(bot.userId, on),
        async malformed() {
          server.injectRaw(bot.userId, groupId, { event: { event_id: '$no-sender', content: { body: 'no type, no sender' } } });
          server.injectRaw(bot.userId, groupId, { event: { type: 'm.room.message', event_id: '$bad-body', sender: ada, content: { msgtype: 'm.text', body: 42 } } });
          server.injectRaw(bot.userId, groupId, { event: 'not an event' });
          server.injectRaw(bot.userId, `!broken:${FAKE_MATRIX_SERVER_NAME}`, { entry: 'not a room' });
        },
      };
    },
    invalidAccountSettings: () => ({ homeserverUrl: server.baseUrl, userId: revokedUser, accessToken: revoked }),
    dropConnections: () => server.dropConnections(),
    close: () => server.close(),
  };
}
