import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';
import { createSignalHarness, signalPerson } from '../support/platforms/signal-harness.js';
import { runChannelContract } from './channel-contract.js';

runChannelContract('signal', () => createSignalHarness());

// Signal's own behaviour, against the same kind of local signal-cli daemon.
let harness: Awaited<ReturnType<typeof createSignalHarness>>;
let model: FakeModelServer;
const homes: string[] = [];
const gateways: TestGateway[] = [];
const ada = signalPerson({ id: '1001', name: 'Ada' });
const bob = signalPerson({ id: '1002', name: 'Bob' });
const fast = { typingIntervalMs: 100, reconnectDelayMs: 50, reconnectMaxDelayMs: 500 };

before(async () => {
  harness = await createSignalHarness();
  harness.server.addPerson(ada);
  harness.server.addPerson(bob);
  model = await startFakeModelServer();
});
after(async () => {
  for (const gateway of gateways) await gateway.kill();
  await harness?.close();
  await model?.close();
  for (const home of homes) removeHome(home);
});

async function start(settings: Record<string, unknown>) {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0, timeoutMs: 30_000 } } },
      agents: { defaults: { model: 'fake/echo' } },
      channels: { signal: { ...settings, ...fast } },
    },
  });
  gateways.push(gateway);
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  await waitFor(async () => {
    const status = JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { connected: boolean }[];
    return status[0]?.connected;
  }, 'the signal account to connect');
  return gateway;
}

/** Model calls whose newest user message holds `text` (earlier turns ride along in the history). */
const asked = (text: string) =>
  model.requests.filter((request) => {
    const messages = (request.body as { messages?: { role: string; content: unknown }[] } | undefined)?.messages ?? [];
    const last = messages.filter((message) => message.role === 'user').at(-1);
    return last !== undefined && JSON.stringify(last.content).includes(text);
  }).length;

test('signal: a group message that mentions the bot is answered in the group, by group id and quoting it; one that does not is not', async () => {
  const account = await harness.newAccount();
  const group = account.signalGroup;
  await start({ ...account.settings, groups: [group.id] });
  harness.server.receive(account.number, bob, 'just chatting, no bot here', { group });
  // Signal clients name a mentioned person by ACI; the bot learns its own from the daemon.
  const at = harness.server.receive(account.number, ada, '\uFFFC what is the plan', { group, mentions: [{ name: account.number, number: null, uuid: account.uuid, start: 0, length: 1 }] });
  const answer = await waitFor(() => harness.server.sent.find((message) => message.account === account.number && message.message.includes('what is the plan')), 'the answer in the group');
  assert.equal(answer.isGroup, true, 'sent with groupId, not to a person');
  assert.equal(answer.chatId, group.id);
  assert.deepEqual(answer.quote, { timestamp: at, author: ada.uuid }, 'the answer quotes the message it answers');
  assert.match(answer.message, new RegExp(`Ada: @${account.number.replace('+', '\\+')} what is the plan`, 'u'), 'the model sees who spoke and the mention');
  assert.equal(harness.server.sent.filter((message) => message.account === account.number).length, 1, 'the unmentioned message got no answer');
  assert.equal(asked('no bot here'), 0);
});

test('signal: the events stream drops and comes back: messages queued meanwhile are answered exactly once', async () => {
  const account = await harness.newAccount();
  await start({ ...account.settings, dmPolicy: 'open', allowFrom: ['*'] });
  const answers = (text: string) => harness.server.sent.filter((message) => message.account === account.number && message.message.includes(`echo: ${text}`));
  harness.server.receive(account.number, ada, 'before the drop');
  await waitFor(() => answers('before the drop').length === 1, 'the first answer');

  // The daemon goes away for a while; what is sent meanwhile waits (as it does at Signal's server).
  harness.server.setRefusingStreams(true);
  harness.server.dropConnections();
  harness.server.receive(account.number, ada, 'queued one');
  harness.server.receive(account.number, bob, 'queued two');
  await waitFor(() => harness.server.streams.some((stream) => stream.account === account.number && stream.refused), 'a reconnect attempt');
  assert.equal(harness.server.waiting(account.number), 2, 'nothing was delivered while the stream was refused');
  harness.server.setRefusingStreams(false);
  await waitFor(() => answers('queued one').length === 1 && answers('queued two').length === 1, 'the queued messages to be answered', 15_000);
  const reconnect = harness.server.streams.filter((stream) => stream.account === account.number && !stream.refused).at(-1);
  assert.ok(reconnect?.lastEventId, 'the bot reconnects with the id of the last event it handled');

  // The stream breaks right after an event was written: read or not, it is answered once.
  harness.server.cutAfterNextEvent();
  harness.server.receive(account.number, ada, 'cut off mid-stream');
  harness.server.receive(account.number, ada, 'after the cut');
  await waitFor(() => answers('after the cut').length === 1, 'the answer after the cut', 15_000);
  await waitFor(() => answers('cut off mid-stream').length === 1, 'the answer to the cut-off message', 15_000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const text of ['before the drop', 'queued one', 'queued two', 'cut off mid-stream', 'after the cut']) {
    assert.equal(answers(text).length, 1, `"${text}" is answered once`);
    assert.equal(asked(text), 1, `"${text}" reaches the model once`);
  }
});

test('signal: hearth channels login explains linking signal-cli, since Signal has no token', async () => {
  const home = makeHome();
  homes.push(home);
  const result = await runCli(['channels', 'login', '--channel', 'signal'], testEnv(home), '');
  assert.equal(result.code, 0, result.stderr);
  for (const step of ['signal-cli link -n Hearth', 'QR code', 'signal-cli -a +NUMBER register', 'signal-cli -a +NUMBER daemon --http 127.0.0.1:8080', 'channels.signal.account', 'rpcUrl']) {
    assert.ok(result.stdout.includes(step), `the guidance mentions ${step}`);
  }
  assert.equal(existsSync(join(home, 'credentials', 'channels')), false, 'nothing is saved');
  const json = await runCli(['channels', 'login', '--channel', 'signal', '--json'], testEnv(home), '');
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { channel: string; saved: null; guidance: string };
  assert.equal(parsed.channel, 'signal');
  assert.equal(parsed.saved, null);
  assert.match(parsed.guidance, /signal-cli link/u);
});
