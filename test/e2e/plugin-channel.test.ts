import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FakeModelServer, fakeModelConfig, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';
import { createLoopchatHarness, installLoopchatPlugin } from '../support/platforms/loopchat-harness.js';
import { runChannelContract } from './channel-contract.js';

// A channel a plugin provides passes the same contract as the built-in ones, across its worker.
runChannelContract('loopchat', createLoopchatHarness);

let loopchat: Awaited<ReturnType<typeof createLoopchatHarness>>;
let model: FakeModelServer;
const homes: string[] = [];
const gateways: TestGateway[] = [];

before(async () => {
  loopchat = await createLoopchatHarness();
  model = await startFakeModelServer();
});
after(async () => {
  for (const gateway of gateways) await gateway.kill();
  await loopchat?.close();
  await model?.close();
  for (const home of homes) removeHome(home);
});

async function start(channels: Record<string, unknown>): Promise<TestGateway> {
  const home = makeHome();
  homes.push(home);
  installLoopchatPlugin(home);
  const gateway = await startTestGateway({ home, config: { ...fakeModelConfig(model), channels } });
  gateways.push(gateway);
  return gateway;
}

interface AccountShown {
  channel: string;
  accountId: string;
  state: string;
  connected: boolean;
  botName: string | null;
  lastError: string | null;
  suggestedAction: string | null;
}

async function cli<T>(gateway: TestGateway, args: string[]): Promise<T> {
  const result = await runCli([...args, '--json'], testEnv(gateway.home, { HEARTH_GATEWAY_URL: gateway.url }));
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

const open = { dmPolicy: 'open', allowFrom: ['*'], reconnectDelayMs: 50, reconnectMaxDelayMs: 500 };
const ada = { id: '2001', name: 'Ada' };

test('loopchat: the plugin worker dies; it restarts, the account reconnects, and nothing is answered twice', async () => {
  const account = await loopchat.newAccount();
  const gateway = await start({ loopchat: { ...account.settings, ...open } });
  await waitFor(async () => (await cli<AccountShown[]>(gateway, ['channels', 'status'])).find((item) => item.channel === 'loopchat')?.connected, 'the account to connect');
  await account.dm(ada, 'before the crash');
  await waitFor(() => account.sent().some((message) => message.text.includes('echo: before the crash')), 'the first answer');

  account.crashPlugin();
  const restarted = await waitFor(async () => {
    const { plugins } = await cli<{ plugins: { id: string; state: string; restarts: number; lastError: string | null }[] }>(gateway, ['plugins', 'list']);
    const shown = plugins.find((plugin) => plugin.id === 'loopchat');
    return shown && shown.restarts >= 1 && shown.state === 'running' ? shown : null;
  }, 'the plugin to restart');
  assert.match(restarted.lastError ?? '', /exited with code 3/u);
  const status = await waitFor(async () => (await cli<AccountShown[]>(gateway, ['channels', 'status'])).find((item) => item.channel === 'loopchat' && item.connected), 'the account to reconnect');
  assert.equal(status.botName, `loopbot-${String(account.settings.token)}`);

  await account.dm(ada, 'after the crash');
  await waitFor(() => account.sent().some((message) => message.text.includes('echo: after the crash')), 'the answer after the restart');
  // The restarted plugin read the platform's updates from the start again: the gateway answered each message once.
  assert.equal(account.sent().filter((message) => message.text.includes('echo: before the crash')).length, 1);
  const asked = model.requests.map((request) => JSON.stringify((request.body as { messages: unknown[] }).messages.at(-1)));
  assert.equal(asked.filter((message) => message.includes('before the crash')).length, 1, 'the model was asked once');

});

test('loopchat: an account whose plugin is missing, or lacks the channel, is unhealthy and says why; the others work', async () => {
  const account = await loopchat.newAccount();
  const gateway = await start({
    loopchat: { ...account.settings, ...open, accounts: { good: {}, orphan: { plugin: 'nowhere' } } },
    otherchat: { plugin: 'loopchat', url: 'http://127.0.0.1:9', token: 'x' },
  });
  const shown = await waitFor(async () => {
    const list = await cli<AccountShown[]>(gateway, ['channels', 'status']);
    return list.find((item) => item.accountId === 'good' && item.connected) ? list : null;
  }, 'the good account to connect');
  const orphan = shown.find((item) => item.accountId === 'orphan');
  assert.equal(orphan?.state, 'unhealthy');
  assert.match(orphan?.lastError ?? '', /No plugin "nowhere" is installed/u);
  const other = shown.find((item) => item.channel === 'otherchat');
  assert.equal(other?.state, 'unhealthy');
  assert.match(other?.lastError ?? '', /Plugin "loopchat" does not provide the channel "otherchat" \(it provides: loopchat\)/u);

  // No message yet: the health check asks the plugin's probe.
  const health = await cli<{ status: string; dimensions: { functional: { status: string; detail: string } } }>(gateway, ['channels', 'health', '--channel', 'loopchat', '--account', 'good', '--probe']);
  assert.equal(health.dimensions.functional.status, 'ok');
  assert.match(health.dimensions.functional.detail, /probe: loopbot-token-\d+ answers/u);

  await account.dm(ada, 'still answered');
  await waitFor(() => account.sent().some((message) => message.text.includes('echo: still answered')), 'the good account to answer');
});

test('config: a misspelt built-in channel is refused at load, naming the built-in ones and the plugin key', async () => {
  const home = makeHome();
  homes.push(home);
  writeFileSync(join(home, 'hearth.json5'), JSON.stringify({ channels: { telgram: { botToken: '123:abc' } } }));
  const result = await runCli(['config', 'validate'], testEnv(home));
  assert.notEqual(result.code, 0);
  assert.match(result.stdout + result.stderr, /channels\.telgram: "telgram" is not a built-in channel \(telegram, discord, slack, irc(, [a-z]+)*\): did you mean "telegram"\? If a plugin provides it, name the plugin with "plugin"/u);
});
