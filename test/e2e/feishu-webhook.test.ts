import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LOGIN_FIELDS } from '../../src/channels/channel-credentials.js';
import { type FakeFeishuApp, type FakeFeishuServer, startFakeFeishuServer } from '../support/fake-feishu/fake-feishu-server.js';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

/** One app with an Encrypt Key (encrypted, signed pushes) and one without (plain JSON, token only). */
const sealed: FakeFeishuApp = { appId: 'cli_sealed', appSecret: 'sealed-secret', verificationToken: 'sealed-token', encryptKey: 'sealed-encrypt-key', botOpenId: 'ou_botsealed', botName: 'Hearth Sealed' };
const plain: FakeFeishuApp = { appId: 'cli_plain', appSecret: 'plain-secret', verificationToken: 'plain-token', botOpenId: 'ou_botplain', botName: 'Hearth Plain' };
const ada = { openId: 'ou_ada', name: 'Ada' };
const GROUP = 'oc_group';

let feishu: FakeFeishuServer;
let model: FakeModelServer;
let gateway: TestGateway;
let home: string;

const hook = (account: string) => `${gateway.url}/channels/feishu/${account}/webhook`;
/** The bot's answers that echo `text` (in groups the echo starts with the mention: "echo: @Hearth Plain …"). */
const answers = (appId: string, text: string) => feishu.sent.filter((message) => message.appId === appId && message.text.startsWith('echo:') && message.text.includes(text));
const modelSaw = (text: string) => model.requests.filter((request) => JSON.stringify(request.body).includes(text)).length;

before(async () => {
  feishu = await startFakeFeishuServer({ apps: [sealed, plain], people: [ada], retryDelaysMs: [] });
  model = await startFakeModelServer();
  home = makeHome();
  gateway = await startTestGateway({
    home,
    config: {
      ...fakeModelConfig(model),
      channels: {
        feishu: {
          apiRoot: feishu.url,
          dmPolicy: 'open',
          allowFrom: ['*'],
          groups: [GROUP],
          accounts: {
            sealed: { appId: sealed.appId, appSecret: sealed.appSecret, verificationToken: sealed.verificationToken, encryptKey: sealed.encryptKey },
            plain: { appId: plain.appId, appSecret: plain.appSecret, verificationToken: plain.verificationToken },
          },
        },
      },
    },
  });
  feishu.setWebhook(sealed.appId, hook('sealed'));
  feishu.setWebhook(plain.appId, hook('plain'));
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  await waitFor(async () => {
    const accounts = JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { accountId: string; connected: boolean; botName: string | null }[];
    return accounts.filter((account) => account.connected).length === 2 ? accounts : null;
  }, 'both Feishu accounts to connect');
});

after(async () => {
  await gateway?.kill();
  await feishu?.close();
  await model?.close();
  if (home) removeHome(home);
});

