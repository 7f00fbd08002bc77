/**
 * The IRC platform for the channel contract suite: a real IRC server (Debian's ngircd, see
 * ../irc/ngircd-server.ts) and scripted users on raw sockets (../irc/irc-user.ts).
 *
 * - Each account is a fresh bot nick (`hearth1`, `hearth2`, …) that joins its own channel
 *   (`#test1`, …), where a watcher user (`w1`, …) sits and records what the bot says there.
 * - A Person is the IRC user `<name><id>` (e.g. `Ada1001`: a nick cannot start with a digit, and on
 *   IRC the nick is the name others see); the sender id the adapter reports, and what allowFrom
 *   lists, is that nick in lower case (`senderId(person)`).
 * - IRC has no 429/5xx. `setSendsFailing(true)` instead makes every person who writes to the bot
 *   go offline right after the message is relayed, so the reply gets "401 No such nick" and must
 *   wait in the outbox; `setSendsFailing(false)` brings them back.
 * - IRC has no store-and-forward: a person whose message is refused because the bot is offline
 *   ("401") waits until the bot is back in its channel and sends it again, as a human would.
 * - The contract server runs without ngircd's flood pacing so the long-reply test stays within
 *   its time limit; the IRC tests check pacing against a server with it on.
 */
import { randomBytes } from 'node:crypto';
import type { PlatformAccount, PlatformHarness, Person, SentMessage } from '../../e2e/channel-contract.js';
import { connectIrcUser, type IrcLine, type IrcUser } from '../irc/irc-user.js';
import { type NgircdServer, startNgircd } from '../irc/ngircd-server.js';

/** The adapter's `format.maxMessageLength` (src/channels/irc/irc-channel.ts, IRC_MAX_MESSAGE). */
export const IRC_MAX_MESSAGE_CHARS = 400;

export interface IrcHarness extends PlatformHarness {
  server: NgircdServer;
  /** The IRC nick of a person. */
  nickOf(person: Person): string;
}

