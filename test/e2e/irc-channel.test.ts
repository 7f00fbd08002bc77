/**
 * IRC end to end: the channel contract against a real ngircd, plus what only IRC has: TLS with a
 * self-signed certificate, nick collisions, and long replies cut into 512-byte lines and paced
 * under the server's flood limit. The adapter's pure parts (splitting, normalizing) are checked too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createIrcChannel, normalizeIrcMessage, splitIrcText } from '../../src/channels/irc/irc-channel.js';
import { type ChannelRunContext, isChannelError } from '../../src/contracts/channel.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';
import { connectIrcUser, type IrcUser } from '../support/irc/irc-user.js';
import { type NgircdServer, startNgircd } from '../support/irc/ngircd-server.js';
import { createIrcHarness } from '../support/platforms/irc-harness.js';
import { runChannelContract } from './channel-contract.js';

runChannelContract('irc', createIrcHarness);

const TEST = { timeout: 60_000 };

describe('irc: splitting and normalizing', () => {
  test('every line fits the byte budget, no character is cut, and nothing is lost', () => {
    const cjk = '漢字かな交じり文'.repeat(40);
    const family = '👩‍👩‍👧‍👦'.repeat(30);
    const words = Array.from({ length: 90 }, (_, i) => `word${i}`).join(' ');
    const lines = splitIrcText(`first\n\n${cjk}\r\n${family}\n   indented\n${words}  \n\x01CTCP?\x01`, 100);
    for (const line of lines) assert.ok(Buffer.byteLength(line) <= 100, `${Buffer.byteLength(line)} bytes`);
    assert.equal(lines[0], 'first');
    const cjkLines = lines.filter((line) => line.includes('漢') || line.includes('文'));
    assert.equal(cjkLines.join(''), cjk);
    const familyLines = lines.filter((line) => line.includes('👩'));
    assert.equal(familyLines.join(''), family);
    for (const line of familyLines) assert.match(line, /^(👩‍👩‍👧‍👦)+$/u, 'a grapheme is never split');
    assert.ok(lines.includes('   indented'), 'leading spaces stay');
    assert.equal(lines.filter((line) => line.startsWith('word')).join(' '), words);
    assert.equal(lines.at(-1), 'CTCP?', 'control characters (CTCP delimiters) are removed');
    assert.ok(!lines.some((line) => line.trim() === ''), 'no empty lines');
  });

  test('private and channel messages, mentions, ACTION, CTCP and the bot itself', () => {
    const bot = { nick: 'hearth_', aliases: ['hearth'], isChannel: (name: string) => name.startsWith('#'), fallbackId: 'x1' };
    const event = (target: string, message: string, nick = 'Ada', kind: 'privmsg' | 'action' = 'privmsg') => ({ kind, nick, fromServer: false, target, message, tags: {} });
    const direct = normalizeIrcMessage(event('hearth_', 'hi there'), bot);
    assert.ok('message' in direct);
    assert.deepEqual(direct.message.chat, { id: 'ada', kind: 'direct' });
    assert.deepEqual(direct.message.sender, { id: 'ada', name: 'Ada' });
    assert.equal(direct.message.messageId, 'x1');
    const group = normalizeIrcMessage(event('#Hearth', '\x02hearth\x02: what time is it?'), bot);
    assert.ok('message' in group);
    assert.deepEqual(group.message.chat, { id: '#hearth', kind: 'group', title: '#Hearth' });
    assert.equal(group.message.text, 'hearth: what time is it?', 'formatting is removed, the address stays');
    assert.equal(group.message.mentionsBot, true, 'the configured nick counts while the bot uses an alternative');
    for (const [text, mentioned] of [
      ['HEARTH_, hi', true],
      ['ask @hearth_ maybe', true],
      ['hearthling is not me', false],
      ['hearth__ is someone else', false],
      ['nobody here', false],
    ] as const) {
      const result = normalizeIrcMessage(event('#c', text), bot);
      assert.ok('message' in result);
      assert.equal(result.message.mentionsBot, mentioned, text);
    }
    const action = normalizeIrcMessage(event('#c', 'waves at hearth', 'Ada', 'action'), bot);
    assert.ok('message' in action);
    assert.equal(action.message.text, '/me waves at hearth');
    const unterminated = normalizeIrcMessage(event('#c', '\x01ACTION nods'), bot);
    assert.ok('message' in unterminated && unterminated.message.text === '/me nods');
    assert.deepEqual(normalizeIrcMessage(event('hearth_', 'echo', 'Hearth_'), bot), { skip: null }, 'the bot itself');
    assert.deepEqual(normalizeIrcMessage({ ...event('hearth_', 'motd'), fromServer: true, nick: undefined }, bot), { skip: null });
    assert.deepEqual(normalizeIrcMessage({ kind: 'ctcp', nick: 'Ada', fromServer: false, target: 'hearth_', message: 'VERSION', ctcpType: 'VERSION', tags: {} }, bot), { skip: null });
    assert.match(String((normalizeIrcMessage({ kind: 'ctcp', nick: 'Ada', fromServer: false, target: 'hearth_', message: '', ctcpType: null, tags: {} }, bot) as { skip: string }).skip), /CTCP/u);
    assert.match(String((normalizeIrcMessage(event('hearth_', '\x01PING 1'), bot) as { skip: string }).skip), /closing/u);
    assert.match(String((normalizeIrcMessage(event('hearth_', '\x0304,05\x0f'), bot) as { skip: string }).skip), /empty/u);
  });
});

describe('irc: beyond the contract', () => {
  let server: NgircdServer;
  let model: FakeModelServer;
  const homes: string[] = [];
  const gateways: TestGateway[] = [];
  const users: IrcUser[] = [];
  const fast = { reconnectDelayMs: 50, reconnectMaxDelayMs: 500, dmPolicy: 'open', allowFrom: ['*'] };

  before(async () => {
    // ngircd's normal flood pacing stays on here (the contract's server has it off).
    server = await startNgircd();
    model = await startFakeModelServer();
  });
  after(async () => {
    for (const gateway of gateways) await gateway.kill();
    for (const user of users) await user.quit().catch(() => undefined);
    await server?.stop();
    await model?.close();
    for (const home of homes) removeHome(home);
  });

  async function start(irc: Record<string, unknown>) {
    const home = makeHome();
    homes.push(home);
    const gateway = await startTestGateway({
      home,
      config: {
        models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0, timeoutMs: 30_000 } } },
        agents: { defaults: { model: 'fake/echo' } },
        channels: { irc },
      },
    });
    gateways.push(gateway);
    return gateway;
  }

  async function user(nick: string, tls = false) {
    const connected = await connectIrcUser({ host: server.host, port: tls ? server.tlsPort : server.port, nick, ...(tls ? { tls: true, ca: server.caCertPem } : {}) });
    users.push(connected);
    return connected;
  }

  type Status = { accountId: string; state: string; connected: boolean; botName: string | null; lastError: string | null; suggestedAction: string | null; reconnects: number };
  async function status(gateway: TestGateway, accountId = 'default') {
    const result = await runCli(['channels', 'status', '--json'], testEnv(gateway.home, { HEARTH_GATEWAY_URL: gateway.url }));
    return (JSON.parse(result.stdout) as Status[]).find((item) => item.accountId === accountId);
  }

  test('irc: TLS with tlsInsecure connects to a self-signed server (SASL configured, server without SASL); without tlsInsecure the account is unhealthy with a fix', TEST, async () => {
    const gateway = await start({
      ...fast,
      host: server.host,
      port: server.tlsPort,
      tls: true,
      accounts: {
        // ngircd has no SASL (no "sasl" capability): the bot carries on without it.
        insecure: { nick: 'hearthtls', tlsInsecure: true, sasl: { account: 'hearth', password: 'secret' } },
        strict: { nick: 'hearthstrict' },
      },
    });
    await waitFor(async () => (await status(gateway, 'insecure'))?.connected, 'the TLS account to connect');
    const ada = await user('adatls', true);
    ada.say('hearthtls', 'over tls');
    await ada.waitForMessage((message) => message.from === 'hearthtls' && message.text.includes('echo: over tls'), 15_000);
    const strict = await waitFor(async () => {
      const item = await status(gateway, 'strict');
      return item?.state === 'unhealthy' ? item : null;
    }, 'the strict account to be unhealthy');
    assert.match(strict.lastError ?? '', /certificate/iu);
    assert.match(strict.suggestedAction ?? '', /tlsInsecure/u);
  });

  test('irc: when the nick is taken the bot registers as nick_ and still answers, also to its configured name', TEST, async () => {
    const holder = await user('hearthnc');
    const bob = await user('bobnc');
    await bob.join('#nc');
    const gateway = await start({ ...fast, host: server.host, port: server.port, nick: 'hearthnc', channels: ['#nc'], groups: ['#nc'] });
    const item = await waitFor(async () => {
      const current = await status(gateway);
      return current?.connected ? current : null;
    }, 'the bot to connect');
    assert.equal(item.botName, 'hearthnc_');
    await bob.waitForLine((line) => line.command === 'JOIN' && line.source === 'hearthnc_', 10_000);

    bob.say('hearthnc_', 'who are you?');
    await bob.waitForMessage((message) => message.from === 'hearthnc_' && message.text.includes('echo: who are you?'), 15_000);
    bob.say('#nc', 'hearthnc: are you still you?');
    const answer = await bob.waitForMessage((message) => message.from === 'hearthnc_' && message.target === '#nc', 15_000);
    assert.match(answer.text, /are you still you/u);
    assert.equal(holder.messages.filter((message) => message.from === 'hearthnc_').length, 0, 'the holder of the nick gets nothing');
  });

  test('irc (adapter alone): takes its nick back when the holder leaves; refusals fail the send with the right kind', TEST, async () => {
    const holder = await user('hearthrg');
    const channel = createIrcChannel({ accountId: 'default', host: server.host, port: server.port, nick: 'hearthrg', nickRegainMs: 500, floodDelayMs: 0 });
    const controller = new AbortController();
    const names: string[] = [];
    const context: ChannelRunContext = {
      signal: controller.signal,
      receive: async () => {},
      reject: () => {},
      connected: (info) => names.push(info.botName),
      progress: () => {},
    };
    const running = channel.run(context);
    try {
      await waitFor(() => names.includes('hearthrg_'), 'registration under the alternative nick');
      await holder.quit();
      await waitFor(() => names.at(-1) === 'hearthrg', 'the configured nick taken back');

      const message = (chatId: string) => ({ target: { chatId }, text: 'hello', idempotencyKey: `k-${chatId}` });
      const kindOf = async (promise: Promise<unknown>) => {
        try {
          await promise;
          return 'sent';
        } catch (error) {
          return isChannelError(error) ? `${error.kind}: ${error.message}` : String(error);
        }
      };
      assert.match(await kindOf(channel.send(message('nobody_here'), AbortSignal.timeout(10_000))), /^transient: nobody_here is not on IRC/u);
      assert.match(await kindOf(channel.send(message('#nowhere'), AbortSignal.timeout(10_000))), /^rejected: /u);
      assert.match(await kindOf(channel.send(message('bad target'), AbortSignal.timeout(10_000))), /^rejected: /u);
      const bob = await user('bobrg');
      assert.equal(await kindOf(channel.send({ ...message('bobrg'), text: 'line one\n\nline two' }, AbortSignal.timeout(10_000))), 'sent');
      await bob.waitForMessage((received) => received.from === 'hearthrg' && received.text === 'line two');
      assert.deepEqual(
        bob.messages.filter((received) => received.from === 'hearthrg').map((received) => received.text),
        ['line one', 'line two'],
      );
    } finally {
      controller.abort();
      await running;
      await channel.close();
    }
    await assert.rejects(channel.send({ target: { chatId: 'bobrg' }, text: 'late', idempotencyKey: 'k-late' }, AbortSignal.timeout(1000)), /not connected/u);
  });

  test('irc: a long reply arrives as paced lines within 512 bytes, in order, nothing cut; the bot stays connected', TEST, async () => {
    const gateway = await start({ ...fast, host: server.host, port: server.port, nick: 'hearthfl' });
    await waitFor(async () => (await status(gateway))?.connected, 'the bot to connect');
    const ada = await user('adafl');
    const words = Array.from({ length: 110 }, (_, i) => `w${String(i).padStart(3, '0')}`);
    const cjk = '漢字かな交じり文'.repeat(37);
    const family = '👩‍👩‍👧‍👦'.repeat(30);
    const items = Array.from({ length: 10 }, (_, i) => `- item ${i}`);
    const long = ['Here it comes.', words.join(' '), cjk, family, ...items, 'The end.'].join('\n\n');
    model.script({ text: long, chunkSize: 4000 });
    ada.say('hearthfl', 'write a lot');
    await ada.waitForMessage((message) => message.from === 'hearthfl' && message.text === 'The end.', 40_000);
    const lines = ada.messages.filter((message) => message.from === 'hearthfl' && message.kind === 'privmsg');

    for (const line of lines) {
      assert.ok(Buffer.byteLength(line.raw) <= 510, `a line of ${Buffer.byteLength(line.raw)} bytes plus CR LF`);
      assert.ok(!line.raw.endsWith('[CUT]'), 'the server cut a line');
    }
    const texts = lines.map((line) => line.text);
    assert.equal(texts[0], 'Here it comes.');
    assert.equal(texts.filter((text) => /^w\d{3}/u.test(text)).join(' '), words.join(' '));
    assert.equal(texts.filter((text) => text.includes('漢') || text.includes('文')).join(''), cjk);
    const familyLines = texts.filter((text) => text.includes('👩'));
    assert.ok(familyLines.length >= 2);
    assert.equal(familyLines.join(''), family);
    assert.deepEqual(
      texts.filter((text) => text.startsWith('- item')),
      items,
    );
    assert.equal(texts.at(-1), 'The end.');

    // The gateway paces itself (4 lines at once, then one every 500 ms): the server never has to.
    const span = (lines.at(-1)?.at ?? 0) - (lines[0]?.at ?? 0);
    assert.ok(span >= (lines.length - 4) * 500 * 0.9, `${lines.length} lines in ${span} ms`);
    const after = await status(gateway);
    assert.equal(after?.connected, true);
    assert.equal(after?.reconnects, 0, 'the bot was never disconnected');
  });
});