test('feishu: the health probe reads the bot info; login asks for the app secret, verification token and encrypt key', async () => {
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const probed = await runCli(['channels', 'health', '--channel', 'feishu', '--account', 'plain', '--probe', '--json'], env);
  assert.match(probed.stdout, /bot\/v3\/info as Hearth Plain/u, probed.stdout + probed.stderr);

  const login = await runCli(['channels', 'login', '--channel', 'feishu', '--account', 'later'], env, 'the-secret\nthe-token\nthe-key\n');
  assert.equal(login.code, 0, login.stderr);
  // The prompts (shown on a terminal) say where each value is found.
  const prompts = LOGIN_FIELDS.feishu.map((field) => field.prompt).join('\n');
  assert.match(prompts, /App Secret \(.*Credentials & Basic Info/u);
  assert.match(prompts, /Verification Token \(.*Encryption strategy/u);
  assert.deepEqual(LOGIN_FIELDS.feishu.map((field) => [field.key, field.optional === true]), [['appSecret', false], ['verificationToken', false], ['encryptKey', true]]);
  const saved = JSON.parse(readFileSync(join(home, 'credentials', 'channels', 'feishu--later.json'), 'utf8')) as Record<string, string>;
  assert.deepEqual(saved, { appSecret: 'the-secret', verificationToken: 'the-token', encryptKey: 'the-key' });
});

test('feishu: the URL verification challenge is answered as JSON, plain and encrypted, only with the right Verification Token', async () => {
  const challenge = (token: string) => ({ challenge: 'ajls384kdjx98XX', token, type: 'url_verification' });
  const plainAnswer = await feishu.pushOnce(plain.appId, JSON.stringify(challenge(plain.verificationToken)), {});
  assert.equal(plainAnswer.status, 200);
  assert.match(plainAnswer.contentType ?? '', /^application\/json/u);
  assert.deepEqual(JSON.parse(plainAnswer.body), { challenge: 'ajls384kdjx98XX' });

  // With an Encrypt Key Feishu encrypts the challenge and sends no signature headers.
  const encrypted = feishu.sealPush(sealed.appId, challenge(sealed.verificationToken), { sign: false });
  assert.match(encrypted.body, /^\{"encrypt":"/u);
  const sealedAnswer = await feishu.pushOnce(sealed.appId, encrypted.body, encrypted.headers);
  assert.equal(sealedAnswer.status, 200);
  assert.deepEqual(JSON.parse(sealedAnswer.body), { challenge: 'ajls384kdjx98XX' });

  for (const [appId, body] of [
    [plain.appId, JSON.stringify(challenge('not-the-token'))],
    [plain.appId, JSON.stringify({ challenge: 'ajls384kdjx98XX', type: 'url_verification' })],
    [sealed.appId, feishu.sealPush(sealed.appId, challenge('not-the-token'), { sign: false }).body],
    // Encrypted with another key: does not decrypt.
    [sealed.appId, JSON.stringify({ encrypt: feishu.sealPush(plain.appId, challenge(sealed.verificationToken)).body })],
  ] as const) {
    const refused = await feishu.pushOnce(appId, body, {});
    assert.ok(refused.status === 403 || refused.status === 400, `refused with ${refused.status}: ${refused.body}`);
    assert.doesNotMatch(refused.body, /ajls384kdjx98XX/u);
  }
});

test('feishu: an event with a bad signature, no signature or the wrong token is refused and never answered', async () => {
  const forged = feishu.messageEnvelope({ appId: sealed.appId, chatType: 'p2p', chatId: 'oc_p2p_ada', sender: ada, text: 'forged message' });
  const push = feishu.sealPush(sealed.appId, forged.payload);
  const badSignature = await feishu.pushOnce(sealed.appId, push.body, { ...push.headers, 'x-lark-signature': 'f'.repeat(64) });
  assert.equal(badSignature.status, 401);
  const noSignature = await feishu.pushOnce(sealed.appId, push.body, {});
  assert.equal(noSignature.status, 401);
  // The body changed after signing.
  const tampered = feishu.sealPush(sealed.appId, forged.payload);
  const otherBody = feishu.sealPush(sealed.appId, { ...forged.payload, header: { ...(forged.payload.header as object), event_id: 'other' } });
  assert.equal((await feishu.pushOnce(sealed.appId, otherBody.body, tampered.headers)).status, 401);
  // Without an Encrypt Key the Verification Token is the check.
  const wrongToken = feishu.messageEnvelope({ appId: plain.appId, chatType: 'p2p', chatId: 'oc_p2p_ada', sender: ada, text: 'forged plain message' });
  (wrongToken.payload.header as { token: string }).token = 'not-the-token';
  assert.equal((await feishu.pushOnce(plain.appId, JSON.stringify(wrongToken.payload), {})).status, 403);

  // A genuine message afterwards is answered, and the refused ones never were.
  feishu.injectMessage({ appId: sealed.appId, chatType: 'p2p', chatId: 'oc_p2p_ada', sender: ada, text: 'genuine message' });
  await waitFor(() => answers(sealed.appId, 'genuine message').length === 1, 'the answer to the genuine message');
  assert.equal(modelSaw('forged'), 0, 'no forged message reached the model');
  assert.equal(feishu.sent.filter((message) => message.text.includes('forged')).length, 0);
});

test('feishu: a redelivered event is answered once', async () => {
  const envelope = feishu.messageEnvelope({ appId: sealed.appId, chatType: 'p2p', chatId: 'oc_p2p_ada', sender: ada, text: 'say it once' });
  const first = feishu.sealPush(sealed.appId, envelope.payload);
  const again = feishu.sealPush(sealed.appId, envelope.payload);
  // Feishu pushes the same event again when an answer is slow or lost, even side by side.
  const [one, two] = await Promise.all([feishu.pushOnce(sealed.appId, first.body, first.headers), feishu.pushOnce(sealed.appId, again.body, again.headers)]);
  assert.deepEqual([one.status, two.status], [200, 200]);
  // The same message under a new event id.
  const renamed = feishu.sealPush(sealed.appId, { ...envelope.payload, header: { ...(envelope.payload.header as object), event_id: 'a-new-event-id' } });
  assert.equal((await feishu.pushOnce(sealed.appId, renamed.body, renamed.headers)).status, 200);
  await waitFor(() => answers(sealed.appId, 'say it once').length >= 1, 'the answer');
  // Another chat, so its turn does not carry the first message in its history.
  feishu.injectMessage({ appId: sealed.appId, chatType: 'p2p', chatId: 'oc_p2p_bob', sender: { openId: 'ou_bob', name: 'Bob' }, text: 'and this after' });
  await waitFor(() => answers(sealed.appId, 'and this after').length === 1, 'the next answer');
  assert.equal(answers(sealed.appId, 'say it once').length, 1, 'answered once');
  assert.equal(modelSaw('say it once'), 1, 'one turn');
});

test('feishu: group replies use the reply API (in the topic for a thread), with the sender\'s name; a stale token is renewed', async () => {
  const { messageId } = feishu.injectMessage({ appId: plain.appId, chatType: 'group', chatId: GROUP, sender: ada, text: 'who am I', mentionBot: true });
  const reply = await waitFor(() => answers(plain.appId, 'who am I')[0], 'the group answer');
  assert.equal(reply.chatId, GROUP);
  assert.equal(reply.replyTo, messageId);
  assert.equal(reply.replyInThread, false);
  assert.match(reply.text, /Ada/u, 'the model saw the sender\'s name from the contact API');
  assert.doesNotMatch(reply.text, /@_user_1/u, 'the mention placeholder became the bot\'s name');

  feishu.injectMessage({ appId: plain.appId, chatType: 'group', chatId: GROUP, sender: ada, text: 'in the topic', mentionBot: true, threadRootId: messageId });
  const threaded = await waitFor(() => answers(plain.appId, 'in the topic')[0], 'the topic answer');
  assert.equal(threaded.replyTo, messageId);
  assert.equal(threaded.replyInThread, true);

  feishu.expireTokens();
  feishu.injectMessage({ appId: plain.appId, chatType: 'p2p', chatId: 'oc_p2p_ada', sender: ada, text: 'after the token expired' });
  await waitFor(() => answers(plain.appId, 'after the token expired').length === 1, 'the answer with a new token');
});
