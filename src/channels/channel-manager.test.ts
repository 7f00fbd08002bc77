import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Channel, ChannelRunContext, InboundMessage, OutboundMessage } from '../contracts/channel.js';
import { ChannelError } from '../contracts/channel.js';
import type { Store } from '../contracts/store.js';
import type { TurnEvent, TurnRequest } from '../sessions/turn-service.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { ChannelAccount } from './channel-accounts.js';
import { type ChannelManagerOptions, type ChannelRoutingConfig, createChannelManager } from './channel-manager.js';

const quiet = { info() {}, warn() {}, error() {} };
const dir = mkdtempSync(join(tmpdir(), 'hearth-channel-manager-'));
let counter = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

interface FakeAccount {
  context: ChannelRunContext | null;
  connected: Promise<ChannelRunContext>;
  sent: OutboundMessage[];
  /** Returns an error to fail a send with, or null to deliver it. */
  refuse: (message: OutboundMessage) => Error | null;
}

/** Telegram accounts served by in-memory fakes: each records what it sent and lets a test push messages in. */
function fakePlatform() {
  const accounts = new Map<string, FakeAccount>();
  const create = async (account: ChannelAccount): Promise<Channel> => {
    let onConnected: (context: ChannelRunContext) => void = () => {};
    const fake: FakeAccount = { context: null, connected: new Promise((resolve) => (onConnected = resolve)), sent: [], refuse: () => null };
    accounts.set(account.accountId, fake);
    return {
      platform: account.platform,
      accountId: account.accountId,
      format: { maxMessageLength: 4096, render: (text) => text },
      run: (context) =>
        new Promise<void>((resolve) => {
          fake.context = context;
          context.connected({ botId: `bot-${account.accountId}`, botName: `@${account.accountId}_bot` });
          onConnected(context);
          context.signal.addEventListener('abort', () => resolve(), { once: true });
        }),
      async send(message) {
        const error = fake.refuse(message);
        if (error) throw error;
        fake.sent.push(message);
        return { messageId: String(fake.sent.length) };
      },
      close: async () => {},
    };
  };
  const support = { create, stallTimeoutMs: () => 60_000, authHint: () => 'set botToken', missingConfig: () => null };
  return { accounts, support };
}

