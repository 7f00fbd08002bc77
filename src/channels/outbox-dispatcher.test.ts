import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Channel, OutboundMessage } from '../contracts/channel.js';
import { ChannelError } from '../contracts/channel.js';
import type { OutboxEntry, Store } from '../contracts/store.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { createOutboxDispatcher, renderPieces } from './outbox-dispatcher.js';
import { collectGarbage } from '../../test/support/collect-garbage.js';

const quiet = { info() {}, warn() {}, error() {} };
const dir = mkdtempSync(join(tmpdir(), 'hearth-outbox-'));
let counter = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

/** What a send does: succeed, or throw the error returned. */
type SendScript = (message: OutboundMessage, attempt: number) => Error | null;

function fakeChannel(script: SendScript = () => null, maxMessageLength = 100) {
  const sent: OutboundMessage[] = [];
  let attempts = 0;
  const channel: Channel = {
    platform: 'test',
    accountId: 'default',
    format: { maxMessageLength, render: (text) => text },
    run: () => Promise.resolve(),
    async send(message) {
      attempts += 1;
      const error = script(message, attempts);
      if (error) throw error;
      sent.push(message);
      return { messageId: String(sent.length) };
    },
    close: async () => {},
  };
  return { channel, sent, attempts: () => attempts };
}

/** Keeps what was logged; `unexpected()` lists the errors that are not a message given up. */
function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? '' });
  return {
    lines,
    logger: { info: at('info'), warn: at('warn'), error: at('error') },
    unexpected: () => lines.filter((line) => line.level === 'error' && !line.msg.startsWith('message given up')).map((line) => `${line.msg}: ${String(line.obj.err)}`),
  };
}

/**
 * A store whose failures move the fake clock to the moment of the retry (time passes while the
 * message waits), and that reports each failure it records.
 */
function harness(options: { script?: SendScript; maxMessageLength?: number; connected?: boolean; now?: number; maxAgeMs?: number; retryMaxDelayMs?: number; random?: number } = {}) {
  const store = createSqliteStore({ path: join(dir, `outbox-${counter++}.sqlite`) });
  const clock = { now: options.now ?? T0 };
  const failures: { id: number; error: string; at: number; retryAt: number | null }[] = [];
  const failureWaiters: (() => void)[] = [];
  const recording: Store = Object.create(store) as Store;
  recording.recordDeliveryFailure = async (id, failure) => {
    await store.recordDeliveryFailure(id, failure);
    failures.push({ id, error: failure.error, at: failure.now, retryAt: failure.retryAt });
    if (failure.retryAt !== null) clock.now = failure.retryAt;
    for (const resolve of failureWaiters.splice(0)) resolve();
  };
  const fake = fakeChannel(options.script, options.maxMessageLength);
  const log = recordingLogger();
  const state = { connected: options.connected ?? true, outbound: 0, sendErrors: [] as string[], failuresCounted: 0 };
  const dispatcher = createOutboxDispatcher({
    store: recording,
    account: (key) =>
      key === 'test:default'
        ? {
            channel: fake.channel,
            isConnected: () => state.connected,
            textChunkLimit: undefined,
            noteOutbound: () => {
              state.outbound += 1;
            },
            noteSendError: (message) => state.sendErrors.push(message),
          }
        : undefined,
    logger: log.logger,
    now: () => clock.now,
    random: () => options.random ?? 1,
    retryMaxDelayMs: options.retryMaxDelayMs ?? 300_000,
    ...(options.maxAgeMs !== undefined ? { maxAgeMs: options.maxAgeMs } : {}),
    onFailure: () => {
      state.failuresCounted += 1;
    },
  });
  const enqueue = (text: string, input: { target?: string; createdAt?: number; channel?: string } = {}) =>
    store.enqueueOutbox({
      channel: input.channel ?? 'test:default',
      target: input.target ?? JSON.stringify({ chatId: 'c1' }),
      text,
      sessionKey: 'agent:main:main',
      runId: `run_${counter++}`,
      now: input.createdAt ?? clock.now,
    });
  /** Resolves once `count` failures have been recorded. */
  const failuresReach = (count: number) =>
    new Promise<void>((resolve) => {
      if (failures.length >= count) return resolve();
      const check = () => (failures.length >= count ? resolve() : failureWaiters.push(check));
      failureWaiters.push(check);
    });
  const close = async () => {
    dispatcher.stop();
    await store.close();
    assert.deepEqual(log.unexpected(), [], 'no delivery ever fails unexpectedly');
  };
  return { store, clock, failures, failuresReach, fake, state, dispatcher, enqueue, close, log };
}

