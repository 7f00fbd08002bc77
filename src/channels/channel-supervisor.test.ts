import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Channel, ChannelRunContext, OutboundMessage } from '../contracts/channel.js';
import { ChannelError } from '../contracts/channel.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { createChannelSupervisor } from './channel-supervisor.js';
import { createOutboxDispatcher } from './outbox-dispatcher.js';

const quiet = { info() {}, warn() {}, error() {} };

async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A scripted adapter: each run follows the next behaviour in the list. */
function scriptedChannel(behaviours: Array<(context: ChannelRunContext) => Promise<void>>) {
  const runs: number[] = [];
  let closed = 0;
  const channel: Channel = {
    platform: 'test',
    accountId: 'default',
    format: { maxMessageLength: 100, render: (text) => text },
    run(context) {
      runs.push(Date.now());
      const behaviour = behaviours[Math.min(runs.length - 1, behaviours.length - 1)];
      return behaviour ? behaviour(context) : Promise.resolve();
    },
    send: async () => ({ messageId: '1' }),
    close: async () => {
      closed += 1;
    },
  };
  return { channel, runs, closed: () => closed };
}

/** Connects and keeps showing signs of life until aborted. */
const healthy = (context: ChannelRunContext) =>
  new Promise<void>((resolve) => {
    context.connected({ botId: '1', botName: '@bot' });
    const timer = setInterval(() => context.progress(), 10);
    context.signal.addEventListener('abort', () => {
      clearInterval(timer);
      resolve();
    });
  });