const sameNick = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();
const isChannelName = (name: string) => /^[#&+!]/u.test(name);

/**
 * Sends `commands` between two PINGs and returns the lines the server answered in between, so a
 * refusal (e.g. 401) can be told apart from older ones. Resolves once the server has handled them.
 */
export async function roundTrip(user: IrcUser, send: () => void, timeoutMs = 15_000): Promise<IrcLine[]> {
  const before = `b${randomBytes(5).toString('hex')}`;
  const after = `a${randomBytes(5).toString('hex')}`;
  user.sendRaw(`PING :${before}`);
  send();
  user.sendRaw(`PING :${after}`);
  await user.waitForLine((line) => line.command === 'PONG' && line.params.includes(after), timeoutMs);
  const lines = user.lines;
  const start = lines.findIndex((line) => line.command === 'PONG' && line.params.includes(before));
  const end = lines.findIndex((line) => line.command === 'PONG' && line.params.includes(after));
  return lines.slice(start + 1, end);
}

/** One ngircd (plus one with a server password, for refused credentials) shared by the file's accounts. */
export async function createIrcHarness(): Promise<IrcHarness> {
  const server = await startNgircd({ floodProtection: false });
  const locked = await startNgircd({ floodProtection: false, password: `pw-${randomBytes(4).toString('hex')}` }).catch(async (error: unknown) => {
    await server.stop();
    throw error;
  });
  const host = server.host;
  /** Every user connection ever made (closed ones keep what they received). */
  const everyUser: IrcUser[] = [];
  const watchers: IrcUser[] = [];
  const online = new Map<string, Promise<IrcUser>>();
  const joined = new WeakMap<IrcUser, Set<string>>();
  const botNicks: string[] = [];
  const background = new Set<Promise<unknown>>();
  /** The KILLs of the last dropConnections(): people wait for them, so what they say next comes after the drop. */
  let drops: Promise<unknown> = Promise.resolve();
  let accounts = 0;
  let sendsFailing = false;
  let offline: Person[] = [];

  const nickOf = (person: Person) => {
    const name = person.name.replace(/[^A-Za-z0-9_-]/gu, '');
    return /^[A-Za-z]/u.test(name) ? `${name}${person.id}` : `p${name}${person.id}`;
  };

  const track = <T>(promise: Promise<T>): Promise<T> => {
    const settled = promise.then(
      () => undefined,
      () => undefined,
    );
    background.add(settled);
    void settled.then(() => background.delete(settled));
    return promise;
  };

  function connectUser(nick: string): Promise<IrcUser> {
    return connectIrcUser({ host, port: server.port, nick }).then((user) => {
      everyUser.push(user);
      return user;
    });
  }

  function userFor(person: Person): Promise<IrcUser> {
    let user = online.get(person.id);
    if (!user) {
      user = connectUser(nickOf(person));
      online.set(person.id, user);
      user.catch(() => online.delete(person.id));
    }
    return user;
  }

  async function goOffline(person: Person): Promise<void> {
    const user = online.get(person.id);
    online.delete(person.id);
    offline.push(person);
    await (await user)?.quit('going offline');
  }

  async function join(user: IrcUser, channel: string): Promise<void> {
    const channels = joined.get(user) ?? new Set<string>();
    joined.set(user, channels);
    if (channels.has(channel)) return;
    await user.join(channel);
    channels.add(channel);
  }

  return {
    platform: 'irc',
    maxMessageLength: IRC_MAX_MESSAGE_CHARS,
    typing: false,
    sendFailures: false,
    server,
    nickOf,

    async newAccount(): Promise<PlatformAccount> {
      accounts += 1;
      const n = accounts;
      const botNick = `hearth${n}`;
      const channel = `#test${n}`;
      botNicks.push(botNick);
      const watcher = await connectUser(`w${n}`);
      watchers.push(watcher);
      await join(watcher, channel);
      const isBot = (nick: string) => sameNick(nick, botNick) || sameNick(nick, `${botNick}_`) || sameNick(nick, `${botNick}__`);

      /** Resolves once the watcher has seen the bot join its channel at or after `since`. */
      const botInChannel = (since: number) =>
        watcher.waitForLine((line) => line.command === 'JOIN' && line.source !== undefined && isBot(line.source) && sameNick(line.params[0], channel) && line.at >= since, 20_000);

      /** Says `text` to `target`; when the bot is offline (401), waits for it to come back and says it again. */
      async function say(user: IrcUser, target: string, text: string): Promise<void> {
        for (let attempt = 1; ; attempt++) {
          const answer = await roundTrip(user, () => user.say(target, text));
          const refused = answer.find((line) => line.command === '401' && sameNick(line.params[1], target));
          if (!refused) return;
          if (attempt >= 3) throw new Error(`${user.nick} could not reach ${target}: ${refused.raw}`);
          await botInChannel(refused.at);
        }
      }

      return {
        settings: { host, port: server.port, nick: botNick, channels: [channel], floodDelayMs: 10 },
        groupId: channel,
        senderId: (person) => nickOf(person).toLowerCase(),
        dmChatId: (person) => nickOf(person).toLowerCase(),

        async dm(sender, text) {
          await drops;
          const user = await userFor(sender);
          await say(user, botNick, text);
          if (sendsFailing) await goOffline(sender);
        },

        async group(sender, text, options) {
          await drops;
          const user = await userFor(sender);
          await join(user, channel);
          await botInChannel(0);
          const line = options.mention ? `${botNick}: ${text}` : text;
          await roundTrip(user, () => user.say(channel, line));
        },

        sent(): SentMessage[] {
          const messages: SentMessage[] = [];
          for (const user of everyUser) {
            for (const message of user.messages) {
              if (message.kind !== 'privmsg' || !isBot(message.from)) continue;
              if (isChannelName(message.target)) {
                // Everyone in the channel gets a copy: count the watcher's.
                if (user === watcher && sameNick(message.target, channel)) messages.push({ chatId: channel, text: message.text, at: message.at });
              } else {
                messages.push({ chatId: message.target.toLowerCase(), text: message.text, at: message.at });
              }
            }
          }
          return messages.sort((a, b) => a.at - b.at);
        },

        typing: () => [],

        failSends() {
          throw new Error('IRC servers do not answer a message with 429 or 5xx (harness.sendFailures is false)');
        },

        setSendsFailing(on) {
          sendsFailing = on;
          if (on) return;
          const back = offline;
          offline = [];
          for (const person of back) void track(userFor(person));
        },

        async malformed() {
          await drops;
          const mallory = await connectUser(`m${n}${randomBytes(2).toString('hex')}`);
          try {
            await roundTrip(mallory, () => {
              mallory.sendRaw(`PRIVMSG ${botNick} :\x01\x01`); // CTCP without a command
              mallory.sendRaw(`PRIVMSG ${botNick} :\x01XYZZY plugh\x01`); // a CTCP nobody knows
              mallory.sendRaw(`PRIVMSG ${botNick} :\x01PING 12345`); // CTCP without its closing \x01
              mallory.sendRaw(`PRIVMSG ${botNick} :`); // empty text (ngircd relays it)
              mallory.sendRaw(`PRIVMSG ${botNick} :\x02\x0304,05\x0f`); // formatting codes only
              mallory.sendRaw(`NOTICE ${botNick} :notices are never answered`);
            });
          } finally {
            await mallory.quit();
          }
        },
      };
    },

    invalidAccountSettings() {
      accounts += 1;
      return { host, port: locked.port, nick: `hearthbad${accounts}`, password: 'not-the-password' };
    },

    dropConnections() {
      // A bot that is not online (e.g. its gateway was killed) cannot be disconnected: that is fine.
      drops = track(Promise.all(botNicks.map((nick) => server.disconnectNick(nick, 'dropped by the test harness').catch(() => undefined))));
    },

    async close() {
      await Promise.all([...background]);
      const users = await Promise.all([...online.values()].map((user) => user.catch(() => undefined)));
      await Promise.all([...users, ...watchers].map((user) => user?.quit('bye').catch(() => undefined)));
      await Promise.all([server.stop(), locked.stop()]);
    },
  };
}
