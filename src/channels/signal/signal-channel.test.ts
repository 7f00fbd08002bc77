import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { fakeAci, startFakeSignalServer } from '../../../test/support/fake-signal/fake-signal-server.js';
import type { ChannelProbeResult, ChannelRunContext, InboundMessage } from '../../contracts/channel.js';
import { isChannelError } from '../../contracts/channel.js';
import { createSignalChannel } from './signal-channel.js';
import { normalizeSignalEvent } from './signal-envelope.js';

const BOT = '+15550100001';
const BOT_ACI = fakeAci(0xb0001);
const ada = { number: '+15550001001', uuid: fakeAci(1001), name: 'Ada' };

async function withDaemon(run: (server: Awaited<ReturnType<typeof startFakeSignalServer>>) => Promise<void>, options: { keepAliveMs?: number } = {}) {
  const server = await startFakeSignalServer(options);
  server.addAccount(BOT, BOT_ACI);
  server.addPerson(ada);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

/** Runs the channel until `until` says so; collects what it received. */
function runChannel(channel: ReturnType<typeof createSignalChannel>) {
  const controller = new AbortController();
  const received: InboundMessage[] = [];
  const rejected: string[] = [];
  let connected = false;
  const context: ChannelRunContext = {
    signal: controller.signal,
    receive: async (message) => {
      received.push(message);
    },
    reject: (reason) => rejected.push(reason),
    connected: () => {
      connected = true;
    },
    progress: () => undefined,
  };
  const done = channel.run(context);
  return { received, rejected, done, isConnected: () => connected, stop: () => controller.abort() };
}

async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Probes the channel until `wanted` accepts the answer (within 5 s), and returns that answer. */
async function probeUntil(channel: ReturnType<typeof createSignalChannel>, wanted: (result: ChannelProbeResult) => boolean, what: string): Promise<ChannelProbeResult> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const result = await channel.probe?.(AbortSignal.timeout(2000));
    if (result && wanted(result)) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last probe: ${result?.status}, ${result?.detail})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const kindOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isChannelError(error) ? { kind: error.kind, retryAfterMs: error.retryAfterMs, message: error.message } : { kind: 'other', message: String(error) };
  }
};

test('signal: send errors map to what the outbox can act on', { timeout: 10_000 }, async () => {
  await withDaemon(async (server) => {
    const channel = createSignalChannel({ accountId: 'default', account: BOT, rpcUrl: server.rpcUrl });
    const signal = AbortSignal.timeout(5000);
    const unknown = await kindOf(channel.send({ target: { chatId: '+15550009999' }, text: 'hello', idempotencyKey: '1:0' }, signal));
    assert.equal((unknown as { kind: string }).kind, 'rejected', 'an unregistered recipient is not retried');
    assert.match((unknown as { message: string }).message, /not registered/u);
    const noGroup = await kindOf(channel.send({ target: { chatId: 'bm90IGEgZ3JvdXAgaWQgYXQgYWxsIGhlcmUgcmVhbGx5IQ==' }, text: 'hello', idempotencyKey: '2:0' }, signal));
    assert.equal((noGroup as { kind: string }).kind, 'rejected');

    server.failSends(BOT, [{ kind: 'rate-limit', retryAfterSeconds: 7 }, { kind: 'network' }]);
    const limited = await kindOf(channel.send({ target: { chatId: ada.uuid }, text: 'hello', idempotencyKey: '3:0' }, signal));
    assert.deepEqual([(limited as { kind: string }).kind, (limited as { retryAfterMs: number }).retryAfterMs], ['rate-limited', 7000]);
    const network = await kindOf(channel.send({ target: { chatId: ada.uuid }, text: 'hello', idempotencyKey: '3:0' }, signal));
    assert.equal((network as { kind: string }).kind, 'transient');
    const receipt = await channel.send({ target: { chatId: ada.number }, text: 'hello at last', idempotencyKey: '3:0' }, signal);
    assert.match(receipt.messageId, /^\d+:/u);
    assert.deepEqual(server.sent.map((item) => [item.chatId, item.message, item.isGroup]), [[ada.number, 'hello at last', false]]);

    const stranger = createSignalChannel({ accountId: 'other', account: '+15559999999', rpcUrl: server.rpcUrl });
    const refused = await kindOf(stranger.send({ target: { chatId: ada.uuid }, text: 'hi', idempotencyKey: '4:0' }, signal));
    assert.equal((refused as { kind: string }).kind, 'auth', 'an account the daemon does not serve is refused credentials');
  });
});

