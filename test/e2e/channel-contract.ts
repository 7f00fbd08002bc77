import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

/** A person on the platform. */
export interface Person {
  id: string;
  name: string;
}

/** A message the bot sent, as the platform server recorded it. */
export interface SentMessage {
  chatId: string;
  text: string;
  threadId?: string;
  at: number;
}

export type SendFailure = { status: 429; retryAfterSeconds: number } | { status: 500 };

/** One bot account on a local platform server, and the people and chats around it. */
export interface PlatformAccount {
  /** The account's settings for `channels.<platform>` (credentials and server URLs). */
  settings: Record<string, unknown>;
  /** A person writes to the bot directly. */
  dm(sender: Person, text: string): Promise<void>;
  /** A person writes in the test group (optionally mentioning the bot, optionally in a thread). */
  group(sender: Person, text: string, options: { mention: boolean; thread?: boolean }): Promise<void>;
  /** The group's id (for `groups` allowlists). */
  groupId: string;
  /** The sender id the platform reports for `person` (what allowFrom lists). */
  senderId(person: Person): string;
  /** The chat a direct reply to `sender` lands in. */
  dmChatId(sender: Person): string;
  sent(): SentMessage[];
  /** Typing indicators the bot showed. */
  typing(): { chatId: string; at: number }[];
  /** The next sends fail like this, in order. */
  failSends(failures: SendFailure[]): void;
  /** Every send fails with a server error while on. */
  setSendsFailing(on: boolean): void;
  /** Delivers payloads the adapter cannot understand. */
  malformed(): Promise<void>;
}

export interface PlatformHarness {
  /** A built-in platform, or a plugin's channel. */
  platform: string;
  /** Readies a new home before its gateway starts (e.g. installs the plugin that provides the channel). */
  prepareHome?(home: string): void;
  /** The platform's limit for one message. */
  maxMessageLength: number;
  /** The platform has a typing indicator. */
  typing: boolean;
  /** The server can answer sends with 429/5xx (IRC has no such replies). */
  sendFailures: boolean;
  /** The platform has group chats (default true; WhatsApp's Cloud API delivers no group messages to business numbers). */
  groups?: boolean;
  /**
   * For a platform that pushes to the gateway (webhooks: Feishu, WhatsApp): told where each
   * gateway the contract starts listens and with which `channels.<platform>` settings, before any
   * message is sent; from then on it sends each account's events there.
   */
  gatewayStarted?(gatewayUrl: string, channelSettings: Record<string, unknown>): void | Promise<void>;
  newAccount(): Promise<PlatformAccount>;
  /** Settings for an account whose credentials the server refuses. */
  invalidAccountSettings(): Record<string, unknown>;
  /** Drops every open connection from bots (they must reconnect). */
  dropConnections(): void;
  close(): Promise<void>;
}

const ada: Person = { id: '1001', name: 'Ada' };
const bob: Person = { id: '1002', name: 'Bob' };

/**
 * The behaviour every channel adapter must show, end to end: the real gateway process, the
 * platform's official client library, and a local server speaking the platform's wire protocol.
 */
