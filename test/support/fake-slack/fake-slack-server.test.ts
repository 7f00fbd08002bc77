import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { App, type Logger, LogLevel, SocketModeReceiver, webApi } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { type FakeSlackServer, signSlackRequest, startFakeSlackServer } from './fake-slack-server.js';

const TIMEOUT = { timeout: 10_000 };
/** Fast retries so failure paths finish in milliseconds instead of Slack's default half hour. */
const FAST_RETRY = { retries: 2, minTimeout: 10, maxTimeout: 50 };
/** Client ping timeout for tests: pings every 200 ms, and reconnects wait 600 ms instead of 5 s. */
const CLIENT_PING_TIMEOUT_MS = 600;

interface CapturingLogger extends Logger {
  lines: string[];
}

/** A Bolt/socket-mode logger that keeps lines in memory instead of printing them. */
function capturingLogger(): CapturingLogger {
  let level: LogLevel = LogLevel.DEBUG;
  const lines: string[] = [];
  const write =
    (name: string) =>
    (...message: unknown[]): void => {
      lines.push(`${name} ${message.map(String).join(' ')}`);
      if (lines.length > 2_000) lines.splice(0, 500);
    };
  return {
    lines,
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    setLevel(next) {
      level = next;
    },
    getLevel() {
      return level;
    },
    setName() {},
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: unknown, key: string): string | undefined {
  return isRecord(value) && typeof value[key] === 'string' ? value[key] : undefined;
}

/** A Bolt app in socket mode against the fake, with short ping timeouts and fast retries. */
function socketApp(server: FakeSlackServer, tokens: { token?: string; appToken?: string; deferInitialization?: boolean } = {}): { app: App; logger: CapturingLogger } {
  const logger = capturingLogger();
  const receiver = new SocketModeReceiver({
    appToken: tokens.appToken ?? server.appToken,
    logger,
    clientPingTimeout: CLIENT_PING_TIMEOUT_MS,
    serverPingTimeout: 5_000,
    installerOptions: { clientOptions: { slackApiUrl: server.apiUrl, retryConfig: FAST_RETRY } },
  });
  const app = new App({
    token: tokens.token ?? server.botToken,
    receiver,
    logger,
    deferInitialization: tokens.deferInitialization ?? false,
    clientOptions: { slackApiUrl: server.apiUrl, retryConfig: FAST_RETRY },
  });
  return { app, logger };
}

test('bolt socket mode: a DM reaches app.message, is acked, and a threaded reply is recorded', TIMEOUT, async () => {
  const server = await startFakeSlackServer();
  const { app } = socketApp(server);
  const seen: unknown[] = [];
  app.message(async ({ message, client }) => {
    seen.push(message);
    const channel = field(message, 'channel') ?? '';
    const ts = field(message, 'ts') ?? '';
    await client.chat.postMessage({ channel, text: `pong: ${field(message, 'text')}`, thread_ts: ts, mrkdwn: true });
  });
  try {
    await app.start();
    assert.equal(server.connectionCount, 1);
    assert.ok(server.apiCalls.some((call) => call.method === 'auth.test' && call.token === server.botToken));
    assert.ok(server.apiCalls.some((call) => call.method === 'apps.connections.open' && call.token === server.appToken));

    const ts = server.injectMessage({ channelType: 'im', channel: 'D0DM1', user: 'U0HUMAN1', text: 'ping' });
    assert.match(ts, /^\d{10}\.\d{6}$/);
    const reply = await server.waitFor(() => server.sent.find((entry) => entry.threadTs === ts));
    assert.equal(reply.method, 'chat.postMessage');
    assert.equal(reply.channel, 'D0DM1');
    assert.equal(reply.text, 'pong: ping');
    assert.equal(reply.params.mrkdwn, 'true');
    assert.ok(reply.ts > ts, 'reply ts sorts after the message it answers');

    const delivery = server.deliveries.find((entry) => entry.eventTs === ts);
    assert.ok(delivery);
    assert.equal(delivery.eventType, 'message');
    await server.waitFor(() => server.acks.includes(delivery.envelopeId));
    assert.equal(field(seen[0], 'channel_type'), 'im');
    assert.equal(field(seen[0], 'user'), 'U0HUMAN1');
  } finally {
    await app.stop();
    await server.close();
  }
});

test('bolt socket mode: a channel mention arrives as both message and app_mention', TIMEOUT, async () => {
  const server = await startFakeSlackServer();
  const { app } = socketApp(server);
  const mentions: unknown[] = [];
  const messages: unknown[] = [];
  app.event('app_mention', async ({ event }) => {
    mentions.push(event);
  });
  app.event('message', async ({ event }) => {
    messages.push(event);
  });
  try {
    await app.start();
    const ts = server.injectMessage({ channelType: 'channel', channel: 'C0GENERAL', user: 'U0HUMAN1', text: 'hello there', mentionBot: true, threadTs: '1699999999.000001' });
    await server.waitFor(() => mentions.length === 1 && messages.length === 1);
    assert.equal(field(mentions[0], 'text'), `<@${server.botUserId}> hello there`);
    assert.equal(field(mentions[0], 'ts'), ts);
    assert.equal(field(mentions[0], 'thread_ts'), '1699999999.000001');
    assert.equal(field(messages[0], 'channel_type'), 'channel');

    // A DM mention is only a message event, as on Slack.
    server.injectMessage({ channelType: 'im', channel: 'D0DM1', user: 'U0HUMAN1', text: 'hi', mentionBot: true });
    await server.waitFor(() => messages.length === 2);
    await sleep(50);
    assert.equal(mentions.length, 1);
    await server.waitFor(() => server.acks.length === 3);
  } finally {
    await app.stop();
    await server.close();
  }
});

test('web client: 429 + Retry-After is waited out and retried once; 5xx retried; platform errors are not', TIMEOUT, async () => {
  const server = await startFakeSlackServer();
  const { app } = socketApp(server);
  try {
    const limits: number[] = [];
    app.client.on(webApi.WebClientEvent.RATE_LIMITED, (seconds: number) => limits.push(seconds));
    server.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const started = Date.now();
    const result = await app.client.chat.postMessage({ channel: 'C0GENERAL', text: 'after the limit' });
    const elapsed = Date.now() - started;
    assert.equal(result.ok, true);
    assert.deepEqual(limits, [1]);
    assert.ok(elapsed >= 950, `waited for Retry-After (${elapsed} ms)`);
    assert.equal(server.sent.length, 1, 'recorded once');
    assert.deepEqual(
      server.apiCalls.filter((call) => call.method === 'chat.postMessage').map((call) => call.status),
      [429, 200],
    );

    server.failNext('chat.postMessage', { status: 503 });
    await app.client.chat.postMessage({ channel: 'C0GENERAL', text: 'after a 503' });
    assert.equal(server.sent.length, 2);

    server.failNext('chat.postMessage', { status: 500 }, 3);
    await assert.rejects(app.client.chat.postMessage({ channel: 'C0GENERAL', text: 'never' }), (error: unknown) => {
      assert.ok(error instanceof webApi.WebAPIHTTPError);
      assert.equal(error.code, webApi.ErrorCode.HTTPError);
      assert.equal(error.statusCode, 500);
      return true;
    });

    server.failNext('chat.postMessage', { error: 'ratelimited' });
    await assert.rejects(app.client.chat.postMessage({ channel: 'C0GENERAL', text: 'never' }), (error: unknown) => {
      assert.ok(error instanceof webApi.WebAPIPlatformError);
      assert.equal(error.code, webApi.ErrorCode.PlatformError);
      assert.equal(error.data.error, 'ratelimited');
      return true;
    });
    assert.equal(server.apiCalls.filter((call) => call.error === 'ratelimited' && call.status === 200).length, 1, 'platform errors are not retried');

    await assert.rejects(app.client.chat.postMessage({ channel: 'C0GENERAL', text: 'x'.repeat(40_001) }), /msg_too_long/);
    assert.equal(server.sent.length, 2);
  } finally {
    await server.close();
  }
});

test('bad tokens: invalid bot token fails app.init(); invalid app token fails app.start() without hanging', TIMEOUT, async () => {
  const server = await startFakeSlackServer();
  try {
    // With the default (non-deferred) construction Bolt fires auth.test in the constructor and never
    // awaits it, so a bad bot token only shows up as an unhandled rejection; deferInitialization surfaces it.
    const badBot = socketApp(server, { token: 'xoxb-not-a-real-token', deferInitialization: true });
    assert.throws(() => badBot.app.start(), /not yet initialized/);
    await assert.rejects(badBot.app.init(), (error: unknown) => {
      assert.ok(error instanceof webApi.WebAPIPlatformError);
      assert.equal(error.code, 'slack_webapi_platform_error');
      assert.equal(error.data.error, 'invalid_auth');
      assert.equal(error.message, 'An API error occurred: invalid_auth');
      return true;
    });

    const badApp = socketApp(server, { appToken: 'xapp-1-A0NOPE-1-wrong' });
    const started = Date.now();
    await assert.rejects(badApp.app.start(), (error: unknown) => {
      assert.ok(error instanceof webApi.WebAPIPlatformError);
      assert.equal(error.data.error, 'invalid_auth');
      return true;
    });
    assert.ok(Date.now() - started < 2_000, 'invalid_auth is unrecoverable, no retry loop');
    assert.equal(server.connectionsOpened, 0);
    await badApp.app.stop();

    // Any other apps.connections.open error counts as recoverable: start() never settles and the
    // client retries every clientPingTimeout x attempt until stop(). Here: a bot token in place of
    // the app-level token, which Slack refuses with not_allowed_token_type.
    const wrongType = socketApp(server, { appToken: server.botToken });
    let settled = false;
    wrongType.app.start().then(
      () => (settled = true),
      () => (settled = true),
    );
    const refused = (): number => server.apiCalls.filter((call) => call.method === 'apps.connections.open' && call.error === 'not_allowed_token_type').length;
    await server.waitFor(() => refused() >= 2, 3_000);
    assert.equal(settled, false, 'start() is still pending while it retries');
    await wrongType.app.stop();
    const afterStop = refused();
    await sleep(CLIENT_PING_TIMEOUT_MS * 3 + 100);
    assert.equal(refused(), afterStop, 'stop() ends the retry loop');
    assert.equal(settled, false, 'the original start() promise never settles');
  } finally {
    await server.close();
  }
});

test('dropConnections: the client reconnects and gets the next event; disconnect messages do the same', TIMEOUT, async () => {
  const server = await startFakeSlackServer();
  const { app } = socketApp(server);
  const texts: string[] = [];
  app.message(async ({ message }) => {
    texts.push(field(message, 'text') ?? '');
  });
  try {
    await app.start();
    const dropped = Date.now();
    server.dropConnections();
    // Injected while disconnected: queued until the next hello.
    server.injectMessage({ channelType: 'im', channel: 'D0DM1', user: 'U0HUMAN1', text: 'after drop' });
    await server.waitFor(() => texts.includes('after drop'), 5_000);
    const reconnectMs = Date.now() - dropped;
    assert.ok(reconnectMs >= CLIENT_PING_TIMEOUT_MS - 50, `reconnect waits clientPingTimeout (${reconnectMs} ms)`);
    assert.equal(server.connectionsOpened, 2);
    assert.equal(server.connectionCount, 1);

    server.requestReconnect();
    await server.waitFor(() => server.connectionsOpened === 3 && server.connectionCount === 1, 5_000);
    server.injectMessage({ channelType: 'im', channel: 'D0DM1', user: 'U0HUMAN1', text: 'after refresh' });
    await server.waitFor(() => texts.includes('after refresh'));
    assert.deepEqual(texts, ['after drop', 'after refresh']);
  } finally {
    await app.stop();
    await server.close();
  }
});

test('socket mode: unacked envelopes are redelivered with retry_attempt + 1, then given up', TIMEOUT, async () => {
  const server = await startFakeSlackServer({ redeliveryDelayMs: 150, maxRedeliveries: 2, pingIntervalMs: 0 });
  const client = new SocketModeClient({ appToken: server.appToken, logLevel: LogLevel.ERROR, clientPingTimeout: CLIENT_PING_TIMEOUT_MS, clientOptions: { slackApiUrl: server.apiUrl, retryConfig: FAST_RETRY } });
  const attempts: number[] = [];
  let ackNow = false;
  client.on('message', async ({ ack, retry_num }: { ack: () => Promise<void>; retry_num: number }) => {
    attempts.push(retry_num);
    if (ackNow) await ack();
  });
  try {
    await client.start();
    const ignored = server.injectEvent({ type: 'message', channel: 'D0DM1', user: 'U0HUMAN1', text: 'ignored', ts: '1700000001.000001' });
    await server.waitFor(() => server.expired.includes(ignored), 3_000);
    assert.deepEqual(attempts, [0, 1, 2]);
    assert.deepEqual(
      server.deliveries.filter((entry) => entry.envelopeId === ignored).map((entry) => entry.retryAttempt),
      [0, 1, 2],
    );

    ackNow = true;
    const acked = server.injectEvent({ type: 'message', channel: 'D0DM1', user: 'U0HUMAN1', text: 'acked', ts: '1700000001.000002' });
    await server.waitFor(() => server.acks.includes(acked));
    await sleep(300);
    assert.equal(server.deliveries.filter((entry) => entry.envelopeId === acked).length, 1, 'acked envelopes are not redelivered');
  } finally {
    await client.disconnect();
    await server.close();
  }
});

test('socket mode: malformed frames are ignored and the client keeps working', TIMEOUT, async () => {
  const server = await startFakeSlackServer();
  const { app } = socketApp(server);
  const texts: string[] = [];
  app.message(async ({ message }) => {
    texts.push(field(message, 'text') ?? '');
  });
  try {
    await app.start();
    server.injectRawFrame('{"envelope_id": "broken", ');
    server.injectRawFrame('');
    server.injectRawEnvelope({ type: 'mystery_type', envelope_id: 'mystery-1', payload: {} });
    server.injectRawEnvelope({ type: 'events_api', envelope_id: 'unknown-event', payload: { type: 'event_callback', event: { type: 'brand_new_event' } }, retry_attempt: 0 });
    server.injectMessage({ channelType: 'im', channel: 'D0DM1', user: 'U0HUMAN1', text: 'still alive' });
    await server.waitFor(() => texts.includes('still alive'));
    assert.equal(server.connectionCount, 1);
    assert.equal(server.connectionsOpened, 1);
  } finally {
    await app.stop();
    await server.close();
  }
});

test('stall: events queue, unanswered pings make the client reconnect, and unstalling delivers', TIMEOUT, async () => {
  const server = await startFakeSlackServer({ pingIntervalMs: 200 });
  const { app, logger } = socketApp(server);
  const texts: string[] = [];
  app.message(async ({ message }) => {
    texts.push(field(message, 'text') ?? '');
  });
  try {
    await app.start();
    server.stall(true);
    server.injectMessage({ channelType: 'im', channel: 'D0DM1', user: 'U0HUMAN1', text: 'during stall' });
    await server.waitFor(() => server.connectionsOpened >= 2, 5_000);
    assert.ok(logger.lines.some((line) => line.includes("pong wasn't received")), 'client noticed the missing pongs');
    assert.equal(texts.length, 0);
    server.stall(false);
    await server.waitFor(() => texts.includes('during stall'), 5_000);
  } finally {
    await app.stop();
    await server.close();
  }
});

test('several apps: each gets its own events, bot user id and recorded replies', TIMEOUT, async () => {
  const server = await startFakeSlackServer({
    bots: [
      { botToken: 'xoxb-a', appToken: 'xapp-1-A1-a' },
      { botToken: 'xoxb-b', appToken: 'xapp-1-A2-b' },
    ],
  });
  const [first, second] = server.bots;
  assert.ok(first && second);
  const a = socketApp(server, { token: first.botToken, appToken: first.appToken });
  const b = socketApp(server, { token: second.botToken, appToken: second.appToken });
  const seen: string[] = [];
  for (const [name, { app }] of [['a', a], ['b', b]] as const) {
    app.event('app_mention', async ({ event, client, context }) => {
      seen.push(`${name}:${context.botUserId}`);
      await client.chat.postMessage({ channel: event.channel, text: `from ${name}`, thread_ts: event.ts });
    });
  }
  try {
    await Promise.all([a.app.start(), b.app.start()]);
    assert.notEqual(first.botUserId, second.botUserId);
    server.injectMessage({ channelType: 'group', channel: 'G0PRIVATE', user: 'U0HUMAN1', text: 'you', mentionBot: true, bot: 1 });
    await server.waitFor(() => server.sent.length === 1);
    assert.deepEqual(seen, [`b:${second.botUserId}`]);
    assert.equal(server.sent[0]?.bot, 1);
    assert.equal(server.sent[0]?.text, 'from b');
  } finally {
    await Promise.all([a.app.stop(), b.app.stop()]);
    await server.close();
  }
});

test('web api: methods, errors and JSON bodies answer like Slack', TIMEOUT, async () => {
  const server = await startFakeSlackServer();
  const call = async (method: string, body: Record<string, unknown>, token: string | null = server.botToken): Promise<Record<string, unknown>> => {
    const response = await fetch(`${server.apiUrl}${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 200);
    const parsed: unknown = await response.json();
    assert.ok(isRecord(parsed));
    return parsed;
  };
  try {
    assert.deepEqual(await call('no.such.method', {}), { ok: false, error: 'unknown_method' });
    assert.deepEqual(await call('auth.test', {}, null), { ok: false, error: 'not_authed' });
    assert.deepEqual(await call('auth.test', {}, 'xoxb-bogus'), { ok: false, error: 'invalid_auth' });
    const auth = await call('auth.test', {});
    assert.equal(auth.user_id, server.botUserId);
    assert.equal(auth.team_id, server.teamId);

    const ts = server.injectMessage({ channelType: 'channel', channel: 'C0GENERAL', user: 'U0HUMAN1', text: 'react to me' });
    assert.equal((await call('reactions.add', { channel: 'C0GENERAL', timestamp: ts, name: 'eyes' })).ok, true);
    assert.deepEqual(await call('reactions.add', { channel: 'C0GENERAL', timestamp: ts, name: 'eyes' }), { ok: false, error: 'already_reacted' });
    assert.deepEqual(server.reactions.map((entry) => entry.name), ['eyes']);
    assert.deepEqual(await call('chat.update', { channel: 'C0GENERAL', ts, text: 'edited' }), { ok: false, error: 'cant_update_message' });

    const posted = await call('chat.postMessage', { channel: 'C0GENERAL', text: 'draft' });
    const postedTs = field(posted, 'ts') ?? '';
    assert.equal(field(posted.message, 'user'), server.botUserId);
    const updated = await call('chat.update', { channel: 'C0GENERAL', ts: postedTs, text: 'final' });
    assert.equal(updated.ok, true);
    assert.deepEqual(server.sent.map((entry) => [entry.method, entry.text, entry.ts]), [
      ['chat.postMessage', 'draft', postedTs],
      ['chat.update', 'final', postedTs],
    ]);
    assert.deepEqual(await call('chat.postMessage', { channel: 'C0GENERAL' }), { ok: false, error: 'no_text' });
    assert.deepEqual(await call('chat.postMessage', { channel: 'X0WEIRD', text: 'hi' }), { ok: false, error: 'channel_not_found' });

    assert.equal((await call('assistant.threads.setStatus', { channel_id: 'D0DM1', thread_ts: ts, status: 'is thinking…' })).ok, true);
    assert.deepEqual(server.statuses.map((entry) => [entry.channel, entry.status]), [['D0DM1', 'is thinking…']]);

    const info = await call('conversations.info', { channel: 'C0GENERAL' });
    assert.equal(isRecord(info.channel) && info.channel.is_channel, true);
    const user = await call('users.info', { user: 'U0HUMAN1' });
    assert.equal(isRecord(user.user) && user.user.is_bot, false);

    // Form bodies with the token as a field work too, as on Slack.
    const form = await fetch(`${server.apiUrl}auth.test`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${server.botToken}` });
    assert.equal(((await form.json()) as { ok: boolean }).ok, true);

    server.failNext('users.info', { status: 429, retryAfter: 3 });
    const limited = await fetch(`${server.apiUrl}users.info`, { method: 'POST', headers: { authorization: `Bearer ${server.botToken}` } });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '3');
    assert.deepEqual(await limited.json(), { ok: false, error: 'ratelimited' });
  } finally {
    await server.close();
  }
});

