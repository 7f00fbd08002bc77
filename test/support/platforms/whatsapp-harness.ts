import type { PlatformAccount, PlatformHarness, Person } from '../../e2e/channel-contract.js';
import { type FakeWhatsAppNumber, startFakeWhatsAppServer } from '../fake-whatsapp/fake-whatsapp-server.js';

const ACCOUNTS = 24;

/** Test numbers: phone number id, business account, token and app secret per account. */
export function fakeWhatsAppNumbers(count: number, first = 0): (FakeWhatsAppNumber & { verifyToken: string })[] {
  return Array.from({ length: count }, (_, offset) => {
    const index = first + offset;
    return {
      phoneNumberId: String(106_540_352_240_000 + index),
      businessAccountId: String(102_290_129_340_000 + index),
      accessToken: `EAAHearthTestToken${index}ZDZD`,
      appSecret: `hearth-app-secret-${index}`,
      verifyToken: `hearth-verify-${index}`,
      displayPhoneNumber: `+1 555-01${String(index).padStart(2, '0')}`,
      verifiedName: `Hearth Test ${index}`,
    };
  });
}

/** A person's WhatsApp id: their number in international format, without "+". */
const waId = (person: Person) => `1555000${person.id}`;

/**
 * The channel contract's view of the fake WhatsApp Cloud API: one phone number (with its own
 * business account and app) per account. Messages reach the gateway as signed webhook pushes, so
 * the harness learns each gateway's URL (`gatewayStarted`) and sets it as the app's callback URL,
 * which runs Meta's verification handshake first.
 */
export async function createWhatsAppHarness(): Promise<PlatformHarness> {
  const numbers = fakeWhatsAppNumbers(ACCOUNTS);
  const server = await startFakeWhatsAppServer({ numbers });
  let next = 0;

  return {
    platform: 'whatsapp',
    maxMessageLength: 4096,
    typing: true,
    sendFailures: true,
    groups: false,

    async gatewayStarted(gatewayUrl, channelSettings) {
      const { accounts, ...shared } = channelSettings as Record<string, unknown> & { accounts?: Record<string, Record<string, unknown>> };
      const configured = accounts ? Object.entries(accounts).map(([id, own]) => [id, { ...shared, ...own }] as const) : [['default', shared] as const];
      for (const [accountId, settings] of configured) {
        const number = numbers.find((item) => item.phoneNumberId === settings.phoneNumberId && item.accessToken === settings.accessToken);
        if (number) await server.setCallback(number.phoneNumberId, `${gatewayUrl}/channels/whatsapp/${accountId}/webhook`, number.verifyToken);
      }
    },

    async newAccount(): Promise<PlatformAccount> {
      const number = numbers[next++];
      if (!number) throw new Error('the WhatsApp harness ran out of phone numbers');
      const id = number.phoneNumberId;
      return {
        settings: {
          phoneNumberId: id,
          accessToken: number.accessToken,
          appSecret: number.appSecret,
          verifyToken: number.verifyToken,
          businessAccountId: number.businessAccountId,
          apiRoot: server.apiRoot,
        },
        groupId: 'no-groups-on-whatsapp',
        senderId: waId,
        dmChatId: waId,
        async dm(sender, text) {
          server.injectMessage(id, { from: waId(sender), name: sender.name, text });
        },
        async group() {
          throw new Error('WhatsApp Cloud API numbers take no group messages');
        },
        sent: () => server.sent.filter((message) => message.phoneNumberId === id).map((message) => ({ chatId: message.to, text: message.text, at: message.at })),
        typing: () => server.typing.filter((item) => item.phoneNumberId === id).map((item) => ({ chatId: item.chatId, at: item.at })),
        failSends(failures) {
          server.failNext(id, failures);
        },
        setSendsFailing(on) {
          server.setSendsFailing(id, on);
        },
        async malformed() {
          const metadata = { display_phone_number: '15550100', phone_number_id: id };
          const change = (value: Record<string, unknown>) => ({ object: 'whatsapp_business_account', entry: [{ id: number.businessAccountId, changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata, ...value } }] }] });
          server.injectRaw(id, '{"object": "whatsapp_business_account", "entry": ');
          server.injectRaw(id, { object: 'page', entry: 'not a list' });
          server.injectRaw(id, { object: 'whatsapp_business_account', entry: [{ id: number.businessAccountId, changes: 'none' }] });
          server.injectRaw(id, change({ messages: [{ id: 'wamid.nosender', type: 'text', text: { body: 'no sender' } }] }));
          server.injectRaw(id, change({ messages: [{ from: '15550001001', id: 'wamid.badtext', timestamp: '1', type: 'text', text: { body: 42 } }] }));
          server.injectRaw(id, change({ messages: 'not a list' }));
          server.injectRaw(id, { object: 'whatsapp_business_account', entry: [{ id: number.businessAccountId, changes: [{ field: 'messages', value: { messages: [] } }] }] });
        },
      };
    },
    invalidAccountSettings: () => ({
      phoneNumberId: '106540352249999',
      accessToken: 'EAARefusedTokenZDZD',
      appSecret: 'refused-app-secret',
      verifyToken: 'refused-verify',
      apiRoot: server.apiRoot,
    }),
    dropConnections: () => server.outage(800),
    close: () => server.close(),
  };
}