export function runChannelContract(platform: string, createHarness: () => Promise<PlatformHarness>): void {
  let harness: PlatformHarness;
  let model: FakeModelServer;
  const homes: string[] = [];
  const gateways: TestGateway[] = [];

  before(async () => {
    harness = await createHarness();
    model = await startFakeModelServer();
  });
  after(async () => {
    for (const gateway of gateways) await gateway.kill();
    await harness?.close();
    await model?.close();
    for (const home of homes) removeHome(home);
  });

  const fast = { typingIntervalMs: 100, reconnectDelayMs: 50, reconnectMaxDelayMs: 500 };

  async function start(channelSettings: Record<string, unknown>, options: { home?: string; extra?: Record<string, unknown> } = {}) {
    const home = options.home ?? makeHome();
    if (!options.home) {
      homes.push(home);
      harness.prepareHome?.(home);
    }
    const gateway = await startTestGateway({
      home,
      config: {
        models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0, timeoutMs: 30_000 } } },
        agents: { defaults: { model: 'fake/echo' } },
        channels: { [harness.platform]: channelSettings },
        ...options.extra,
      },
    });
    gateways.push(gateway);
    await harness.gatewayStarted?.(gateway.url, channelSettings);
    return gateway;
  }

  const cliEnv = (gateway: TestGateway) => testEnv(gateway.home, { HEARTH_GATEWAY_URL: gateway.url });

  async function channelStatus(gateway: TestGateway) {
    const result = await runCli(['channels', 'status', '--json'], cliEnv(gateway));
    return JSON.parse(result.stdout) as { channel: string; accountId: string; state: string; connected: boolean; authenticated: boolean; lastError: string | null; suggestedAction: string | null }[];
  }

  async function connected(gateway: TestGateway, accountId = 'default') {
    await waitFor(async () => (await channelStatus(gateway)).find((item) => item.accountId === accountId)?.connected, `${accountId} to connect`);
  }

  const replies = (account: PlatformAccount, chatId: string) => account.sent().filter((message) => message.chatId === chatId);

  test(`${platform}: an unknown sender gets a pairing code; once approved they are answered`, async () => {
    const account = await harness.newAccount();
    const gateway = await start({ ...account.settings, ...fast });
    await connected(gateway);
    await account.dm(ada, 'hello?');
    const codeMessage = await waitFor(() => replies(account, account.dmChatId(ada)).find((message) => /[A-HJ-NP-Z2-9]{8}/u.test(message.text)), 'a pairing code');
    const code = /([A-HJ-NP-Z2-9]{8})/u.exec(codeMessage.text)?.[1] ?? '';
    assert.equal(model.requests.filter((request) => JSON.stringify(request.body).includes('hello?')).length, 0, 'an unpaired message never reaches the model');

    const listed = await runCli(['pairing', 'list', '--json'], cliEnv(gateway));
    assert.equal((JSON.parse(listed.stdout) as { code: string; senderId: string }[]).find((item) => item.code === code)?.senderId, account.senderId(ada));
    const approved = await runCli(['pairing', 'approve', code.toLowerCase()], cliEnv(gateway));
    assert.equal(approved.code, 0, approved.stderr);
    await waitFor(() => replies(account, account.dmChatId(ada)).some((message) => /approved/iu.test(message.text)), 'the approval notice');

    await account.dm(ada, 'now can we talk');
    await waitFor(() => replies(account, account.dmChatId(ada)).some((message) => message.text.includes('echo: now can we talk')), 'the answer');
    const again = await runCli(['pairing', 'approve', code], cliEnv(gateway));
    assert.notEqual(again.code, 0, 'a code works once');
    assert.match(again.stderr, /no pending pairing request/iu);
  });

  test(`${platform}: allowlist answers listed senders only`, async () => {
    const account = await harness.newAccount();
    const gateway = await start({ ...account.settings, ...fast, dmPolicy: 'allowlist', allowFrom: [account.senderId(ada)] });
    await connected(gateway);
    await account.dm(bob, 'let me in');
    await account.dm(ada, 'hi from ada');
    await waitFor(() => replies(account, account.dmChatId(ada)).some((message) => message.text.includes('echo: hi from ada')), 'the answer to Ada');
    // Ada's later message was answered, so Bob's earlier one was handled (and ignored) by now.
    assert.deepEqual(replies(account, account.dmChatId(bob)), []);
  });

  test(`${platform}: a command that needs approval is asked in the chat; only the owner's /approve lets it run`, async () => {
    const account = await harness.newAccount();
    const exec = { security: 'allowlist', allow: [], ask: 'on-miss' };
    const gateway = await start(
      { ...account.settings, ...fast, dmPolicy: 'open', allowFrom: [account.senderId(ada), '*'] },
      { extra: { agents: { defaults: { model: 'fake/echo', tools: { exec } } } } },
    );
    await connected(gateway);
    model.script({ toolCalls: [{ name: 'exec', arguments: { command: 'echo approved from the chat' } }] });
    await account.dm(ada, 'please run it');
    // Some platforms (IRC) carry the question's lines as separate messages.
    const asked = () => replies(account, account.dmChatId(ada)).map((message) => message.text).join('\n');
    await waitFor(() => /Reply \/approve \w{6}/u.test(asked()), 'the approval question in the chat');
    const id = /Approval needed \((\w{6})\)/u.exec(asked())?.[1];
    assert.ok(id, asked());
    assert.match(asked(), new RegExp(`echo approved from the chat[\\s\\S]*/approve ${id}`, 'u'));

    await account.dm(bob, `/approve ${id}`);
    await waitFor(() => replies(account, account.dmChatId(bob)).find((message) => message.text.includes('Only the owner can answer approvals')), 'the refusal to Bob');
    await account.dm(ada, `/approve ${id}`);
    await waitFor(() => replies(account, account.dmChatId(ada)).find((message) => message.text.includes(`Approved ${id}`)), 'the confirmation to Ada');
    await waitFor(() => /tool said: Exit code 0 after \d+ ms\.\s+approved from the chat/u.test(asked()), 'the command to run and the turn to finish');
    const shown = JSON.parse((await runCli(['approvals', 'list', '--all', '--json'], cliEnv(gateway))).stdout) as { id: string; status: string; decidedBy: string }[];
    assert.deepEqual(shown.map((item) => [item.id, item.status, item.decidedBy]), [[id, 'approved', `${platform}:default:${account.senderId(ada)}`]]);
    assert.equal(model.requests.filter((request) => JSON.stringify(request.body).includes(`/approve ${id}`)).length, 0, 'the answers never reach the model');
  });

  test(`${platform}: in a group the bot answers only when mentioned`, async (t) => {
    if (harness.groups === false) {
      t.skip(`${platform} has no group chats`);
      return;
    }
    const account = await harness.newAccount();
    const gateway = await start({ ...account.settings, ...fast, groups: [account.groupId] });
    await connected(gateway);
    await account.group(ada, 'talking among ourselves', { mention: false });
    await account.group(bob, 'what time is it', { mention: true });
    const answer = await waitFor(() => replies(account, account.groupId).find((message) => message.text.includes('what time is it')), 'the answer in the group');
    assert.match(answer.text, /Bob/u, 'the model sees who spoke');
    assert.equal(replies(account, account.groupId).length, 1, 'the unmentioned message got no answer');
    assert.equal(model.requests.filter((request) => JSON.stringify(request.body).includes('among ourselves')).length, 0);
  });

  test(`${platform}: a long reply is split under the platform limit without breaking code blocks`, async () => {
    const account = await harness.newAccount();
    const gateway = await start({ ...account.settings, ...fast, dmPolicy: 'open', allowFrom: ['*'] });
    await connected(gateway);
    const code = ['```js', ...Array.from({ length: 40 }, (_, i) => `console.log("line ${i}");`), '```'].join('\n');
    const paragraphs = Array.from({ length: 30 }, (_, i) => `Paragraph ${i}: ${'lorem ipsum dolor sit amet '.repeat(12)}`);
    const long = [...paragraphs.slice(0, 15), code, ...paragraphs.slice(15)].join('\n\n');
    model.script({ text: long, chunkSize: 4000 });
    await account.dm(ada, 'write a lot');
    const pieces = await waitFor(() => {
      const got = replies(account, account.dmChatId(ada));
      return got.some((message) => message.text.includes('Paragraph 29')) ? got : null;
    }, 'every piece', 20_000);
    assert.ok(pieces.length >= Math.ceil(long.length / harness.maxMessageLength));
    for (const piece of pieces) assert.ok(piece.text.length <= harness.maxMessageLength, `a piece of ${piece.text.length} characters`);
    const joined = pieces.map((piece) => piece.text).join('\n');
    for (let i = 0; i < 30; i++) assert.equal(joined.split(`Paragraph ${i}:`).length, 2, `paragraph ${i} arrives exactly once`);
    for (let i = 0; i < 40; i++) assert.equal(joined.split(`line ${i}"`).length, 2, `code line ${i} arrives exactly once`);
    const codePieces = pieces.filter((piece) => piece.text.includes('console.log'));
    if (code.length <= harness.maxMessageLength) {
      assert.equal(codePieces.length, 1, 'the code block is not split when it fits in one message');
    } else {
      const order = Array.from({ length: 40 }, (_, i) => joined.indexOf(`line ${i}"`));
      assert.deepEqual(order, [...order].sort((a, b) => a - b), 'the code lines arrive in order');
      const first = pieces.indexOf(codePieces[0] as SentMessage);
      assert.deepEqual(pieces.slice(first, first + codePieces.length), codePieces, 'nothing arrives between the pieces of the code block');
    }
  });

  test(`${platform}: typing shows while the turn runs and stops after the reply and after an error`, async () => {
    const account = await harness.newAccount();
    const gateway = await start({ ...account.settings, ...fast, dmPolicy: 'open', allowFrom: ['*'] });
    await connected(gateway);
    model.script({ text: 'slow answer', chunkSize: 2, delayMs: 40 });
    await account.dm(ada, 'think about it');
    const reply = await waitFor(() => replies(account, account.dmChatId(ada)).find((message) => message.text.includes('slow answer')), 'the reply');
    if (harness.typing) assert.ok(account.typing().some((item) => item.chatId === account.dmChatId(ada) && item.at <= reply.at), 'typing was shown before the reply');

    model.script({ status: 500 });
    await account.dm(ada, 'this one fails');
    const failure = await waitFor(() => replies(account, account.dmChatId(ada)).find((message) => message.at > reply.at), 'the error reply');
    assert.match(failure.text, /model|provider|error|500/iu);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const late = account.typing().filter((item) => item.at > failure.at + 250);
    assert.deepEqual(late, [], 'no typing indicator after the turn ended');
  });

  test(`${platform}: rate limited (429 with retry-after) then success: delivered exactly once`, async (t) => {
    if (!harness.sendFailures) {
      t.skip(`${platform} servers do not answer sends with rate limits or server errors`);
      return;
    }
    const account = await harness.newAccount();
    const gateway = await start({ ...account.settings, ...fast, dmPolicy: 'open', allowFrom: ['*'] });
    await connected(gateway);
    account.failSends([{ status: 429, retryAfterSeconds: 1 }, { status: 500 }]);
    const startedAt = Date.now();
    await account.dm(ada, 'rate me');
    await waitFor(() => replies(account, account.dmChatId(ada)).some((message) => message.text.includes('echo: rate me')), 'the delivery after retries', 15_000);
    assert.ok(Date.now() - startedAt >= 1000, 'retry-after was honoured');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(replies(account, account.dmChatId(ada)).filter((message) => message.text.includes('echo: rate me')).length, 1);
  });

  test(`${platform}: the server drops the connection; the bot reconnects and nothing is lost`, async () => {
    const account = await harness.newAccount();
    const gateway = await start({ ...account.settings, ...fast, dmPolicy: 'open', allowFrom: ['*'] });
    await connected(gateway);
    await account.dm(ada, 'before the drop');
    await waitFor(() => replies(account, account.dmChatId(ada)).some((message) => message.text.includes('echo: before the drop')), 'the first answer');
    harness.dropConnections();
    await account.dm(ada, 'during the outage');
    await account.dm(ada, 'after the outage');
    await waitFor(() => replies(account, account.dmChatId(ada)).some((message) => message.text.includes('echo: after the outage')), 'the answer after reconnecting', 15_000);
    const texts = replies(account, account.dmChatId(ada)).map((message) => message.text);
    assert.equal(texts.filter((text) => text.includes('echo: during the outage')).length, 1);
    assert.equal(texts.filter((text) => text.includes('echo: after the outage')).length, 1);
  });

  test(`${platform}: kill -9 between the reply and its delivery: delivered once after restart`, async () => {
    const account = await harness.newAccount();
    const settings = { ...account.settings, ...fast, dmPolicy: 'open', allowFrom: ['*'] };
    const first = await start(settings);
    await connected(first);
    account.setSendsFailing(true);
    // The answer takes a moment, so a harness whose sends fail by the recipient going away (IRC)
    // has them gone before the reply is sent.
    model.script({ text: 'echo: deliver me later', chunkSize: 2, delayMs: 50 });
    await account.dm(ada, 'deliver me later');
    const home = first.home;
    // The reply is in the outbox once the model has answered and a send has been tried.
    await waitFor(() => model.requests.some((request) => JSON.stringify(request.body).includes('deliver me later')), 'the model call');
    // IRC servers answer a message to an absent nick with a penalty delay; allow for a slow machine.
    await waitFor(() => /delivery failed; will retry/u.test(first.output()), 'a failed delivery attempt', 30_000);
    await first.kill();
    account.setSendsFailing(false);
    const second = await start(settings, { home });
    await connected(second);
    await waitFor(() => replies(account, account.dmChatId(ada)).some((message) => message.text.includes('echo: deliver me later')), 'the delivery after restart', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(replies(account, account.dmChatId(ada)).filter((message) => message.text.includes('echo: deliver me later')).length, 1);
    assert.equal(model.requests.filter((request) => JSON.stringify(request.body).includes('deliver me later')).length, 1, 'the turn was not run again');
  });

  test(`${platform}: refused credentials mark only that account unhealthy, with a fix; the others work`, async () => {
    const good = await harness.newAccount();
    const gateway = await start({
      ...fast,
      dmPolicy: 'open',
      allowFrom: ['*'],
      accounts: { good: good.settings, bad: harness.invalidAccountSettings() },
    });
    await connected(gateway, 'good');
    const bad = await waitFor(async () => (await channelStatus(gateway)).find((item) => item.accountId === 'bad' && item.state === 'unhealthy'), 'the bad account to be unhealthy');
    assert.equal(bad.authenticated, false);
    assert.ok(bad.suggestedAction && bad.suggestedAction.length > 10, 'a suggested fix is shown');
    await good.dm(ada, 'still here?');
    await waitFor(() => replies(good, good.dmChatId(ada)).some((message) => message.text.includes('echo: still here?')), 'the good account to answer');
    const status = await runCli(['channels', 'status'], cliEnv(gateway));
    assert.match(status.stdout, /what to do: /u);
  });

  test(`${platform}: malformed platform payloads are logged and skipped; the next message is answered`, async () => {
    const account = await harness.newAccount();
    const gateway = await start({ ...account.settings, ...fast, dmPolicy: 'open', allowFrom: ['*'] });
    await connected(gateway);
    await account.malformed();
    await account.dm(ada, 'are you ok');
    await waitFor(() => replies(account, account.dmChatId(ada)).some((message) => message.text.includes('echo: are you ok')), 'the answer after bad payloads');
    assert.equal(gateway.child.exitCode, null, 'the gateway is still running');
    assert.match(gateway.output(), /skipped a platform payload/u);
  });
}
