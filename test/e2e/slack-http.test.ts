import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { type FakeSlackServer, signSlackRequest, startFakeSlackServer } from '../support/fake-slack/fake-slack-server.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv, waitFor } from '../support/gateway-harness.js';
import { answerBeforeBody } from '../support/raw-http.js';

let slack: FakeSlackServer;
let model: FakeModelServer;
const homes: string[] = [];

before(async () => {
  slack = await startFakeSlackServer({ signingSecret: 'hearth-signing-secret-1' });
  model = await startFakeModelServer();
});
after(async () => {
  await slack?.close();
  await model?.close();
  for (const home of homes) removeHome(home);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

interface AccountStatus {
  channel: string;
  accountId: string;
  state: string;
  connected: boolean;
  botName: string | null;
  lastError: string | null;
  reconnects: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('slack http mode: signed Events API requests are verified, answered once, and garbage does not hurt', async () => {
  const port = await freePort();
  const home = makeHome();
  homes.push(home);
  const hookUrl = `http://127.0.0.1:${port}/channels/slack/main/webhook`;
  const secret = slack.signingSecret;
  // A short stall timeout: the auth.test check (every stallTimeoutMs / 3) must keep the account alive.
  const stallTimeoutMs = 3_000;
  const gateway = await startTestGateway({
    home,
    port,
    config: {
      ...fakeModelConfig(model),
      channels: {
        slack: {
          mode: 'http',
          apiRoot: slack.apiUrl,
          dmPolicy: 'open',
          allowFrom: ['*'],
          accounts: {
            main: { botToken: slack.botToken, signingSecret: secret, stallTimeoutMs },
            unsigned: { botToken: slack.botToken },
          },
        },
      },
    },
  });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const status = async () => JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as AccountStatus[];
  const account = async (id: string) => (await status()).find((item) => item.channel === 'slack' && item.accountId === id);
  const answers = (text: string) => slack.sent.filter((message) => message.method === 'chat.postMessage' && message.text.includes(`echo: ${text}`));
  const dm = (text: string) => slack.buildMessageEvent({ channelType: 'im', channel: 'D0HTTPADA', user: 'U0HTTPADA', text, extra: { user_profile: { real_name: 'Ada', name: 'ada' } } });
  try {
    const connected = await waitFor(async () => {
      const main = await account('main');
      return main?.connected ? main : undefined;
    }, 'the http-mode account to connect');
    assert.equal(connected.state, 'connected');
    assert.equal(connected.botName, '@fake-bot-1');
    const unsigned = await account('unsigned');
    assert.equal(unsigned?.connected, false);
    assert.match(unsigned?.lastError ?? '', /mode "http" but signingSecret is not set/u);

    // Slack's Request URL check.
    const verification = await slack.pushUrlVerification(hookUrl, secret);
    assert.equal(verification.status, 200);
    assert.ok(verification.echoed, `the challenge is echoed (got ${verification.body})`);

    // A signed DM is answered through chat.postMessage.
    const first = dm('hello over http');
    const delivered = await slack.pushEventHttp(hookUrl, secret, first);
    assert.equal(delivered.status, 200);
    const reply = await waitFor(() => answers('hello over http')[0], 'the answer to the DM');
    assert.equal(reply.channel, 'D0HTTPADA');
    assert.equal(reply.threadTs, undefined);

    // Slack's retry of the same event (and a retry racing a first delivery) is answered once.
    const retried = await slack.pushEventHttp(hookUrl, secret, first, { retryNum: 1, retryReason: 'http_timeout' });
    assert.equal(retried.status, 200);
    const racing = dm('twice at once');
    const [one, two] = await Promise.all([slack.pushEventHttp(hookUrl, secret, racing), slack.pushEventHttp(hookUrl, secret, racing, { retryNum: 1 })]);
    assert.equal(one.status, 200);
    assert.equal(two.status, 200);
    await waitFor(() => answers('twice at once').length > 0, 'the answer to the raced event');

    // A wrong signature and a stale timestamp are refused and never answered.
    const forged = await slack.pushEventHttp(hookUrl, secret, dm('forged message'), { signature: `v0=${'0'.repeat(64)}` });
    assert.equal(forged.status, 401);
    const wrongKey = await slack.pushEventHttp(hookUrl, 'not-the-signing-secret', dm('signed with another key'));
    assert.equal(wrongKey.status, 401);
    const stale = await slack.pushEventHttp(hookUrl, secret, dm('stale message'), { timestamp: Math.floor(Date.now() / 1000) - 600 });
    assert.equal(stale.status, 401);
    // The account and the signature headers are checked before the body is read; the body is capped for Slack.
    const fourMiB = 4 * 1024 * 1024;
    const now = String(Math.floor(Date.now() / 1000));
    const noAccount = await answerBeforeBody(`http://127.0.0.1:${port}/channels/slack/nobody/webhook`, { contentLength: fourMiB });
    assert.equal(noAccount.status, 404, 'an unknown account is answered before its body arrives');
    const noSignature = await answerBeforeBody(hookUrl, { contentLength: fourMiB });
    assert.equal(noSignature.status, 401, 'a request without a signature is answered before its body arrives');
    const staleHeaders = await answerBeforeBody(hookUrl, { contentLength: fourMiB, headers: { 'x-slack-request-timestamp': String(Number(now) - 600), 'x-slack-signature': `v0=${'0'.repeat(64)}` } });
    assert.equal(staleHeaders.status, 401, 'a stale timestamp is answered before the body arrives');
    const tooLarge = await answerBeforeBody(hookUrl, { contentLength: 2 * 1024 * 1024, headers: { 'x-slack-request-timestamp': now, 'x-slack-signature': `v0=${'0'.repeat(64)}` } });
    assert.equal(tooLarge.status, 413, 'a body over the 1 MiB Slack cap is refused');
    const unsignedPost = await fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'url_verification', challenge: 'x' }) });
    assert.equal(unsignedPost.status, 401);

    // Signed garbage is taken (200, so Slack does not retry it) and the gateway keeps serving.
    const timestamp = Math.floor(Date.now() / 1000);
    const garbage = '{"type": "event_callback", "event": ';
    const malformed = await fetch(hookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signSlackRequest(secret, timestamp, garbage) },
      body: garbage,
    });
    assert.equal(malformed.status, 200);
    const notEvent = await slack.pushEventHttp(hookUrl, secret, { type: 'event_callback', event: 'not an object' });
    assert.equal(notEvent.status, 200);
    const after = await slack.pushEventHttp(hookUrl, secret, dm('still there?'));
    assert.equal(after.status, 200);
    await waitFor(() => answers('still there?').length > 0, 'the answer after the garbage');

    // Outlive the stall timeout: the auth.test checks are the sign of life, so no reconnect happens.
    await pause(stallTimeoutMs + 500);
    assert.equal(answers('hello over http').length, 1, 'the retried event was answered once');
    assert.equal(answers('twice at once').length, 1, 'the raced event was answered once');
    for (const text of ['forged message', 'signed with another key', 'stale message']) assert.equal(answers(text).length, 0, `"${text}" was not answered`);
    assert.ok(slack.apiCalls.filter((call) => call.method === 'auth.test').length >= 3, 'auth.test is called repeatedly');
    assert.equal(slack.connectionsOpened, 0, 'no Socket Mode connection in http mode');
    assert.equal(gateway.child.exitCode, null, 'the gateway is still running');
    const final = await account('main');
    assert.equal(final?.connected, true);
    assert.equal(final?.state, 'connected');
    assert.equal(final?.reconnects, 0);
    assert.match(gateway.output(), /skipped a platform payload that could not be understood/u);
  } finally {
    await gateway.stop();
  }
});