test('signal: a daemon that is not running is a transient failure; an account it does not serve is auth', { timeout: 10_000 }, async () => {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address() as { port: number };
      probe.close(() => resolve(address.port));
    });
  });
  const down = createSignalChannel({ accountId: 'default', account: BOT, rpcUrl: `http://127.0.0.1:${port}` });
  const failure = await kindOf(runChannel(down).done);
  assert.equal((failure as { kind: string }).kind, 'transient');
  const probed = await kindOf(down.probe?.(AbortSignal.timeout(2000)) ?? Promise.resolve());
  assert.equal((probed as { kind: string }).kind, 'transient', 'the probe fails the same way');
  assert.match((probed as { message: string }).message, /could not reach the signal-cli daemon/u);

  await withDaemon(async (server) => {
    const stranger = createSignalChannel({ accountId: 'default', account: '+15559999999', rpcUrl: server.rpcUrl });
    const refused = await kindOf(runChannel(stranger).done);
    assert.equal((refused as { kind: string }).kind, 'auth');
    assert.match((refused as { message: string }).message, /account does not exist/u);
  });
});

test('signal: the probe proves the daemon and the account, and calls a silent events stream deaf', { timeout: 10_000 }, async () => {
  await withDaemon(
    async (server) => {
      const channel = createSignalChannel({ accountId: 'default', account: BOT, rpcUrl: server.rpcUrl, silenceLimitMs: 300 });
      const running = runChannel(channel);
      await until(() => running.isConnected(), 'the connection');
      const healthy = await channel.probe?.(AbortSignal.timeout(2000));
      assert.equal(healthy?.status, 'ok', healthy?.detail);
      assert.match(healthy?.detail ?? '', /signal-cli 0\.13\.22 answers for \+15550100001; the events stream is open/u);

      server.setSilent(true);
      const deaf = await probeUntil(channel, (result) => result.status !== 'ok', 'the probe to notice the silence');
      assert.equal(deaf.status, 'degraded');
      assert.match(deaf.detail ?? '', /events stream has sent nothing/u);
      assert.ok(deaf.suggestedAction);

      server.setSilent(false);
      const heard = await probeUntil(channel, (result) => result.status === 'ok', 'keep-alives to arrive again');
      assert.match(heard.detail ?? '', /the events stream is open/u);
      running.stop();
      await running.done;
    },
    { keepAliveMs: 50 },
  );
});