test('events api over HTTP: url_verification, signed events reach Bolt, bad signatures are refused', TIMEOUT, async () => {
  const server = await startFakeSlackServer();
  const logger = capturingLogger();
  const app = new App({ token: server.botToken, signingSecret: server.signingSecret, logger, clientOptions: { slackApiUrl: server.apiUrl, retryConfig: FAST_RETRY } });
  const retries: Array<number | undefined> = [];
  app.message(async ({ message, say, context }) => {
    retries.push(context.retryNum);
    await say({ text: `http echo: ${field(message, 'text')}`, thread_ts: field(message, 'ts') });
  });
  try {
    const listening = await app.start({ port: 0, host: '127.0.0.1' });
    const address = listening.address();
    assert.ok(isRecord(address) && typeof address.port === 'number');
    const url = `http://127.0.0.1:${address.port}/slack/events`;

    const verification = await server.pushUrlVerification(url, server.signingSecret);
    assert.equal(verification.status, 200);
    assert.equal(verification.echoed, true);

    const event = server.buildMessageEvent({ channelType: 'im', channel: 'D0DM1', user: 'U0HUMAN1', text: 'over http' });
    const delivered = await server.pushEventHttp(url, server.signingSecret, event, { retryNum: 1, retryReason: 'http_timeout' });
    assert.equal(delivered.status, 200);
    const reply = await server.waitFor(() => server.sent.find((entry) => entry.text === 'http echo: over http'));
    assert.equal(reply.threadTs, event.ts);
    assert.deepEqual(retries, [1]);

    const forged = await server.pushEventHttp(url, 'not-the-secret', event);
    assert.equal(forged.status, 401);
    const stale = await server.pushEventHttp(url, server.signingSecret, event, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    assert.equal(stale.status, 401);
    assert.equal(signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, 'token=xyz').slice(0, 3), 'v0=');
    await assert.rejects(server.pushEventHttp('http://example.com/slack/events', server.signingSecret, event), /only http:\/\/127\.0\.0\.1/);
    assert.equal(server.sent.length, 1);
  } finally {
    await app.stop();
    await server.close();
  }
});

