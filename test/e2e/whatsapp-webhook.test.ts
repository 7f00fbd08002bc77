import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { connectGateway } from '../../src/cli/gateway-client.js';
import type { ChannelHealthReport } from '../../src/contracts/channel.js';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { type FakeWhatsAppServer, signWhatsAppPush, startFakeWhatsAppServer } from '../support/fake-whatsapp/fake-whatsapp-server.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv, waitFor } from '../support/gateway-harness.js';
import { fakeWhatsAppNumbers } from '../support/platforms/whatsapp-harness.js';
import { answerBeforeBody } from '../support/raw-http.js';

const numbers = fakeWhatsAppNumbers(4, 50);
const [main, deaf, learned, login] = numbers as [(typeof numbers)[number], (typeof numbers)[number], (typeof numbers)[number], (typeof numbers)[number]];
let whatsapp: FakeWhatsAppServer;
let model: FakeModelServer;
const homes: string[] = [];

before(async () => {
  whatsapp = await startFakeWhatsAppServer({ numbers });
  model = await startFakeModelServer();
});
after(async () => {
  await whatsapp?.close();
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

const settingsOf = (number: (typeof numbers)[number]) => ({
  phoneNumberId: number.phoneNumberId,
  accessToken: number.accessToken,
  appSecret: number.appSecret,
  verifyToken: number.verifyToken,
  businessAccountId: number.businessAccountId,
});

const answers = (number: (typeof numbers)[number], text: string) => whatsapp.sent.filter((message) => message.phoneNumberId === number.phoneNumberId && message.text.includes(text));

test('whatsapp webhook: the verification handshake, signatures checked before anything is stored, redeliveries answered once', async () => {
  const port = await freePort();
  const home = makeHome();
  homes.push(home);
  const base = `http://127.0.0.1:${port}`;
  const hookUrl = `${base}/channels/whatsapp/main/webhook`;
  const gateway = await startTestGateway({
    home,
    port,
    config: {
      ...fakeModelConfig(model),
      channels: {
        whatsapp: {
          apiRoot: whatsapp.apiRoot,
          dmPolicy: 'open',
          allowFrom: ['*'],
          accounts: { main: settingsOf(main), noverify: { ...settingsOf(login), verifyToken: undefined } },
        },
      },
    },
  });
  const post = (body: string, headers: Record<string, string>) => fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const dm = (text: string, extra: Record<string, unknown> = {}) =>
    whatsapp.buildPush(main.phoneNumberId, {
      contacts: [{ profile: { name: 'Ada' }, wa_id: '15550001001' }],
      messages: [{ from: '15550001001', id: `wamid.test-${text.replace(/\W/gu, '-')}`, timestamp: '1765000000', type: 'text', text: { body: text }, ...extra }],
    });
  try {
    // Meta's handshake: the challenge is echoed only for the right verify token.
    const right = await whatsapp.verifyCallback(hookUrl, main.verifyToken);
    assert.equal(right.status, 200);
    assert.ok(right.echoed, `the challenge is echoed (got ${right.body})`);
    const wrong = await whatsapp.verifyCallback(hookUrl, 'not-the-verify-token');
    assert.equal(wrong.status, 403);
    assert.equal(wrong.echoed, false);
    const wrongMode = await whatsapp.verifyCallback(hookUrl, main.verifyToken, 'unsubscribe');
    assert.equal(wrongMode.status, 403);
    const noToken = await whatsapp.verifyCallback(`${base}/channels/whatsapp/noverify/webhook`, login.verifyToken);
    assert.equal(noToken.status, 403);
    assert.match(noToken.body, /channels\.whatsapp\.accounts\.noverify\.verifyToken/u);
    const nobody = await whatsapp.verifyCallback(`${base}/channels/whatsapp/nobody/webhook`, main.verifyToken);
    assert.equal(nobody.status, 404);
    await whatsapp.setCallback(main.phoneNumberId, hookUrl, main.verifyToken);

    // Pushes without a valid signature are refused before anything is stored.
    const forged = dm('forged message');
    assert.equal((await post(forged, {})).status, 401, 'no signature');
    assert.equal((await post(forged, { 'x-hub-signature-256': 'sha1=abc' })).status, 401, 'a malformed signature');
    assert.equal((await post(forged, { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` })).status, 403, 'a wrong signature');
    assert.equal((await post(forged, { 'x-hub-signature-256': signWhatsAppPush('another-app-secret', forged) })).status, 403, 'signed with another app secret');
    const tampered = dm('tampered message');
    assert.equal((await post(tampered, { 'x-hub-signature-256': signWhatsAppPush(main.appSecret, tampered.replace('tampered', 'original')) })).status, 403, 'a body changed after signing');
    const fourMiB = 4 * 1024 * 1024;
    assert.equal((await answerBeforeBody(hookUrl, { contentLength: fourMiB })).status, 401, 'refused before the body arrives');
    assert.equal((await answerBeforeBody(hookUrl, { contentLength: fourMiB, headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` } })).status, 413, 'a body over the 3 MB cap');

    // A signed push is answered; Meta's redelivery of it is not answered again.
    const hello = dm('hello over the webhook');
    const signed = { 'x-hub-signature-256': signWhatsAppPush(main.appSecret, hello) };
    assert.equal((await post(hello, signed)).status, 200);
    const reply = await waitFor(() => answers(main, 'echo: hello over the webhook')[0], 'the answer');
    assert.equal(reply.to, '15550001001');
    assert.equal((await post(hello, signed)).status, 200);

    // Media arrive as attachments with their caption; statuses and other numbers' changes are left alone.
    const photo = dm('photo', { type: 'image', text: undefined, image: { id: '1479537139650973', mime_type: 'image/jpeg', sha256: 'abc', caption: 'look at this' } });
    assert.equal((await post(photo, { 'x-hub-signature-256': signWhatsAppPush(main.appSecret, photo) })).status, 200);
    await waitFor(() => answers(main, 'look at this').length > 0, 'the answer to the photo');
    assert.ok(model.requests.some((request) => JSON.stringify(request.body).includes('look at this\\n[image]')), 'the model is told of the image');
    whatsapp.injectStatus(main.phoneNumberId, { id: reply.id, recipient: '15550001001', status: 'read' });
    const other = dm('for another number').replace(main.phoneNumberId, '999999999999');
    assert.equal((await post(other, { 'x-hub-signature-256': signWhatsAppPush(main.appSecret, other) })).status, 200);
    whatsapp.injectMessage(main.phoneNumberId, { from: '15550001002', name: 'Bob', text: 'last one' });
    await waitFor(() => answers(main, 'echo: last one').length > 0, 'the answer after the statuses');

    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(answers(main, 'hello over the webhook').length, 1, 'the redelivered push was answered once');
    for (const text of ['forged message', 'tampered message', 'original message', 'for another number']) assert.equal(answers(main, text).length, 0, `"${text}" was not answered`);
    assert.equal(model.requests.filter((request) => /forged|tampered/u.test(JSON.stringify(request.body))).length, 0, 'refused pushes never reach the model');
    assert.equal(gateway.child.exitCode, null);
  } finally {
    await gateway.stop();
  }
});

test('whatsapp health: a linked number whose app is not subscribed to webhooks is degraded with the fix, and ok once subscribed', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      ...fakeModelConfig(model),
      channelHealth: { intervalMs: 300, functionalWindowMs: 0, probeTimeoutMs: 2000, maxRecoveryAttempts: 1 },
      channels: {
        whatsapp: {
          apiRoot: whatsapp.apiRoot,
          dmPolicy: 'open',
          allowFrom: ['*'],
          accounts: { deaf: settingsOf(deaf), learned: { ...settingsOf(learned), businessAccountId: undefined } },
        },
      },
    },
  });
  const client = await connectGateway(gateway.url, gateway.token);
  const health = (account: string) => client.call<ChannelHealthReport>('channels.health.get', { channel: 'whatsapp', account });
  const functional = async (account: string, status: string, detail: RegExp) => {
    return waitFor(async () => {
      const report = await health(account);
      return report.dimensions.functional.status === status && detail.test(report.dimensions.functional.detail ?? '') ? report : null;
    }, `${account} functional ${status} (${detail})`);
  };
  try {
    await whatsapp.setCallback(deaf.phoneNumberId, `${gateway.url}/channels/whatsapp/deaf/webhook`, deaf.verifyToken);
    await whatsapp.setCallback(learned.phoneNumberId, `${gateway.url}/channels/whatsapp/learned/webhook`, learned.verifyToken);
    await functional('deaf', 'ok', /1 app\(s\) subscribed to the webhooks of WhatsApp Business Account/u);

    // Someone unsubscribes the app: the number still answers, but Meta delivers nothing.
    whatsapp.setSubscribed(deaf.phoneNumberId, false);
    whatsapp.injectMessage(deaf.phoneNumberId, { from: '15550001001', name: 'Ada', text: 'is anyone there?' });
    const degraded = await functional('deaf', 'degraded', /no app is subscribed to the webhooks of WhatsApp Business Account/u);
    assert.equal(degraded.dimensions.transport.status, 'ok', 'the account itself looks connected');
    assert.equal(degraded.dimensions.application.status, 'ok', 'the token works');
    assert.match(degraded.dimensions.functional.suggestedAction ?? '', new RegExp(`POST https://graph\\.facebook\\.com/v\\d+\\.\\d+/${deaf.businessAccountId}/subscribed_apps`, 'u'));
    assert.match(degraded.dimensions.functional.suggestedAction ?? '', /\/channels\/whatsapp\/deaf\/webhook/u);
    const shown = await runCli(['channels', 'health', '--channel', 'whatsapp', '--account', 'deaf'], testEnv(home, { HEARTH_GATEWAY_URL: gateway.url }));
    assert.equal(shown.code, 1, 'a degraded account fails the health command');
    assert.match(shown.stdout, /subscribed_apps/u);
    assert.equal(answers(deaf, 'is anyone there?').length, 0);

    // The fix the health check suggests: subscribe the app again.
    const fix = await fetch(`${whatsapp.apiRoot}/v25.0/${deaf.businessAccountId}/subscribed_apps`, { method: 'POST', headers: { authorization: `Bearer ${deaf.accessToken}` } });
    assert.equal(fix.status, 200);
    await functional('deaf', 'ok', /1 app\(s\) subscribed/u);
    whatsapp.injectMessage(deaf.phoneNumberId, { from: '15550001001', name: 'Ada', text: 'back again' });
    await waitFor(() => answers(deaf, 'echo: back again').length > 0, 'the answer once subscribed');

    // Without businessAccountId the subscription is checked once a push has named the business account.
    await functional('learned', 'ok', /set channels\.whatsapp\.accounts\.learned\.businessAccountId/u);
    whatsapp.injectMessage(learned.phoneNumberId, { from: '15550001002', name: 'Bob', text: 'hi' });
    await waitFor(() => answers(learned, 'echo: hi').length > 0, 'the answer');
    whatsapp.setSubscribed(learned.phoneNumberId, false);
    await functional('learned', 'degraded', new RegExp(`WhatsApp Business Account ${learned.businessAccountId}`, 'u'));
    whatsapp.setSubscribed(learned.phoneNumberId, true);
    await functional('learned', 'ok', /1 app\(s\) subscribed/u);
  } finally {
    client.close();
    await gateway.stop();
  }
});

test('whatsapp login: hearth channels login takes the access token and app secret; the number in the config starts', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      ...fakeModelConfig(model),
      channels: { whatsapp: { apiRoot: whatsapp.apiRoot, phoneNumberId: login.phoneNumberId, verifyToken: login.verifyToken, dmPolicy: 'open', allowFrom: ['*'] } },
    },
  });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  try {
    const before = JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { accountId: string; lastError: string | null }[];
    assert.match(before.find((item) => item.accountId === 'default')?.lastError ?? '', /accessToken is not set/u);
    const result = await runCli(['channels', 'login', '--channel', 'whatsapp'], env, `${login.accessToken}\n${login.appSecret}\n`);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, new RegExp(`${login.accessToken}|${login.appSecret}`, 'u'), 'the secrets are never printed');
    await whatsapp.setCallback(login.phoneNumberId, `${gateway.url}/channels/whatsapp/default/webhook`, login.verifyToken);
    whatsapp.injectMessage(login.phoneNumberId, { from: '15550001003', name: 'Cy', text: 'logged in?' });
    await waitFor(() => answers(login, 'echo: logged in?').length > 0, 'the answer');
  } finally {
    await gateway.stop();
  }
});
