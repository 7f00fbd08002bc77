/**
 * Checks the ngircd test harness against the real irc-framework client (the library Hearth's IRC
 * channel uses), and pins down the behaviour the product has to cope with: TLS options, nick
 * collisions, line length, server-side flood pacing, forced disconnects and reconnects.
 * The tests share one server and run concurrently; the reconnect test has its own server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, type ClientEvents, type ClientOptions, type NickInUseEvent, type ReconnectingEvent } from 'irc-framework';
import { connectIrcUser, type IrcUser } from './irc-user.js';
import { type NgircdServer, startNgircd } from './ngircd-server.js';

const HOST = '127.0.0.1';
const TEST = { timeout: 30_000 };

type EventArg<E extends keyof ClientEvents> = Parameters<ClientEvents[E]>[0];

/** The next `event` from `client` that matches, bounded by `timeoutMs`. */
function nextEvent<E extends keyof ClientEvents>(
  client: Client,
  event: E,
  predicate: (arg: EventArg<E>) => boolean = () => true,
  timeoutMs = 5000,
): Promise<EventArg<E>> {
  return new Promise((resolve, reject) => {
    const listener = ((arg: EventArg<E>) => {
      if (!predicate(arg)) return;
      clearTimeout(timer);
      client.off(event, listener);
      resolve(arg);
    }) as ClientEvents[E];
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`no matching "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on(event, listener);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Connects an irc-framework client (no auto-reconnect unless asked) and waits for registration. */
async function connectBot(options: ClientOptions & { nick: string; port: number }, timeoutMs = 10_000): Promise<Client> {
  const bot = new Client();
  const registered = nextEvent(bot, 'registered', () => true, timeoutMs);
  bot.connect({ host: HOST, username: 'hearth', gecos: 'Hearth test bot', auto_reconnect: false, ...options });
  try {
    await registered;
  } catch (error) {
    await closeBot(bot);
    throw error;
  }
  return bot;
}

/** QUIT (bounded wait for the close), then cancel any pending reconnect and drop listeners. */
async function closeBot(bot: Client): Promise<void> {
  if (bot.connected) {
    const closed = nextEvent(bot, 'close', () => true, 3000).catch(() => undefined);
    bot.quit('test done');
    await closed;
  }
  bot.connection.end();
  bot.removeAllListeners();
}

async function joinBot(bot: Client, channel: string): Promise<void> {
  const joined = nextEvent(bot, 'join', (e) => e.nick === bot.user.nick && e.channel.toLowerCase() === channel.toLowerCase());
  bot.join(channel);
  await joined;
}

describe('ngircd test server with irc-framework', { concurrency: true }, () => {
  let server!: NgircdServer;

  before(async () => {
    server = await startNgircd();
  });

  after(async () => {
    await server?.stop();
  });

  it('plain: the bot gets a private message and a channel mention, and its replies reach the user', TEST, async () => {
    const bot = await connectBot({ port: server.port, nick: 'hearthbot_a' });
    const user = await connectIrcUser({ host: HOST, port: server.port, nick: 'alice_a' });
    try {
      assert.equal(bot.user.nick, 'hearthbot_a');
      assert.equal(bot.network.server, server.serverName);
      assert.equal(bot.network.options['NICKLEN'], '30');
      await joinBot(bot, '#plain');
      await user.join('#plain');

      const privateMessage = nextEvent(bot, 'privmsg', (e) => e.nick === 'alice_a');
      user.say('hearthbot_a', 'hello privately');
      const dm = await privateMessage;
      assert.equal(dm.target, 'hearthbot_a');
      assert.equal(dm.message, 'hello privately');
      assert.equal(dm.ident, '~alice_a'); // no IDENT: ngircd marks the user name with "~"
      assert.equal(dm.hostname, HOST);
      dm.reply('private answer');
      const privateAnswer = await user.waitForMessage((m) => m.from === 'hearthbot_a' && m.text === 'private answer');
      assert.equal(privateAnswer.target, 'alice_a');
      assert.equal(privateAnswer.kind, 'privmsg');

      const channelMessage = nextEvent(bot, 'privmsg', (e) => e.target === '#plain');
      user.say('#plain', 'hearthbot_a: are you there?');
      const mention = await channelMessage;
      assert.equal(mention.nick, 'alice_a');
      assert.equal(mention.message, 'hearthbot_a: are you there?');
      mention.reply('channel answer');
      const channelAnswer = await user.waitForMessage((m) => m.target === '#plain' && m.text === 'channel answer');
      assert.equal(channelAnswer.from, 'hearthbot_a');

      bot.notice('alice_a', 'a notice');
      const notice = await user.waitForMessage((m) => m.kind === 'notice' && m.from === 'hearthbot_a');
      assert.equal(notice.text, 'a notice');
    } finally {
      await user.quit();
      await closeBot(bot);
    }
  });

  it('TLS: irc-framework connects with rejectUnauthorized:false; default verification refuses the self-signed cert', TEST, async () => {
    const bot = await connectBot({ port: server.tlsPort, tls: true, rejectUnauthorized: false, nick: 'hearthbot_tls' });
    // The scripted user verifies the server against the harness CA.
    const user = await connectIrcUser({ host: HOST, port: server.tlsPort, tls: true, ca: server.caCertPem, nick: 'alice_tls' });
    const strict = new Client();
    try {
      const received = nextEvent(bot, 'privmsg', (e) => e.nick === 'alice_tls');
      user.say('hearthbot_tls', 'over tls');
      (await received).reply('tls answer');
      await user.waitForMessage((m) => m.from === 'hearthbot_tls' && m.text === 'tls answer');

      const socketClose = nextEvent(strict, 'socket close');
      const finalClose = nextEvent(strict, 'close');
      strict.connect({ host: HOST, port: server.tlsPort, tls: true, nick: 'hearthbot_strict', auto_reconnect: false });
      const error = await socketClose;
      assert.ok(error instanceof Error, 'the socket closes with the TLS error');
      assert.match(error.message, /self[- ]signed/i);
      assert.equal(await finalClose, true);
    } finally {
      await user.quit();
      await closeBot(bot);
      await closeBot(strict);
    }
  });

  it('nick collision: 433 arrives as "nick in use"; irc-framework does not pick another nick by itself', TEST, async () => {
    const holder = await connectIrcUser({ host: HOST, port: server.port, nick: 'hearth' });
    const bot = new Client();
    try {
      const sent: string[] = [];
      const inUse: NickInUseEvent[] = [];
      bot.on('raw', (e) => {
        if (!e.from_server) sent.push(e.line);
      });
      bot.on('nick in use', (e) => {
        inUse.push(e);
        bot.changeNick(`${e.nick}_`);
      });
      const registered = nextEvent(bot, 'registered');
      bot.connect({ host: HOST, port: server.port, nick: 'hearth', auto_reconnect: false });
      assert.equal((await registered).nick, 'hearth_');
      assert.equal(bot.user.nick, 'hearth_');
      assert.deepEqual(
        inUse.map(({ nick, reason }) => ({ nick, reason })),
        [{ nick: 'hearth', reason: 'Nickname already in use' }],
      );
      assert.deepEqual(sent.filter((line) => line.startsWith('NICK ')), ['NICK hearth', 'NICK hearth_']);

      const received = nextEvent(bot, 'privmsg', (e) => e.nick === 'hearth');
      holder.say('hearth_', 'who are you?');
      assert.equal((await received).target, 'hearth_');
    } finally {
      await holder.quit();
      await closeBot(bot);
    }
  });

  it('line length: 512-byte relayed lines arrive intact, longer ones end in [CUT]; say() splits at 350 bytes; >512 sent gets the bot killed', TEST, async () => {
    const bot = await connectBot({ port: server.port, nick: 'hearthbot_len' });
    const user = await connectIrcUser({ host: HOST, port: server.port, nick: 'alice_len' });
    try {
      await joinBot(bot, '#len');
      await user.join('#len');
      bot.say('#len', 'probe');
      const probe = await user.waitForMessage((m) => m.text === 'probe');
      const prefix = probe.raw.split(' ')[0] ?? '';
      assert.equal(prefix, ':hearthbot_len!~hearth@127.0.0.1');
      // What the user receives is ":<prefix> PRIVMSG #len :<text>\r\n", at most 512 bytes.
      const maxIntact = 510 - Buffer.byteLength(`${prefix} PRIVMSG #len :`);
      assert.equal(maxIntact, 463);

      bot.raw(`PRIVMSG #len :${'a'.repeat(maxIntact)}`);
      const intact = await user.waitForMessage((m) => m.text.startsWith('aaa'));
      assert.equal(intact.text, 'a'.repeat(maxIntact));
      assert.equal(Buffer.byteLength(intact.raw), 510);

      bot.raw(`PRIVMSG #len :${'b'.repeat(maxIntact + 1)}`);
      const cut = await user.waitForMessage((m) => m.text.startsWith('bbb'));
      assert.equal(cut.text, `${'b'.repeat(maxIntact - 5)}[CUT]`);
      assert.equal(Buffer.byteLength(cut.raw), 510);

      const words = Array.from({ length: 120 }, (_, i) => `word${String(i).padStart(4, '0')}`);
      const longText = words.join(' ');
      assert.equal(Buffer.byteLength(longText), 1079);
      bot.say('#len', longText);
      await user.waitForMessage((m) => m.text.includes('word0119'), 10_000);
      const pieces = user.messages.filter((m) => m.text.startsWith('word')).map((m) => m.text);
      assert.equal(pieces.length, 4);
      assert.ok(pieces.every((piece) => Buffer.byteLength(piece) <= 350));
      assert.equal(pieces.join(' '), longText);

      const error = nextEvent(bot, 'irc error', (e) => e.error === 'irc', 10_000);
      const closed = nextEvent(bot, 'close', () => true, 10_000);
      bot.raw(`PRIVMSG #len :${'x'.repeat(497)}`); // 511 bytes + CR LF
      assert.equal((await error).reason, 'Request too long');
      await closed;
      assert.ok(!user.messages.some((m) => m.text.startsWith('xxx')));
    } finally {
      await user.quit();
      await closeBot(bot);
    }
  });

  it('flood: 30 lines sent at once all arrive, in order, paced ~3 per second; the bot stays connected', TEST, async (t) => {
    const bot = await connectBot({ port: server.port, nick: 'hearthbot_fl' });
    const user = await connectIrcUser({ host: HOST, port: server.port, nick: 'alice_fl' });
    try {
      let socketClosed = false;
      bot.on('socket close', () => {
        socketClosed = true;
      });
      await joinBot(bot, '#flood');
      await user.join('#flood');
      await sleep(1100); // let the join's penalty pass, so the burst starts from a clean slate
      const start = Date.now();
      for (let i = 0; i < 30; i++) bot.say('#flood', `flood line ${i}`);
      await user.waitForMessage((m) => m.text === 'flood line 29', 20_000);
      const lines = user.messages.filter((m) => m.from === 'hearthbot_fl' && m.text.startsWith('flood line '));
      assert.deepEqual(
        lines.map((m) => m.text),
        Array.from({ length: 30 }, (_, i) => `flood line ${i}`),
      );
      const offsets = lines.map((m) => m.at - start);
      t.diagnostic(`arrival offsets (ms): ${offsets.join(', ')}`);
      // ngircd lets a burst through until ~256 bytes or >3 queued commands, then handles 3 commands
      // per second on its own one-second tick, which can fall anywhere in the first 900 ms: the
      // burst plus at most one tick's 3 lines.
      const firstSecond = offsets.filter((ms) => ms < 900).length;
      assert.ok(firstSecond >= 3 && firstSecond <= 13, `${firstSecond} lines arrived before pacing started`);
      assert.ok((offsets[29] ?? 0) >= 5000, `the rest is paced at about 3 lines per second (took ${offsets[29]} ms)`);
      assert.equal(socketClosed, false);
      assert.equal(bot.connected, true);
    } finally {
      await user.quit();
      await closeBot(bot);
    }
  });

  it('disconnectNick: an operator KILL closes the bot with an ERROR line; unknown nicks are reported', TEST, async () => {
    const bot = await connectBot({ port: server.port, nick: 'hearthbot_kill' });
    const user = await connectIrcUser({ host: HOST, port: server.port, nick: 'alice_kill' });
    try {
      await joinBot(bot, '#kill');
      await user.join('#kill');
      const error = nextEvent(bot, 'irc error', (e) => e.error === 'irc', 10_000);
      const closed = nextEvent(bot, 'close', () => true, 10_000);
      await server.disconnectNick('hearthbot_kill', 'test kill');
      assert.match((await error).reason ?? '', /^KILLed by op[0-9a-f]+: test kill$/);
      await closed;
      const quit = await user.waitForLine((l) => l.command === 'QUIT' && l.source === 'hearthbot_kill');
      assert.match(quit.params[0] ?? '', /test kill/);
      await assert.rejects(server.disconnectNick('nobody_here'), /no such nick/);
    } finally {
      await user.quit();
      await closeBot(bot);
    }
  });

  it('SASL: ngircd 26 offers only the multi-prefix capability and has no AUTHENTICATE command', TEST, async () => {
    const bot = await connectBot({ port: server.port, nick: 'hearthbot_cap' });
    const user = await connectIrcUser({ host: HOST, port: server.port, nick: 'alice_cap' });
    try {
      assert.deepEqual([...bot.network.cap.available.keys()], ['multi-prefix']);
      user.sendRaw('CAP LS 302');
      const caps = await user.waitForLine((l) => l.command === 'CAP');
      assert.equal(caps.params[caps.params.length - 1], 'multi-prefix');
      user.sendRaw('AUTHENTICATE PLAIN');
      const unknown = await user.waitForLine((l) => l.command === '421');
      assert.equal(unknown.params[1], 'AUTHENTICATE');
    } finally {
      await user.quit();
      await closeBot(bot);
    }
  });

  it('restart: irc-framework reconnects by itself (after >5 s registered) but the bot must rejoin channels', TEST, async () => {
    const own = await startNgircd({ password: 'letmein' });
    const bot = new Client();
    let alice: IrcUser | undefined;
    try {
      const registrations: number[] = [];
      const reconnecting: ReconnectingEvent[] = [];
      const saslFailures: string[] = [];
      const errors: string[] = [];
      bot.on('registered', () => {
        registrations.push(Date.now());
        bot.join('#reconnect'); // irc-framework does not rejoin channels after a reconnect
      });
      bot.on('reconnecting', (e) => reconnecting.push(e));
      bot.on('sasl failed', (e) => saslFailures.push(e.reason));
      bot.on('irc error', (e) => errors.push(e.reason ?? e.error));
      bot.on('privmsg', (e) => {
        if (e.message === 'still there?') e.reply('yes, back');
      });
      const firstJoin = nextEvent(bot, 'join', (e) => e.nick === 'hearthbot_rc');
      bot.connect({
        host: HOST,
        port: own.port,
        nick: 'hearthbot_rc',
        password: 'letmein',
        auto_reconnect: true,
        auto_reconnect_max_wait: 1000,
        auto_reconnect_max_retries: 10,
      });
      await firstJoin;
      // With a server password and no `account`, irc-framework also tries SASL PLAIN; ngircd has no SASL.
      assert.deepEqual(saslFailures, ['capability_missing']);

      // A connection that was registered for less than 5 s is not reconnected.
      await sleep(Math.max(0, (registrations[0] ?? 0) + 5300 - Date.now()));
      const socketClose = nextEvent(bot, 'socket close');
      const rejoined = nextEvent(bot, 'join', (e) => e.nick === 'hearthbot_rc', 15_000);
      await own.restart();
      await socketClose;
      await rejoined;
      assert.equal(registrations.length, 2);
      assert.ok(errors.includes('Server going down'), `ERROR line seen: ${errors.join(' | ')}`);
      assert.equal(reconnecting.length, 1);
      const wait = reconnecting[0]?.wait ?? 0;
      assert.ok(wait >= 2000 && wait <= 7000, `first retry after 1 s (capped) + 1-6 s jitter, was ${wait} ms`);

      alice = await connectIrcUser({ host: HOST, port: own.port, password: 'letmein', nick: 'alice_rc' });
      await alice.join('#reconnect');
      alice.say('#reconnect', 'still there?');
      await alice.waitForMessage((m) => m.from === 'hearthbot_rc' && m.text === 'yes, back');
    } finally {
      await alice?.quit();
      await closeBot(bot);
      await own.stop();
    }
  });
});
