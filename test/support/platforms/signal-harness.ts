import type { PlatformAccount, PlatformHarness, Person } from '../../e2e/channel-contract.js';
import { type FakeSignalGroup, type FakeSignalServer, fakeAci, type SignalPerson, startFakeSignalServer } from '../fake-signal/fake-signal-server.js';

/** What Signal puts in the text where a mention sits. */
const MENTION = '\uFFFC';

/** A contract person as a Signal user: a phone number and an ACI derived from their id. */
export const signalPerson = (person: Person): SignalPerson => ({ number: `+1555000${person.id}`, uuid: fakeAci(Number(person.id)), name: person.name });

/** A Signal account of the harness, with what the Signal-specific tests need besides the contract's view. */
export interface SignalAccount extends PlatformAccount {
  number: string;
  uuid: string;
  signalGroup: FakeSignalGroup;
  server: FakeSignalServer;
}

/**
 * The channel contract's view of a fake signal-cli daemon in multi-account mode: one Signal
 * account per harness account, all served by one daemon (so every request names its account).
 */
export async function createSignalHarness(options: { keepAliveMs?: number } = {}): Promise<Omit<PlatformHarness, 'newAccount'> & { newAccount(): Promise<SignalAccount>; server: FakeSignalServer }> {
  const server = await startFakeSignalServer(options);
  let next = 0;
  const known = new Set<string>();
  const person = (sender: Person) => {
    const signal = signalPerson(sender);
    if (!known.has(signal.number)) {
      server.addPerson(signal);
      known.add(signal.number);
    }
    return signal;
  };

  return {
    platform: 'signal',
    maxMessageLength: 2000,
    typing: true,
    sendFailures: true,
    server,
    async newAccount(): Promise<SignalAccount> {
      const index = next++;
      const number = `+1555010${String(index).padStart(4, '0')}`;
      const uuid = fakeAci(0xb0700 + index);
      server.addAccount(number, uuid);
      const group = server.addGroup(`Hearth testers ${index}`);
      const mine = () => server.sent.filter((message) => message.account === number);
      return {
        number,
        uuid,
        signalGroup: group,
        server,
        settings: { account: number, rpcUrl: server.rpcUrl },
        groupId: group.id,
        senderId: (sender) => signalPerson(sender).uuid,
        dmChatId: (sender) => signalPerson(sender).uuid,
        async dm(sender, text) {
          server.receive(number, person(sender), text);
        },
        async group(sender, text, { mention }) {
          if (mention) server.receive(number, person(sender), `${MENTION} ${text}`, { group, mentions: [{ name: number, number, uuid, start: 0, length: 1 }] });
          else server.receive(number, person(sender), text, { group });
        },
        sent: () => mine().map((message) => ({ chatId: message.chatId, text: message.message, at: message.at })),
        typing: () => server.typing.filter((item) => item.account === number).map((item) => ({ chatId: item.chatId, at: item.at })),
        failSends(failures) {
          server.failSends(
            number,
            failures.map((failure) => (failure.status === 429 ? { kind: 'rate-limit', retryAfterSeconds: failure.retryAfterSeconds } : { kind: 'network' })),
          );
        },
        setSendsFailing(on) {
          server.setSendsFailing(number, on);
        },
        async malformed() {
          server.receiveRaw(number, 'this is not JSON {');
          server.receiveRaw(number, { account: number });
          server.receiveRaw(number, { account: number, envelope: { timestamp: 5, dataMessage: { message: 'no sender' } } });
          server.receiveRaw(number, { account: number, envelope: { sourceUuid: fakeAci(77), timestamp: 6, dataMessage: { message: 42 } } });
        },
      };
    },
    // A number the daemon has not linked or registered.
    invalidAccountSettings: () => ({ account: '+15559999999', rpcUrl: server.rpcUrl }),
    dropConnections: () => server.dropConnections(),
    close: () => server.close(),
  };
}