function fakeTurns() {
  const submitted: TurnRequest[] = [];
  const listeners = new Set<(event: TurnEvent) => void>();
  return {
    submitted,
    submit: async (request: TurnRequest) => {
      submitted.push(request);
      return { runId: `run_${submitted.length}`, sessionKey: request.sessionKey, duplicate: false, status: 'queued' as const };
    },
    subscribe(listener: (event: TurnEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit: (event: TurnEvent) => {
      for (const listener of listeners) listener(event);
    },
  };
}

function direct(senderId: string, text: string, messageId = `m${counter++}`): InboundMessage {
  return { messageId, chat: { id: `dm-${senderId}`, kind: 'direct' }, sender: { id: senderId, name: `Person ${senderId}` }, text, mentionsBot: false, replyToBot: false, attachments: [] };
}

async function setUp(homeSettings: Record<string, unknown> = {}, extra: Partial<ChannelManagerOptions> = {}) {
  const store: Store = createSqliteStore({ path: join(dir, `manager-${counter++}.sqlite`) });
  const platform = fakePlatform();
  const turns = fakeTurns();
  const manager = createChannelManager({ store, turns, platforms: { telegram: platform.support }, logger: quiet, ...extra });
  const config: ChannelRoutingConfig = {
    channels: { telegram: { accounts: { home: { botToken: 'home-token', ...homeSettings }, work: { botToken: 'work-token' } } } } as unknown as ChannelRoutingConfig['channels'],
    bindings: [],
    dmScope: 'per-channel-peer',
    defaultAgentId: 'main',
    agentIds: ['main'],
  };
  await manager.apply(config);
  const account = async (id: string) => {
    const fake = platform.accounts.get(id);
    assert.ok(fake, `account ${id} was created`);
    const context = await fake.connected;
    return { fake, receive: (message: InboundMessage) => context.receive(message) };
  };
  const close = async () => {
    await manager.stop();
    await store.close();
  };
  return { store, manager, turns, account, close };
}

const codeIn = (text: string | undefined) => /\*\*([A-Z2-9]{8})\*\*/u.exec(text ?? '')?.[1];

describe('channel manager', () => {
  it('tells the plugins\' message_received hooks of each message that becomes a turn, and of no other', async () => {
    const seen: { channel: string; sessionKey: string; text: string }[] = [];
    const t = await setUp({ dmPolicy: 'open', allowFrom: ['*'] }, { messageReceived: async (payload) => void seen.push(payload) });
    try {
      const home = await t.account('home');
      const work = await t.account('work');
      await work.receive(direct('bob', 'let me in'));
      await home.receive(direct('ada', 'hello there'));
      assert.equal(t.turns.submitted.length, 1);
      assert.deepEqual(seen, [{ channel: 'telegram:home', sessionKey: t.turns.submitted[0]!.sessionKey, text: 'hello there' }], 'the pairing request on the other account is not a turn');
    } finally {
      await t.close();
    }
  });

  it('approves a pairing code for the account it was asked on only, and says so through that account', async () => {
    const t = await setUp();
    try {
      const asked = await t.account('work');
      const other = await t.account('home');
      await asked.receive(direct('ada', 'hi'));
      await t.manager.deliveryIdle();
      assert.equal(t.turns.submitted.length, 0, 'an unknown sender is not answered');
      assert.equal(asked.fake.sent.length, 1);
      const code = codeIn(asked.fake.sent[0]?.text);
      assert.ok(code, `a pairing code is sent: ${asked.fake.sent[0]?.text}`);
      assert.deepEqual(asked.fake.sent[0]?.target, { chatId: 'dm-ada' });

      const approved = await t.manager.approvePairing(code.toLowerCase());
      assert.equal(approved?.accountId, 'work');
      await t.manager.deliveryIdle();
      assert.match(asked.fake.sent[1]?.text ?? '', /You are approved/u);
      assert.equal(other.fake.sent.length, 0, 'the other account says nothing');

      await asked.receive(direct('ada', 'hello again'));
      assert.equal(t.turns.submitted.length, 1, 'the approved sender is answered on that account');
      assert.match(t.turns.submitted[0]?.options?.untrustedInput ?? '', /from ada, who is not named in allowFrom/u, 'a sender approved by pairing is not the owner');
      assert.equal(t.turns.submitted[0]?.replyTo?.channel, 'telegram:work');

      await other.receive(direct('ada', 'and here?'));
      await t.manager.deliveryIdle();
      assert.equal(t.turns.submitted.length, 1, 'an approval on one account does not open another');
      assert.ok(codeIn(other.fake.sent[0]?.text), 'the other account asks for its own pairing');
      assert.equal(await t.manager.approvePairing(code), null, 'a code is used once');
    } finally {
      await t.close();
    }
  });

  it('a direct message from a sender named in allowFrom is the owner\'s input (no untrusted mark)', async () => {
    const t = await setUp({ dmPolicy: 'allowlist', allowFrom: ['ada'] });
    try {
      await (await t.account('home')).receive(direct('ada', 'remember the boat'));
      assert.equal(t.turns.submitted.length, 1);
      assert.equal(t.turns.submitted[0]?.options?.untrustedInput, undefined);
    } finally {
      await t.close();
    }
  });

  it('submits a redelivered platform message with the same idempotency key, so it is answered once', async () => {
    const t = await setUp({ groupPolicy: 'open' });
    try {
      const home = await t.account('home');
      const message = { ...direct('bob', 'hi', '42'), chat: { id: 'group-1', kind: 'group' as const }, mentionsBot: true };
      await home.receive(message);
      await home.receive({ ...message });
      assert.equal(t.turns.submitted.length, 2);
      assert.deepEqual(t.turns.submitted[0]?.idempotency, { scope: 'channel:telegram:home', key: 'group-1:42' });
      assert.deepEqual(t.turns.submitted[1]?.idempotency, t.turns.submitted[0]?.idempotency);
      assert.equal(t.turns.submitted[0]?.text, 'Person bob: hi');
      assert.match(t.turns.submitted[0]?.options?.untrustedInput ?? '', /group message on telegram:home/u, 'what the run writes to memory is untrusted');
      assert.deepEqual(JSON.parse(t.turns.submitted[0]?.replyTo?.target ?? '{}'), { chatId: 'group-1', replyToMessageId: '42' });
    } finally {
      await t.close();
    }
  });

  it('counts refused and waiting replies per account in the channel status', async () => {
    const t = await setUp();
    try {
      const home = await t.account('home');
      home.fake.refuse = () => new ChannelError('rejected', '403 Forbidden: bot was blocked by the user');
      await home.receive(direct('eve', 'hi'));
      await t.manager.deliveryIdle();
      const sent = await t.manager.send({ channel: 'telegram', accountId: 'home', to: 'dm-eve', text: 'hello', timeoutMs: 5000 });
      assert.deepEqual({ delivered: sent.delivered, pending: sent.pending, error: sent.error }, { delivered: false, pending: false, error: '403 Forbidden: bot was blocked by the user' });
      const status = await t.manager.status();
      const byKey = Object.fromEntries(status.map((entry) => [`${entry.channel}:${entry.accountId}`, entry.outbox]));
      assert.deepEqual(byKey, { 'telegram:home': { pending: 0, failed: 2 }, 'telegram:work': { pending: 0, failed: 0 } });
      assert.equal(status.find((entry) => entry.accountId === 'home')?.state, 'connected');
    } finally {
      await t.close();
    }
  });

  it('names the running accounts when asked to send through one that does not exist', async () => {
    const t = await setUp();
    try {
      await assert.rejects(t.manager.send({ channel: 'telegram', accountId: 'nope', to: 'x', text: 'hi', timeoutMs: 100 }), /No running channel account telegram:nope\. Running or configured: telegram:home, telegram:work\./u);
    } finally {
      await t.close();
    }
  });
});