describe('channel supervisor', () => {
  it('reconnects a connection that stalls, and stays connected while it shows signs of life', async () => {
    // Time is the supervisor's injected clock: it moves only when the fake platform says so, so a
    // busy machine can neither fake a stall nor hide one.
    const clock = { now: 1_000_000 };
    let signs = 0;
    /** Connects, then time passes with no sign of life. */
    const stallsAsTimePasses = (context: ChannelRunContext) =>
      new Promise<void>((resolve) => {
        context.connected({ botId: '1', botName: '@bot' });
        clock.now += 101;
        context.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    /** Connects and shows a sign of life every 60 ms of clock time, far past the stall timeout. */
    const livesOn = (context: ChannelRunContext) =>
      new Promise<void>((resolve) => {
        context.connected({ botId: '1', botName: '@bot' });
        const timer = setInterval(() => {
          clock.now += 60;
          signs += 1;
          context.progress();
        }, 5);
        context.signal.addEventListener('abort', () => {
          clearInterval(timer);
          resolve();
        });
      });
    const scripted = scriptedChannel([stallsAsTimePasses, livesOn]);
    const supervisor = createChannelSupervisor({
      channel: scripted.channel,
      receive: async () => {},
      onConnected: () => {},
      logger: quiet,
      now: () => clock.now,
      reconnectDelayMs: 10,
      reconnectMaxDelayMs: 20,
      stallTimeoutMs: 100,
      authHint: 'fix the token',
    });
    supervisor.start();
    await until(() => scripted.runs.length === 2, 'a reconnect after the stall');
    assert.equal(supervisor.status().reconnects, 1);
    assert.match(supervisor.status().lastError ?? '', /stalled/u);
    const from = clock.now;
    await until(() => signs >= 40, 'forty signs of life');
    assert.ok(clock.now - from >= 20 * 100, 'the clock ran well past the stall timeout');
    assert.equal(scripted.runs.length, 2, 'a live connection is left alone');
    assert.equal(supervisor.status().state, 'connected');
    await supervisor.stop();
    assert.equal(supervisor.status().state, 'stopped');
    assert.equal(scripted.closed(), 1);
  });

  it('marks refused credentials unhealthy with the suggested fix and does not hammer the platform', async () => {
    const scripted = scriptedChannel([() => Promise.reject(new ChannelError('auth', 'Telegram refused: 401 Unauthorized'))]);
    const supervisor = createChannelSupervisor({
      channel: scripted.channel,
      receive: async () => {},
      onConnected: () => {},
      logger: quiet,
      reconnectDelayMs: 10,
      reconnectMaxDelayMs: 20,
      stallTimeoutMs: 1000,
      authRetryMs: 60_000,
      authHint: 'set a new botToken',
    });
    supervisor.start();
    await until(() => supervisor.status().state === 'unhealthy', 'the account to be unhealthy');
    const status = supervisor.status();
    assert.equal(status.authenticated, false);
    assert.equal(status.suggestedAction, 'set a new botToken');
    assert.match(status.lastError ?? '', /401/u);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(scripted.runs.length, 1, 'no retry storm after an auth failure');
    await supervisor.stop();
  });

  it('reconnect() drops a live connection and connects again at once, without counting a failure', async () => {
    const scripted = scriptedChannel([healthy]);
    const supervisor = createChannelSupervisor({
      channel: scripted.channel,
      receive: async () => {},
      onConnected: () => {},
      logger: quiet,
      reconnectDelayMs: 60_000,
      reconnectMaxDelayMs: 60_000,
      stallTimeoutMs: 1000,
      authHint: 'fix the token',
    });
    supervisor.start();
    await until(() => supervisor.status().state === 'connected', 'the first connection');
    supervisor.reconnect('health check: functional degraded');
    await until(() => scripted.runs.length === 2 && supervisor.status().state === 'connected', 'the second connection', 1000);
    const status = supervisor.status();
    assert.equal(status.reconnects, 1);
    assert.equal(status.lastError, null, 'a requested reconnect is not an error');
    assert.equal(status.suggestedAction, null);
    await supervisor.stop();
  });

  it('reconnect() cuts short the wait after refused credentials (re-authentication)', async () => {
    const scripted = scriptedChannel([() => Promise.reject(new ChannelError('auth', 'Telegram refused: 401 Unauthorized')), healthy]);
    const supervisor = createChannelSupervisor({
      channel: scripted.channel,
      receive: async () => {},
      onConnected: () => {},
      logger: quiet,
      reconnectDelayMs: 10,
      reconnectMaxDelayMs: 20,
      stallTimeoutMs: 1000,
      authRetryMs: 600_000,
      authHint: 'set a new botToken',
    });
    supervisor.start();
    await until(() => supervisor.credentialsRefused(), 'the credentials to be refused');
    assert.equal(scripted.runs.length, 1);
    supervisor.reconnect('health check: application down');
    await until(() => supervisor.status().state === 'connected', 'the account to log in again', 1000);
    assert.equal(supervisor.credentialsRefused(), false);
    assert.equal(supervisor.status().authenticated, true);
    await supervisor.stop();
  });

  it('backs off exponentially (with jitter) while the connection keeps failing', async () => {
    const scripted = scriptedChannel([() => Promise.reject(new ChannelError('transient', 'connection refused'))]);
    const supervisor = createChannelSupervisor({
      channel: scripted.channel,
      receive: async () => {},
      onConnected: () => {},
      logger: quiet,
      reconnectDelayMs: 20,
      reconnectMaxDelayMs: 160,
      stallTimeoutMs: 1000,
      authHint: '',
      random: () => 1,
    });
    supervisor.start();
    await until(() => scripted.runs.length >= 5, 'five attempts');
    await supervisor.stop();
    const gaps = scripted.runs.slice(1).map((at, index) => at - (scripted.runs[index] as number));
    assert.ok((gaps[0] as number) >= 15 && (gaps[3] as number) >= 140, `gaps grow: ${gaps.join(', ')}`);
  });
});

describe('outbox dispatcher', () => {
  it('resumes a split message after the pieces already sent, and gives up on refusals visibly', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const sent: OutboundMessage[] = [];
    let failOnPiece: number | null = 2;
    const channel: Channel = {
      platform: 'test',
      accountId: 'default',
      format: { maxMessageLength: 40, render: (text) => text },
      run: async () => {},
      async send(message) {
        if (message.target.chatId === 'gone') throw new ChannelError('rejected', 'chat not found');
        const piece = Number(message.idempotencyKey.split(':')[1]);
        if (piece === failOnPiece) {
          failOnPiece = null;
          throw new ChannelError('transient', '502 bad gateway');
        }
        sent.push(message);
        return { messageId: String(sent.length) };
      },
      close: async () => {},
    };
    const dispatcher = createOutboxDispatcher({
      store,
      account: () => ({ channel, isConnected: () => true, textChunkLimit: undefined, noteOutbound() {}, noteSendError() {} }),
      logger: quiet,
      retryDelayMs: 10,
      retryMaxDelayMs: 20,
    });
    const text = Array.from({ length: 5 }, (_, i) => `Sentence number ${i} is here.`).join(' ');
    const entry = await store.enqueueOutbox({ channel: 'test:default', target: '{"chatId":"7"}', text, sessionKey: 's', runId: 'r', now: Date.now() });
    const lost = await store.enqueueOutbox({ channel: 'test:default', target: '{"chatId":"gone"}', text: 'hello', sessionKey: 's', runId: 'r2', now: Date.now() });
    const done = dispatcher.waitForDelivery(entry.id, 3000);
    const refused = dispatcher.waitForDelivery(lost.id, 3000);
    dispatcher.enqueue(entry);
    dispatcher.enqueue(lost);
    assert.deepEqual(await done, { delivered: true, error: '502 bad gateway' });
    assert.deepEqual(await refused, { delivered: false, error: 'chat not found' });
    const keys = sent.map((message) => message.idempotencyKey);
    assert.deepEqual(keys, [...new Set(keys)], 'no piece was sent twice');
    assert.equal(sent.map((message) => message.text).join(' '), text);
    assert.deepEqual(await store.undeliveredOutbox(10), []);
    assert.deepEqual(await store.outboxCounts(), [{ channel: 'test:default', pending: 0, failed: 1 }]);
    dispatcher.stop();
    await store.close();
  });
});