async function deliver(h: ReturnType<typeof harness>, entry: OutboxEntry, timeoutMs = 5000) {
  const result = h.dispatcher.waitForDelivery(entry.id, timeoutMs);
  h.dispatcher.enqueue(entry);
  return result;
}

describe('outbox dispatcher', () => {
  it('waits as long as the platform asks when its retry-after is longer than the backoff', async () => {
    const h = harness({ script: (_message, attempt) => (attempt === 1 ? new ChannelError('rate-limited', '429 Too Many Requests', { retryAfterMs: 45_000 }) : null) });
    try {
      const result = await deliver(h, await h.enqueue('hello'));
      assert.deepEqual(result, { delivered: true, error: '429 Too Many Requests' });
      assert.equal(h.failures.length, 1);
      assert.equal(h.failures[0]?.retryAt, T0 + 45_000, 'the retry waits the 45 s the platform asked for, not the 1 s backoff');
      assert.deepEqual(
        h.fake.sent.map((message) => message.text),
        ['hello'],
      );
      assert.equal(h.state.failuresCounted, 1);
      assert.deepEqual(h.state.sendErrors, ['429 Too Many Requests']);
    } finally {
      await h.close();
    }
  });

  it('keeps its own backoff when the platform asks for less, doubling it per attempt up to the cap', async () => {
    const h = harness({
      retryMaxDelayMs: 5000,
      script: (_message, attempt) => (attempt <= 5 ? new ChannelError('rate-limited', 'slow down', { retryAfterMs: 10 }) : null),
    });
    try {
      const result = await deliver(h, await h.enqueue('hello'));
      assert.equal(result?.delivered, true);
      const waits = h.failures.map((failure) => (failure.retryAt ?? 0) - failure.at);
      assert.deepEqual(waits, [1000, 2000, 4000, 5000, 5000]);
      const retries = h.log.lines.filter((line) => line.level === 'warn');
      assert.deepEqual(
        retries.map((line) => [line.msg, line.obj.attempts, line.obj.retryInMs, line.obj.err]),
        waits.map((wait, index) => ['delivery failed; will retry', index + 1, wait, 'slow down']),
      );
      const entries = await h.store.undeliveredOutbox(10);
      assert.equal(entries.length, 0, 'a delivered message leaves the outbox');
    } finally {
      await h.close();
    }
  });

  it('spreads retries between half and all of the backoff (jitter)', async () => {
    const h = harness({ random: 0, script: (_message, attempt) => (attempt <= 2 ? new ChannelError('transient', 'ECONNRESET') : null) });
    try {
      assert.equal((await deliver(h, await h.enqueue('hello')))?.delivered, true);
      assert.deepEqual(
        h.failures.map((failure) => (failure.retryAt ?? 0) - failure.at),
        [500, 1000],
      );
      const stored = h.failures.map((failure) => failure.error);
      assert.deepEqual(stored, ['ECONNRESET', 'ECONNRESET']);
    } finally {
      await h.close();
    }
  });

  it('gives up at once on a refusal, keeps it visible as failed, and sends nothing more', async () => {
    const h = harness({ script: () => new ChannelError('rejected', '403 Forbidden: bot was blocked by the user') });
    try {
      const entry = await h.enqueue('hello');
      const result = await deliver(h, entry);
      assert.deepEqual(result, { delivered: false, error: '403 Forbidden: bot was blocked by the user' });
      assert.equal(h.fake.attempts(), 1, 'a refused message is not retried');
      assert.deepEqual(h.failures, [{ id: entry.id, error: '403 Forbidden: bot was blocked by the user', at: T0, retryAt: null }]);
      assert.deepEqual(await h.store.outboxCounts(), [{ channel: 'test:default', pending: 0, failed: 1 }]);
      assert.deepEqual(await h.store.undeliveredOutbox(10), [], 'a given-up message is not loaded again after a restart');
      assert.equal(h.dispatcher.queuedCount(), 0);
      const logged = h.log.lines.find((line) => line.level === 'error');
      assert.equal(logged?.msg, 'message given up: it will not be delivered');
      assert.deepEqual(logged?.obj, { outboxId: entry.id, channel: 'test:default', runId: entry.runId, err: '403 Forbidden: bot was blocked by the user' });
    } finally {
      await h.close();
    }
  });

  it('retries a failure within 24 hours of queueing and gives up after that, saying for how long it tried', async () => {
    const transient = () => new ChannelError('transient', '502 Bad Gateway');
    const young = harness({ now: T0 + 24 * HOUR, script: (_message, attempt) => (attempt === 1 ? transient() : null) });
    try {
      const result = await deliver(young, await young.enqueue('on time', { createdAt: T0 }));
      assert.equal(result?.delivered, true, 'exactly 24 hours old is still retried');
    } finally {
      await young.close();
    }
    const old = harness({ now: T0 + 24 * HOUR + 1, script: transient });
    try {
      const result = await deliver(old, await old.enqueue('too late', { createdAt: T0 }));
      assert.equal(result?.delivered, false);
      assert.equal(result?.error, 'still undelivered after 1440 minutes: 502 Bad Gateway');
      assert.equal(old.fake.attempts(), 1);
      assert.equal(old.failures[0]?.retryAt, null);
      assert.deepEqual(await old.store.outboxCounts(), [{ channel: 'test:default', pending: 0, failed: 1 }]);
    } finally {
      await old.close();
    }
  });

  it('resumes a split reply at the next piece after a crash, with the same idempotency keys', async () => {
    const text = ['first paragraph', 'second paragraph', 'third paragraph'].map((line) => line.padEnd(30, '.')).join('\n\n');
    // The first run sends piece 0, then the process dies while sending piece 1.
    const path = join(dir, `crash-${counter++}.sqlite`);
    const firstStore = createSqliteStore({ path });
    const entry = await firstStore.enqueueOutbox({ channel: 'test:default', target: JSON.stringify({ chatId: 'c1' }), text, sessionKey: 's', runId: 'run_split', now: T0 });
    const crashing = fakeChannel((message) => (message.idempotencyKey.endsWith(':1') ? new Error('killed') : null), 40);
    let failed: () => void = () => {};
    const failureRecorded = new Promise<void>((resolve) => {
      failed = resolve;
    });
    const recording: Store = Object.create(firstStore) as Store;
    recording.recordDeliveryFailure = async (id, failure) => {
      await firstStore.recordDeliveryFailure(id, failure);
      failed();
    };
    const first = createOutboxDispatcher({
      store: recording,
      account: () => ({ channel: crashing.channel, isConnected: () => true, textChunkLimit: undefined, noteOutbound() {}, noteSendError() {} }),
      logger: quiet,
      now: () => T0,
      retryDelayMs: 60_000,
    });
    first.enqueue(entry);
    await failureRecorded;
    first.stop();
    await firstStore.close();
    const pieces = renderPieces(text, crashing.channel, undefined);
    assert.equal(pieces.length, 3);
    assert.deepEqual(
      crashing.sent.map((message) => message.idempotencyKey),
      [`${entry.id}:0`],
    );

    const secondStore = createSqliteStore({ path });
    const resumed = fakeChannel(() => null, 40);
    const second = createOutboxDispatcher({
      store: secondStore,
      account: () => ({ channel: resumed.channel, isConnected: () => true, textChunkLimit: undefined, noteOutbound() {}, noteSendError() {} }),
      logger: quiet,
      now: () => T0 + 120_000,
    });
    try {
      const [loaded] = await secondStore.undeliveredOutbox(10);
      assert.equal(loaded?.chunksSent, 1, 'the delivered piece is recorded');
      const delivery = second.waitForDelivery(entry.id, 5000);
      await second.start();
      assert.equal((await delivery)?.delivered, true);
      assert.deepEqual(
        resumed.sent.map((message) => [message.idempotencyKey, message.text]),
        [
          [`${entry.id}:1`, pieces[1]],
          [`${entry.id}:2`, pieces[2]],
        ],
      );
    } finally {
      second.stop();
      await secondStore.close();
    }
  });

  it('waits for an account that is not connected and delivers when it connects', async () => {
    const h = harness({ connected: false });
    try {
      const entry = await h.enqueue('hello');
      const delivery = h.dispatcher.waitForDelivery(entry.id, 5000);
      h.dispatcher.enqueue(entry);
      await h.dispatcher.idle();
      assert.equal(h.fake.attempts(), 0);
      assert.equal(h.dispatcher.queuedCount(), 1);
      h.state.connected = true;
      h.dispatcher.accountConnected('test:default');
      assert.equal((await delivery)?.delivered, true);
      assert.equal(h.state.outbound, 1);
    } finally {
      await h.close();
    }
  });

  it('delivers a chat in order: a later message waits while an earlier one is retried', async () => {
    const h = harness({ script: (message, attempt) => (message.text === 'one' && attempt === 1 ? new ChannelError('transient', 'timeout') : null) });
    try {
      const one = await h.enqueue('one');
      const two = await h.enqueue('two');
      const other = await h.enqueue('elsewhere', { target: JSON.stringify({ chatId: 'c2' }) });
      const results = Promise.all([one, two, other].map((entry) => h.dispatcher.waitForDelivery(entry.id, 5000)));
      for (const entry of [one, two, other]) h.dispatcher.enqueue(entry);
      h.dispatcher.enqueue(one);
      assert.ok((await results).every((result) => result?.delivered));
      await h.dispatcher.idle();
      const inChat = h.fake.sent.filter((message) => message.target.chatId === 'c1').map((message) => message.text);
      assert.deepEqual(inChat, ['one', 'two'], 'each message once, in order');
    } finally {
      await h.close();
    }
  });

  it('gives up a message whose target is not valid without sending it', async () => {
    const h = harness();
    try {
      const result = await deliver(h, await h.enqueue('hello', { target: '{"chat":1}' }));
      assert.equal(result?.delivered, false);
      assert.match(result?.error ?? '', /delivery target .* is not valid/u);
      assert.equal(h.fake.attempts(), 0);
      assert.equal(h.failures[0]?.retryAt, null);
    } finally {
      await h.close();
    }
  });

  it('does not resend before the retry time, on the real clock', async () => {
    const store = createSqliteStore({ path: join(dir, `real-clock-${counter++}.sqlite`) });
    const attempts: number[] = [];
    const fake = fakeChannel(() => {
      attempts.push(performance.now());
      return attempts.length === 1 ? new ChannelError('transient', 'ECONNRESET') : null;
    });
    const dispatcher = createOutboxDispatcher({
      store,
      account: () => ({ channel: fake.channel, isConnected: () => true, textChunkLimit: undefined, noteOutbound() {}, noteSendError() {} }),
      logger: quiet,
      random: () => 1,
      retryDelayMs: 80,
    });
    try {
      const entry = await store.enqueueOutbox({ channel: 'test:default', target: JSON.stringify({ chatId: 'c1' }), text: 'hi', sessionKey: 's', runId: 'r', now: Date.now() });
      const delivery = dispatcher.waitForDelivery(entry.id, 5000);
      dispatcher.enqueue(entry);
      assert.equal((await delivery)?.delivered, true);
      const gap = (attempts[1] ?? 0) - (attempts[0] ?? 0);
      assert.ok(gap >= 70, `the retry waited its 80 ms (${Math.round(gap)} ms)`);
    } finally {
      dispatcher.stop();
      await store.close();
    }
  });

  it('waits out a retry time read back from the store after a restart', async () => {
    const h = harness();
    try {
      const entry = await h.enqueue('later');
      await h.store.recordDeliveryFailure(entry.id, { error: 'timeout', now: T0, retryAt: T0 + 60 });
      const [loaded] = await h.store.undeliveredOutbox(1);
      assert.equal(loaded?.nextAttemptAt, T0 + 60);
      // The clock follows real time from here, so the retry comes 60 ms after the start.
      const realStart = performance.now();
      h.clock.now = T0;
      const timer = setInterval(() => {
        h.clock.now = T0 + Math.floor(performance.now() - realStart);
      }, 1);
      try {
        const delivery = h.dispatcher.waitForDelivery(entry.id, 5000);
        await h.dispatcher.start();
        assert.equal((await delivery)?.delivered, true);
      } finally {
        clearInterval(timer);
      }
      assert.ok(performance.now() - realStart >= 55, 'not sent before its retry time');
    } finally {
      await h.close();
    }
  });

  it('resumes at the next piece when a retry in the same run follows a partial send', async () => {
    const text = ['alpha', 'bravo', 'charlie'].map((word) => word.padEnd(30, '.')).join('\n\n');
    const h = harness({ maxMessageLength: 40, script: (message, attempt) => (message.idempotencyKey.endsWith(':1') && attempt === 2 ? new ChannelError('transient', 'ECONNRESET') : null) });
    try {
      const entry = await h.enqueue(text);
      assert.equal((await deliver(h, entry))?.delivered, true);
      assert.deepEqual(
        h.fake.sent.map((message) => message.idempotencyKey),
        [`${entry.id}:0`, `${entry.id}:1`, `${entry.id}:2`],
        'each piece once',
      );
      assert.equal(h.state.outbound, 3);
    } finally {
      await h.close();
    }
  });

  it('counts a send that never answers as failed after sendTimeoutMs, even across a garbage collection, and retries it', async () => {
    const store = createSqliteStore({ path: join(dir, `hung-${counter++}.sqlite`) });
    let calls = 0;
    const channel: Channel = {
      ...fakeChannel().channel,
      send: (_message, signal) => {
        calls += 1;
        if (calls > 1) return Promise.resolve({ messageId: 'ok' });
        const hung = new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(new ChannelError('transient', 'the send timed out')), { once: true }));
        // A collection while the send hangs must not lose its deadline (Node's AbortSignal.timeout inside AbortSignal.any did).
        setImmediate(collectGarbage);
        return hung;
      },
    };
    const errors: string[] = [];
    const dispatcher = createOutboxDispatcher({
      store,
      account: () => ({ channel, isConnected: () => true, textChunkLimit: undefined, noteOutbound() {}, noteSendError: (message) => errors.push(message) }),
      logger: quiet,
      retryDelayMs: 1,
      sendTimeoutMs: 50,
    });
    try {
      const entry = await store.enqueueOutbox({ channel: 'test:default', target: JSON.stringify({ chatId: 'c1' }), text: 'hi', sessionKey: 's', runId: 'r', now: Date.now() });
      const delivery = dispatcher.waitForDelivery(entry.id, 5000);
      dispatcher.enqueue(entry);
      assert.equal((await delivery)?.delivered, true);
      assert.deepEqual(errors, ['the send timed out']);
      assert.equal(calls, 2);
    } finally {
      dispatcher.stop();
      await store.close();
    }
  });

  it('stopping cuts short a send in flight without counting it as a failure, and tells waiters', async () => {
    const h = harness();
    let sending: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => {
      sending = resolve;
    });
    h.fake.channel.send = (_message, signal) => {
      sending();
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    };
    try {
      const entry = await h.enqueue('hello');
      const delivery = h.dispatcher.waitForDelivery(entry.id, 5000);
      h.dispatcher.enqueue(entry);
      await inFlight;
      h.dispatcher.stop();
      assert.deepEqual(await delivery, { delivered: false, error: 'the gateway stopped' });
      await h.dispatcher.idle();
      assert.deepEqual(h.failures, [], 'no failure recorded: it is sent again after the restart');
      const [left] = await h.store.undeliveredOutbox(1);
      assert.equal(left?.attempts, 0);
      h.dispatcher.enqueue(entry);
      assert.equal(h.dispatcher.queuedCount(), 0, 'nothing is taken after stop');
    } finally {
      await h.close();
    }
  });

  it('keeps a message for an account that is not running, and a bounded wait for it answers null', async () => {
    const h = harness();
    try {
      assert.equal(await Promise.race([h.dispatcher.idle().then(() => 'idle'), new Promise((resolve) => setTimeout(resolve, 1000, 'busy'))]), 'idle', 'idle at once when nothing is in progress');
      const entry = await h.enqueue('for later', { channel: 'test:gone' });
      const delivery = h.dispatcher.waitForDelivery(entry.id, 20);
      h.dispatcher.enqueue(entry);
      assert.equal(await delivery, null);
      await h.dispatcher.idle();
      assert.equal(h.dispatcher.queuedCount(), 1);
      assert.equal(h.fake.attempts(), 0);
    } finally {
      await h.close();
    }
  });

  it('holds at most maxQueued messages in memory and reads the rest from the store as room frees up', async () => {
    const store = createSqliteStore({ path: join(dir, `bounded-${counter++}.sqlite`) });
    const fake = fakeChannel();
    const dispatcher = createOutboxDispatcher({
      store,
      account: () => ({ channel: fake.channel, isConnected: () => true, textChunkLimit: undefined, noteOutbound() {}, noteSendError() {} }),
      logger: quiet,
      maxQueued: 2,
    });
    try {
      const entries: OutboxEntry[] = [];
      for (let index = 0; index < 5; index++) {
        entries.push(await store.enqueueOutbox({ channel: 'test:default', target: JSON.stringify({ chatId: `c${index}` }), text: `m${index}`, sessionKey: 's', runId: `r${index}`, now: T0 }));
      }
      const last = dispatcher.waitForDelivery(entries[4]?.id ?? 0, 5000);
      for (const entry of entries) dispatcher.enqueue(entry);
      assert.ok(dispatcher.queuedCount() <= 2);
      assert.equal((await last)?.delivered, true, 'the overflow is read back from the store');
      assert.deepEqual(fake.sent.map((message) => message.text).sort(), ['m0', 'm1', 'm2', 'm3', 'm4']);
    } finally {
      dispatcher.stop();
      await store.close();
    }
  });
});

