import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectGateway } from '../../src/cli/gateway-client.js';
import type { ChannelHealthReport } from '../../src/contracts/channel.js';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { fakeTelegramToken, type FakeTelegramServer, startFakeTelegramServer } from '../support/fake-telegram/fake-telegram-server.js';
import { type HookReceiver, startHookReceiver } from '../support/hook-receiver.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

let telegram: FakeTelegramServer;
let model: FakeModelServer;
let hooks: HookReceiver;
const received = () => hooks.received.map((item) => item.body);
const homes: string[] = [];
const token = fakeTelegramToken(5_200_000_001);
const INTERVAL_MS = 300;

before(async () => {
  telegram = await startFakeTelegramServer({ tokens: [token] });
  telegram.addChat(77);
  model = await startFakeModelServer();
  hooks = await startHookReceiver();
});
after(async () => {
  await telegram?.close();
  await model?.close();
  await hooks?.close();
  for (const home of homes) removeHome(home);
});

test('a bot that is connected but deaf is found, reconnected a bounded number of times, alerted once, and healthy again once fixed', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      ...fakeModelConfig(model),
      channelHealth: { intervalMs: INTERVAL_MS, functionalWindowMs: 1000, probeTimeoutMs: 2000, maxRecoveryAttempts: 2 },
      alerts: { webhook: `${hooks.url}/alerts`, channel: 'telegram:default:77' },
      channels: { telegram: { botToken: token, apiRoot: telegram.apiRoot, pollTimeoutSeconds: 1, dmPolicy: 'open', allowFrom: ['*'] } },
    },
  });
  const client = await connectGateway(gateway.url, gateway.token);
  const health = () => client.call<ChannelHealthReport>('channels.health.get', { channel: 'telegram' });
  const getMeCalls = () => telegram.calls.filter((call) => call.token === token && call.method === 'getMe').length;
  const from = { id: 61, first_name: 'Ada' };
  try {
    // Working: a message handled within the window is proof enough.
    await waitFor(() => telegram.calls.some((call) => call.token === token && call.method === 'getUpdates'), 'polling to start');
    // The first answer hits a 500 once: it waits in the outbox, is retried, and the failure is counted.
    telegram.failNext('sendMessage', { status: 500 }, { token });
    telegram.injectMessage({ token, chatType: 'private', chatId: 61, from, text: 'hello' });
    await waitFor(() => telegram.sent.some((message) => message.token === token && message.renderedText.includes('echo: hello')), 'the first answer');
    const working = await waitFor(async () => {
      const report = await health();
      return report.checkedAt !== null && report.status === 'ok' ? report : null;
    }, 'a first check');
    assert.match(working.dimensions.functional.detail ?? '', /handled a message/u);
    assert.equal(working.dimensions.transport.status, 'ok');
    assert.equal(working.dimensions.application.status, 'ok');

    // Deaf: polls are answered, but the waiting message never comes.
    const logins = getMeCalls();
    telegram.deaf(true, token);
    telegram.injectMessage({ token, chatType: 'private', chatId: 61, from, text: 'are you there?' });
    const degraded = await waitFor(async () => {
      const report = await health();
      return report.dimensions.functional.status === 'degraded' ? report : null;
    }, 'the functional dimension to be degraded');
    assert.equal(degraded.dimensions.transport.status, 'ok', 'the connection itself looks fine');
    assert.equal(typeof degraded.dimensions.functional.degradedSince, 'number');
    assert.match(degraded.dimensions.functional.detail ?? '', /1 update\(s\) have waited at Telegram/u);
    assert.match(degraded.dimensions.functional.suggestedAction ?? '', /no other program polls this bot token/u);

    const ready = await fetch(`${gateway.url}/readyz`);
    const body = (await ready.json()) as { components: { channels: { status: string; detail: string } } };
    assert.equal(body.components.channels.status, 'degraded');
    assert.match(body.components.channels.detail, /telegram:default functional degraded: .* — Telegram holds messages this bot does not receive/u);
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } })).text();
    assert.match(metrics, /hearth_channel_health_status\{channel="telegram",account="default",dimension="functional"\} 0/u);
    assert.match(metrics, /hearth_channel_health_status\{channel="telegram",account="default",dimension="transport"\} 1/u);
    assert.match(metrics, /hearth_delivery_failures_total\{channel="telegram:default"\} 1/u);
    assert.match(metrics, /# TYPE hearth_outbox_backlog gauge/u);

    // Self-recovery: a bounded number of reconnects (each logs in again), then one alert.
    const alerted = await waitFor(async () => {
      const report = await health();
      return report.episode?.alertedAt ? report : null;
    }, 'the operator alert');
    assert.equal(alerted.episode?.recoveryAttempts, 2);
    assert.deepEqual(
      { event: alerted.lastAlert?.event, dimension: alerted.lastAlert?.dimension, status: alerted.lastAlert?.status, recoveryAttempts: alerted.lastAlert?.recoveryAttempts },
      { event: 'channel.health', dimension: 'functional', status: 'degraded', recoveryAttempts: 2 },
    );
    assert.equal(alerted.lastAlert?.degradedSince, degraded.dimensions.functional.degradedSince);
    // A few more checks change nothing: no more reconnects, no second alert.
    const alertedAt = alerted.episode?.alertedAt ?? 0;
    await waitFor(async () => ((await health()).checkedAt ?? 0) > alertedAt + 3 * INTERVAL_MS, 'three more checks');
    assert.equal(getMeCalls() - logins, 2, 'exactly the bounded reconnects logged in again');
    assert.equal((await health()).episode?.recoveryAttempts, 2);
    const alerts = received().filter((item) => item.event === 'channel.health');
    assert.equal(alerts.length, 1, 'one alert per episode, POSTed to the alert webhook');
    assert.equal(alerts[0]?.suggestedAction, degraded.dimensions.functional.suggestedAction);
    assert.equal(alerts[0]?.dimension, 'functional');
    await waitFor(() => telegram.sent.some((message) => message.token === token && message.chatId === 77 && message.renderedText.includes('functional degraded')), 'the alert in the alert chat');

    const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
    const cli = await runCli(['channels', 'health'], env);
    assert.equal(cli.code, 1, 'the CLI exits 1 while an account is degraded');
    assert.match(cli.stdout, /functional\s+degraded/u);
    assert.match(cli.stdout, /recovery: 2 of 2 reconnects tried; operator alerted/u);

    // Fixed: the waiting message arrives and is answered; the account is healthy again.
    telegram.deaf(false, token);
    await waitFor(() => telegram.sent.some((message) => message.token === token && message.renderedText.includes('echo: are you there?')), 'the waiting message to be answered');
    const recovered = await waitFor(async () => {
      const report = await health();
      return report.status === 'ok' && report.episode === null ? report : null;
    }, 'the account to be healthy again');
    assert.equal(recovered.dimensions.functional.degradedSince, null);
    assert.equal(typeof recovered.recoveredAt, 'number');
    assert.equal(recovered.lastAlert?.at, alertedAt, 'the last alert stays visible');
    await waitFor(() => received().filter((item) => item.event === 'channel.health.recovered').length === 1, 'the all-clear at the webhook');
    assert.equal(received().filter((item) => item.event === 'channel.health').length, 1);
    const probed = await runCli(['channels', 'health', '--channel', 'telegram', '--probe', '--json'], env);
    assert.equal(probed.code, 0, probed.stderr);
    assert.equal((JSON.parse(probed.stdout) as ChannelHealthReport).status, 'ok');
    const list = await client.call<{ accounts: ChannelHealthReport[] }>('channels.health.list');
    assert.deepEqual(
      list.accounts.map((report) => `${report.channel}:${report.account} ${report.status}`),
      ['telegram:default ok'],
    );
    await assert.rejects(client.call('channels.health.get', { channel: 'telegram', account: 'work' }), /No channel account telegram:work\. Configured: telegram:default\./u);
  } finally {
    telegram.deaf(false);
    client.close();
    await gateway.stop();
  }
});
