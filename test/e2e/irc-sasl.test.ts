/**
 * IRC with SASL end to end: the real gateway's IRC account logs in with SASL PLAIN on a scripted
 * server (ngircd has no SASL). Right credentials: the account authenticates during capability
 * negotiation, registers and answers a private message. Wrong password: the account is unhealthy
 * with an auth error and a suggested fix, and the gateway keeps serving.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';
import { type SaslIrcServer, startSaslIrcServer } from '../support/irc/sasl-irc-server.js';

const TEST = { timeout: 30_000 };
const ACCOUNT = 'hearthbot';
const PASSWORD = 'correct horse battery staple';

type Status = { accountId: string; state: string; connected: boolean; authenticated: boolean; botName: string | null; lastError: string | null; suggestedAction: string | null };

let model: FakeModelServer;
const servers: SaslIrcServer[] = [];
const gateways: TestGateway[] = [];
const homes: string[] = [];

before(async () => {
  model = await startFakeModelServer();
});
after(async () => {
  for (const gateway of gateways) await gateway.stop();
  for (const server of servers) await server.close();
  await model?.close();
  for (const home of homes) removeHome(home);
});

async function start(password: string): Promise<{ server: SaslIrcServer; gateway: TestGateway; status: () => Promise<Status | undefined> }> {
  const server = await startSaslIrcServer({ accounts: { [ACCOUNT]: PASSWORD } });
  servers.push(server);
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      ...fakeModelConfig(model),
      channels: {
        irc: { host: server.host, port: server.port, nick: 'hearthsasl', sasl: { account: ACCOUNT, password }, channels: ['#hearth'], dmPolicy: 'open', allowFrom: ['*'] },
      },
    },
  });
  gateways.push(gateway);
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const status = async () => {
    const result = await runCli(['channels', 'status', '--json'], env);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as Status[]).find((item) => item.accountId === 'default');
  };
  return { server, gateway, status };
}

test('irc sasl: the right credentials log in during capability negotiation, and the bot answers', TEST, async () => {
  const { server, status } = await start(PASSWORD);
  const connected = await waitFor(async () => {
    const item = await status();
    return item?.connected ? item : null;
  }, 'the IRC account to connect');
  assert.equal(connected.state, 'connected');
  assert.equal(connected.authenticated, true);
  assert.equal(connected.botName, 'hearthsasl');
  assert.deepEqual(server.authenticated, [ACCOUNT]);

  // What irc-framework sent, in order: SASL happens before CAP END, so before registration completes.
  const order = ['CAP LS 302', 'NICK hearthsasl', 'CAP REQ :sasl multi-prefix', 'AUTHENTICATE PLAIN', 'CAP END'].map((line) => server.lines.indexOf(line));
  assert.ok(order.every((index, i) => index !== -1 && (i === 0 || index > (order[i - 1] ?? -1))), `unexpected order: ${JSON.stringify(server.lines)}`);
  const payload = server.lines.find((line) => line.startsWith('AUTHENTICATE ') && line !== 'AUTHENTICATE PLAIN');
  assert.equal(payload, `AUTHENTICATE ${Buffer.from(`${ACCOUNT}\0${ACCOUNT}\0${PASSWORD}`).toString('base64')}`);
  await server.waitForLine((line) => line === 'JOIN #hearth');

  server.sendToBot('ada', 'hello over sasl');
  const answer = await server.waitForPrivmsg((message) => message.target === 'ada' && message.text.includes('echo: hello over sasl'));
  assert.equal(answer.from, 'hearthsasl');
});

test('irc sasl: a wrong password makes the account unhealthy with a fix; the gateway keeps running', TEST, async () => {
  const wrong = 'not the password';
  const { server, gateway, status } = await start(wrong);
  const unhealthy = await waitFor(async () => {
    const item = await status();
    return item?.state === 'unhealthy' ? item : null;
  }, 'the IRC account to be unhealthy');
  assert.equal(unhealthy.connected, false);
  assert.equal(unhealthy.authenticated, false);
  assert.match(unhealthy.lastError ?? '', /SASL authentication failed/u);
  assert.match(unhealthy.suggestedAction ?? '', /sasl/u);
  assert.deepEqual(server.authenticated, []);
  // The bot gives up instead of carrying on unauthenticated.
  await server.waitForLine((line) => line.startsWith('QUIT') && line.includes('Authentication failed'));

  assert.equal(gateway.child.exitCode, null, `the gateway exited:\n${gateway.output()}`);
  const health = await fetch(`${gateway.url}/health`);
  assert.equal(health.status, 200);
  assert.doesNotMatch(gateway.output(), new RegExp(wrong, 'u'), 'the password is not logged');
});