describe('renderPieces', () => {
  const channel = fakeChannel().channel;
  it('splits at the platform limit and keeps every word', () => {
    const text = Array.from({ length: 30 }, (_, index) => `word${index}`).join(' ');
    const pieces = renderPieces(text, channel, undefined);
    assert.ok(pieces.length > 1);
    assert.ok(pieces.every((piece) => piece.length <= 100));
    assert.equal(pieces.join(' ').split(/\s+/u).length, 30);
  });

  it('uses a smaller account chunk limit, but never below 16 characters', () => {
    const text = 'abcdefgh '.repeat(10).trim();
    assert.ok(renderPieces(text, channel, 40).every((piece) => piece.length <= 40));
    assert.ok(renderPieces(text, channel, 40).length >= 2);
    assert.ok(renderPieces(text, channel, 1).every((piece) => piece.length <= 16 && piece.length > 1));
  });

  it('splits smaller when formatting makes a piece longer than the platform allows', () => {
    const doubling: Channel = { ...channel, format: { maxMessageLength: 50, render: (text) => text.replace(/o/gu, 'oo') } };
    const pieces = renderPieces('foo boo moo zoo '.repeat(6).trim(), doubling, undefined);
    assert.ok(pieces.every((piece) => piece.length <= 50), JSON.stringify(pieces));
    assert.equal(pieces.join(' ').match(/oooo/gu)?.length, 24);
  });

  it('when formatting wraps a piece past the limit, re-renders smaller source pieces instead of cutting the markup', () => {
    const wrapping: Channel = { ...channel, format: { maxMessageLength: 60, render: (text) => `<p>${text.replace(/o/gu, 'oo')}</p>` } };
    const source = Array.from({ length: 24 }, (_, index) => `word${index}`).join(' ');
    const pieces = renderPieces(source, wrapping, undefined);
    for (const piece of pieces) {
      assert.ok(piece.length <= 60, piece);
      assert.match(piece, /^<p>[^<>]+<\/p>$/u, 'every piece is markup of its own');
    }
    const words = pieces.flatMap((piece) => piece.slice(3, -4).split(' '));
    assert.deepEqual(words, source.replace(/o/gu, 'oo').split(' '));
    const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
    assert.ok(pieces.length <= Math.ceil(total / 60) + 2, `few pieces (${pieces.length} for ${total} characters)`);
  });

  it('sends a placeholder for an empty reply', () => {
    assert.deepEqual(renderPieces('  ', channel, undefined), ['(empty reply)']);
  });

  it('a piece exactly as long as the platform allows goes as one', () => {
    const text = 'x'.repeat(100);
    assert.deepEqual(renderPieces(text, channel, undefined), [text]);
  });

  it('when no smaller source piece fits once formatted, the formatted text itself is cut at the limit, never dropped', () => {
    const padded: Channel = { ...channel, format: { maxMessageLength: 40, render: (text) => `${'#'.repeat(40)}${text}` } };
    const pieces = renderPieces('alpha beta gamma', padded, undefined);
    assert.ok(pieces.length >= 2, JSON.stringify(pieces));
    assert.ok(pieces.every((piece) => piece.length <= 40), JSON.stringify(pieces));
    assert.match(pieces.join(''), /alpha beta gamma/u);
  });
});