test('app.stop() then server.close() leave no sockets or timers behind', TIMEOUT, async () => {
  const count = (kind: string): number => process.getActiveResourcesInfo().filter((entry) => entry === kind).length;
  await sleep(20);
  const baseline = { timers: count('Timeout'), sockets: count('TCPSocketWrap'), servers: count('TCPServerWrap') };
  const server = await startFakeSlackServer({ pingIntervalMs: 100, redeliveryDelayMs: 10_000 });
  const { app } = socketApp(server);
  app.message(async () => {});
  await app.start();
  server.injectMessage({ channelType: 'im', channel: 'D0DM1', user: 'U0HUMAN1', text: 'bye' });
  await server.waitFor(() => server.acks.length === 1);
  server.injectRawEnvelope({ type: 'events_api', envelope_id: 'never-acked', payload: { type: 'event_callback', event: { type: 'nothing' } } });
  await app.stop();
  await server.close();
  const settled = async (): Promise<boolean> => {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      await sleep(20);
      if (count('TCPSocketWrap') <= baseline.sockets && count('TCPServerWrap') <= baseline.servers && count('Timeout') <= baseline.timers) return true;
    }
    return false;
  };
  assert.ok(await settled(), `left behind: ${JSON.stringify(process.getActiveResourcesInfo())} (baseline ${JSON.stringify(baseline)})`);
});
