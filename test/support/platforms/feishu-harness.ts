import type { PlatformAccount, PlatformHarness, Person } from '../../e2e/channel-contract.js';
import { type FakeFeishuApp, startFakeFeishuServer } from '../fake-feishu/fake-feishu-server.js';

const ACCOUNTS = 24;
const GROUP_ID = 'oc_hearthtesters';
const PEOPLE: Person[] = [
  { id: '1001', name: 'Ada' },
  { id: '1002', name: 'Bob' },
];

const openId = (person: Person) => `ou_${person.id}`;
/** The p2p chat between a person and the bot (Feishu names every chat, direct ones too, oc_…). */
const p2pChat = (person: Person) => `oc_p2p_${person.id}`;

/** The app ids of an account block: the block itself is `default`, else each of its `accounts`. */
function accountApps(settings: Record<string, unknown>): Array<{ accountId: string; appId: string }> {
  const accounts = settings.accounts;
  if (typeof accounts === 'object' && accounts !== null) {
    return Object.entries(accounts as Record<string, Record<string, unknown>>)
      .map(([accountId, own]) => ({ accountId, appId: String(own.appId ?? settings.appId ?? '') }))
      .filter((item) => item.appId.length > 0);
  }
  return typeof settings.appId === 'string' ? [{ accountId: 'default', appId: settings.appId }] : [];
}

/**
 * The channel contract's view of the fake Feishu open platform: one app (with an Encrypt Key, so
 * every event is encrypted and signed) per account. Events are pushed to the gateway's
 * `/channels/feishu/<account>/webhook` once the contract tells the harness where the gateway is.
 */
export async function createFeishuHarness(): Promise<PlatformHarness> {
  const apps: FakeFeishuApp[] = Array.from({ length: ACCOUNTS }, (_, index) => ({
    appId: `cli_hearth${String(index + 1).padStart(4, '0')}`,
    appSecret: `secret-${index + 1}-${'s'.repeat(24)}`,
    verificationToken: `verify-${index + 1}`,
    encryptKey: `encrypt-key-${index + 1}`,
    botOpenId: `ou_bot${index + 1}`,
    botName: `Hearth ${index + 1}`,
  }));
  const server = await startFakeFeishuServer({ apps, people: PEOPLE.map((person) => ({ openId: openId(person), name: person.name })) });
  let next = 0;

  return {
    platform: 'feishu',
    maxMessageLength: 4000,
    // Feishu has no typing indicator for bots.
    typing: false,
    sendFailures: true,
    gatewayStarted(url, channelSettings) {
      for (const { accountId, appId } of accountApps(channelSettings)) server.setWebhook(appId, `${url}/channels/feishu/${accountId}/webhook`);
    },
    async newAccount(): Promise<PlatformAccount> {
      const app = apps[next++];
      if (!app) throw new Error('the Feishu harness ran out of apps');
      const person = (sender: Person) => ({ openId: openId(sender), name: sender.name });
      return {
        settings: { appId: app.appId, appSecret: app.appSecret, verificationToken: app.verificationToken, encryptKey: app.encryptKey, apiRoot: server.url },
        groupId: GROUP_ID,
        senderId: openId,
        dmChatId: p2pChat,
        async dm(sender, text) {
          server.injectMessage({ appId: app.appId, chatType: 'p2p', chatId: p2pChat(sender), sender: person(sender), text });
        },
        async group(sender, text, options) {
          server.injectMessage({
            appId: app.appId,
            chatType: 'group',
            chatId: GROUP_ID,
            sender: person(sender),
            text,
            mentionBot: options.mention,
            ...(options.thread ? { threadRootId: 'om_hearththreadroot' } : {}),
          });
        },
        sent: () => server.sent.filter((message) => message.appId === app.appId).map((message) => ({ chatId: message.chatId, text: message.text, at: message.at })),
        typing: () => [],
        failSends(failures) {
          server.failSends(app.appId, failures);
        },
        setSendsFailing(on) {
          server.setSendsFailing(app.appId, on);
        },
        async malformed() {
          const envelope = server.messageEnvelope({ appId: app.appId, chatType: 'p2p', chatId: 'oc_p2p_1001', sender: person(PEOPLE[0] as Person), text: 'x' }).payload;
          const event = envelope.event as { message: Record<string, unknown>; sender: Record<string, unknown> };
          // Signed but not JSON, and a v2 event without its event.
          server.injectRawBody(app.appId, '{"encrypt": ');
          server.injectEvent(app.appId, { schema: '2.0', header: envelope.header });
          // Message events Hearth cannot read: no sender, content not JSON, a text message without text.
          server.injectEvent(app.appId, { ...envelope, header: { ...(envelope.header as object), event_id: 'bad-1' }, event: { message: event.message } });
          server.injectEvent(app.appId, { ...envelope, header: { ...(envelope.header as object), event_id: 'bad-2' }, event: { ...event, message: { ...event.message, message_id: 'om_bad2', content: '{not json' } } });
          server.injectEvent(app.appId, { ...envelope, header: { ...(envelope.header as object), event_id: 'bad-3' }, event: { ...event, message: { ...event.message, message_id: 'om_bad3', content: '{"text": 42}' } } });
        },
      };
    },
    invalidAccountSettings: () => ({ appId: 'cli_refused', appSecret: 'not-the-secret', verificationToken: 'whatever', encryptKey: 'whatever', apiRoot: server.url }),
    dropConnections: () => server.dropConnections(),
    close: () => server.close(),
  };
}