describe('outbox dispatcher: accounts that start and stop here', () => {
  /** Two accounts, a and b, whose connection the test switches; "test:gone" runs on no node here. */
  function twoAccounts(options: { onSettled?: (entry: OutboxEntry, outcome: { delivered: boolean; pieces: number }) => void; script?: SendScript; maxMessageLength?: number } = {}) {
    const store = createSqliteStore({ path: join(dir, `accounts-${counter++}.sqlite`) });
    const progress: [number, number][] = [];
    const recording: Store = Object.create(store) as Store;
    recording.recordOutboxProgress = async (id, chunksSent) => {
      progress.push([id, chunksSent]);
      await store.recordOutboxProgress(id, chunksSent);
    };
    const connected = new Set<string>();
    const fakes = { 'test:a': fakeChannel(options.script, options.maxMessageLength), 'test:b': fakeChannel(options.script, options.maxMessageLength) };
    const log = recordingLogger();
    const dispatcher = createOutboxDispatcher({
      store: recording,
      account: (key) => {
        const fake = fakes[key as keyof typeof fakes];
        return fake ? { channel: fake.channel, isConnected: () => connected.has(key), textChunkLimit: undefined, noteOutbound() {}, noteSendError() {} } : undefined;
      },
      logger: log.logger,
      ...(options.onSettled ? { onSettled: options.onSettled } : {}),
    });
    const enqueue = (channel: string, text = 'hi') =>
      store.enqueueOutbox({ channel, target: JSON.stringify({ chatId: 'c1' }), text, sessionKey: 'agent:main:main', runId: `run_${counter++}`, now: Date.now() });
    return { store, dispatcher, fakes, connected, enqueue, progress, log };
  }

  it('reads back only the accounts running here, or the one asked for; forgetting an account drops it from memory, never from the store', async () => {
    const h = twoAccounts();
    try {
      await h.enqueue('test:a');
      await h.enqueue('test:a');
      const forB = await h.enqueue('test:b');
      await h.enqueue('test:gone');
      await h.dispatcher.refill('test:a');
      assert.equal(h.dispatcher.queuedCount(), 2, "only account a's messages");
      await h.dispatcher.refill();
      assert.equal(h.dispatcher.queuedCount(), 3, 'a and b, not the account that does not run here');
      h.dispatcher.forgetAccount('test:a');
      assert.equal(h.dispatcher.queuedCount(), 1, "b's message stays queued");
      assert.equal((await h.store.undeliveredOutbox(10)).length, 4, 'the store keeps every message');

      h.connected.add('test:b');
      const delivered = h.dispatcher.waitForDelivery(forB.id, 5000);
      h.dispatcher.accountConnected('test:b');
      assert.equal((await delivered)?.delivered, true);
      assert.equal(h.fakes['test:b'].sent.length, 1);
      assert.equal(h.fakes['test:a'].sent.length, 0, 'a forgotten account sends nothing');
    } finally {
      h.dispatcher.stop();
      await h.store.close();
    }
  });

  it('tells onSettled of each message delivered (with its pieces) or given up, and records progress only between pieces', async () => {
    const settled: { text: string; delivered: boolean; pieces: number }[] = [];
    const h = twoAccounts({
      maxMessageLength: 20,
      script: (message) => (message.text.startsWith('refused') ? new ChannelError('rejected', 'chat not found') : null),
      onSettled: (entry, outcome) => settled.push({ text: entry.text.slice(0, 7), delivered: outcome.delivered, pieces: outcome.pieces }),
    });
    try {
      h.connected.add('test:a');
      const long = await h.enqueue('test:a', 'one two three four five six seven eight nine ten eleven twelve');
      const refused = await h.enqueue('test:a', 'refused outright');
      const done = h.dispatcher.waitForDelivery(refused.id, 5000);
      h.dispatcher.enqueue(long);
      h.dispatcher.enqueue(refused);
      assert.equal((await done)?.delivered, false);
      const pieces = h.fakes['test:a'].sent.length;
      assert.ok(pieces >= 3, `the long reply went in ${pieces} pieces`);
      assert.deepEqual(settled, [
        { text: 'one two', delivered: true, pieces },
        { text: 'refused', delivered: false, pieces: 0 },
      ]);
      assert.deepEqual(
        h.progress,
        Array.from({ length: pieces - 1 }, (_, index) => [long.id, index + 1]),
        'progress after each piece but the last (delivery itself marks the last)',
      );
      assert.deepEqual(h.log.unexpected(), [], 'a message nobody waits for settles without an error');
    } finally {
      h.dispatcher.stop();
      await h.store.close();
    }
  });
});