test('signal: direct and group messages, mentions, quotes and attachments are normalised', () => {
  const self = { account: BOT, uuid: BOT_ACI };
  const envelope = (dataMessage: Record<string, unknown>) => ({
    account: BOT,
    envelope: { source: ada.number, sourceNumber: ada.number, sourceUuid: ada.uuid, sourceName: 'Ada', sourceDevice: 1, timestamp: 1700000000123, dataMessage },
  });
  const direct = normalizeSignalEvent(envelope({ timestamp: 1700000000123, message: 'hi there', attachments: [{ contentType: 'image/jpeg', filename: 'cat.jpg', id: 'att1', size: 2048 }] }), self);
  assert.ok('message' in direct);
  assert.deepEqual(direct.message, {
    messageId: `1700000000123:${ada.uuid}`,
    chat: { id: ada.uuid, kind: 'direct' },
    sender: { id: ada.uuid, name: 'Ada', username: ada.number },
    text: 'hi there',
    mentionsBot: false,
    replyToBot: false,
    attachments: [{ kind: 'image', id: 'att1', name: 'cat.jpg', mimeType: 'image/jpeg', sizeBytes: 2048 }],
  });

  const group = normalizeSignalEvent(
    envelope({
      message: 'hey \uFFFC and \uFFFC, look',
      groupInfo: { groupId: 'R3JvdXA=', groupName: 'Friends', revision: 2, type: 'DELIVER' },
      mentions: [
        { name: 'Bob', number: '+15550001002', uuid: fakeAci(1002), start: 4, length: 1 },
        { name: BOT, number: null, uuid: BOT_ACI, start: 10, length: 1 },
      ],
      quote: { id: 1699999999000, author: BOT, authorNumber: BOT, authorUuid: BOT_ACI, text: 'earlier' },
    }),
    self,
  );
  assert.ok('message' in group);
  assert.deepEqual(group.message.chat, { id: 'R3JvdXA=', kind: 'group', title: 'Friends' });
  assert.equal(group.message.text, `hey @Bob and @${BOT}, look`);
  assert.equal(group.message.mentionsBot, true, 'the mention by ACI names the bot');
  assert.equal(group.message.replyToBot, true);
  assert.equal(group.message.replyToMessageId, `1699999999000:${BOT_ACI}`);

  const voice = normalizeSignalEvent(envelope({ message: null, attachments: [{ contentType: 'audio/aac', id: 'v1' }] }), self);
  assert.ok('message' in voice);
  assert.deepEqual(voice.message.attachments, [{ kind: 'audio', id: 'v1', mimeType: 'audio/aac' }]);

  // Nothing to answer: receipts, typing, reactions and the account's own messages are skipped quietly.
  assert.deepEqual(normalizeSignalEvent({ account: BOT, envelope: { sourceUuid: ada.uuid, timestamp: 1, receiptMessage: { isRead: true } } }, self), { skip: null });
  assert.deepEqual(normalizeSignalEvent(envelope({ reaction: { emoji: '👍' } }), self), { skip: null });
  assert.deepEqual(normalizeSignalEvent({ account: BOT, envelope: { sourceNumber: BOT, sourceUuid: BOT_ACI, timestamp: 1, dataMessage: { message: 'me' } } }, self), { skip: null });
  assert.deepEqual(normalizeSignalEvent({ account: BOT, envelope: { timestamp: 1, dataMessage: { message: 'who?' } } }, self), { skip: 'a message without a sender' });
});

test('signal: received messages come from the events stream; the reply to a group quotes its message', { timeout: 10_000 }, async () => {
  await withDaemon(async (server) => {
    const group = server.addGroup('Friends');
    const channel = createSignalChannel({ accountId: 'default', account: BOT, rpcUrl: server.rpcUrl });
    const running = runChannel(channel);
    await until(() => running.isConnected(), 'the connection');
    const at = server.receive(BOT, ada, '\uFFFC ping', { group, mentions: [{ name: BOT, number: BOT, uuid: BOT_ACI, start: 0, length: 1 }] });
    const message = await until(() => running.received[0], 'the group message');
    assert.equal(message.chat.id, group.id);
    assert.equal(message.mentionsBot, true);
    await channel.send({ target: { chatId: message.chat.id, replyToMessageId: message.messageId }, text: 'pong', idempotencyKey: '1:0' }, AbortSignal.timeout(2000));
    await channel.typing?.({ chatId: group.id }, AbortSignal.timeout(2000));
    assert.deepEqual(server.sent.map((item) => [item.chatId, item.isGroup, item.message, item.quote]), [[group.id, true, 'pong', { timestamp: at, author: ada.uuid }]]);
    assert.deepEqual(server.typing.map((item) => item.chatId), [group.id]);
    running.stop();
    await running.done;
  });
});

test('signal: a daemon whose events belong to another number is refused as the wrong account', { timeout: 10_000 }, async () => {
  await withDaemon(async (server) => {
    const channel = createSignalChannel({ accountId: 'default', account: BOT, rpcUrl: server.rpcUrl });
    const running = runChannel(channel);
    await until(() => running.isConnected(), 'the connection');
    // A single-account daemon (`signal-cli -a +OTHER daemon`) ignores the account parameter; its events name its own number.
    server.receiveRaw(BOT, { account: '+15550199999', envelope: { sourceNumber: ada.number, sourceUuid: ada.uuid, timestamp: 9, dataMessage: { message: 'for someone else' } } });
    const refused = await kindOf(running.done);
    assert.equal((refused as { kind: string }).kind, 'auth');
    assert.match((refused as { message: string }).message, /serves \+15550199999, not \+15550100001/u);
    assert.deepEqual(running.received, [], 'the other number\'s message is not handed over');
  });
});
