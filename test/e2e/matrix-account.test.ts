import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ChannelHealthReport } from '../../src/contracts/channel.js';
import { fakeMatrixEvent, type FakeMatrixServer, startFakeMatrixServer } from '../support/fake-matrix/fake-matrix-server.js';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';
import { addMatrixBot, matrixText } from '../support/platforms/matrix-harness.js';

let server: FakeMatrixServer;
let model: FakeModelServer;
const homes: string[] = [];
const gateways: TestGateway[] = [];
let bots = 100;

const ada = { id: '1', name: 'Ada' };
const bob = { id: '2', name: 'Bob' };
const fast = { typingIntervalMs: 100, reconnectDelayMs: 50, reconnectMaxDelayMs: 500 };

before(async () => {
  server = await startFakeMatrixServer();
  model = await startFakeModelServer();
});
after(async () => {
  for (const gateway of gateways) await gateway.kill();
  await server?.close();
  await model?.close();
  for (const home of homes) removeHome(home);
});

async function start(matrix: Record<string, unknown>, home?: string, extra: Record<string, unknown> = {}): Promise<TestGateway> {
  const dir = home ?? makeHome();
  if (!home) homes.push(dir);
  const gateway = await startTestGateway({ home: dir, config: { ...fakeModelConfig(model), ...extra, channels: { matrix: { ...fast, ...matrix } } } });
  gateways.push(gateway);
  const env = testEnv(dir, { HEARTH_GATEWAY_URL: gateway.url });
  await waitFor(async () => {
    const status = JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { connected: boolean }[];
    return status[0]?.connected;
  }, 'the Matrix account to connect');
  return gateway;
}

const replies = (userId: string, roomId: string) => server.sent.filter((item) => item.userId === userId && item.roomId === roomId).map((item) => String(item.content.body));
/** Turns the model ran for a message: requests whose last user message is it (later turns carry it as history). */
const modelSaw = (text: string) =>
  model.requests.filter((request) => {
    const messages = (request.body as { messages?: { role: string; content: unknown }[] } | undefined)?.messages ?? [];
    return JSON.stringify(messages.filter((message) => message.role === 'user').at(-1)?.content ?? '').includes(text);
  }).length;

test('matrix: a restart resumes /sync from the saved token: a message sent while down is answered once, older ones are not answered again', async () => {
  const bot = addMatrixBot(server, ++bots);
  const dm = bot.dmRoom(ada);
  const adaId = `@ada:hearth.test`;
  server.post(dm, adaId, matrixText('written before Hearth ever started'));
  const first = await start({ ...bot.settings, dmPolicy: 'open', allowFrom: ['*'] });
  server.post(dm, adaId, matrixText('first question'));
  await waitFor(() => replies(bot.userId, dm).includes('echo: first question'), 'the first answer');
  const answered = server.sent.find((item) => item.content.body === 'echo: first question');
  assert.equal(answered?.content.format, 'org.matrix.custom.html', 'replies carry HTML');
  const receipt = await waitFor(() => server.receipts.find((item) => item.userId === bot.userId && item.roomId === dm), 'a read receipt for the handled message');
  assert.equal(receipt.receiptType, 'm.read');

  assert.equal(await first.stop(), 0);
  const whileDown = server.post(dm, adaId, matrixText('sent while the gateway was down'));
  const syncsBefore = server.syncs.length;
  const second = await start({ ...bot.settings, dmPolicy: 'open', allowFrom: ['*'] }, first.home);
  await waitFor(() => replies(bot.userId, dm).includes('echo: sent while the gateway was down'), 'the answer after the restart');
  const resumed = server.syncs.slice(syncsBefore).find((call) => call.userId === bot.userId);
  assert.match(resumed?.since ?? '', /^s\d+$/u, 'the first sync after the restart starts from the saved token');
  await waitFor(() => server.receipts.some((item) => item.userId === bot.userId && item.eventId === whileDown), 'the read receipt after the restart');

  server.post(dm, adaId, matrixText('and one more'));
  await waitFor(() => replies(bot.userId, dm).includes('echo: and one more'), 'the next answer');
  const texts = replies(bot.userId, dm);
  assert.equal(texts.filter((text) => text === 'echo: first question').length, 1, 'the message before the restart is not answered again');
  assert.equal(texts.filter((text) => text === 'echo: sent while the gateway was down').length, 1);
  assert.equal(modelSaw('first question'), 1, 'its turn did not run again');
  assert.equal(model.requests.filter((request) => JSON.stringify(request.body).includes('written before Hearth ever started')).length, 0, 'history from before the first start is not answered');
  await second.stop();
});

test('matrix: after an outage longer than one sync holds (250 messages in a DM), the sync\'s gap is read back: every message is answered once, in order', { timeout: 120_000 }, async () => {
  const bot = addMatrixBot(server, ++bots);
  const dm = bot.dmRoom(ada);
  const adaId = '@ada:hearth.test';
  const settings = { ...bot.settings, dmPolicy: 'allowlist', allowFrom: [adaId] };
  server.post(dm, adaId, matrixText('an old question from before Hearth ever started'));
  const first = await start(settings);
  server.post(dm, adaId, matrixText('a question before the outage'));
  await waitFor(() => replies(bot.userId, dm).includes('echo: a question before the outage'), 'the answer before the outage');
  assert.equal(await first.stop(), 0);

  const whileDown = Array.from({ length: 250 }, (_, index) => `message ${index + 1} of 250 sent while the gateway was down`);
  for (const text of whileDown) server.post(dm, adaId, matrixText(text));
  const pagingBefore = server.messagesCalls.length;
  const second = await start(settings, first.home);
  await waitFor(() => replies(bot.userId, dm).length >= 1 + whileDown.length, 'every message sent while down to be answered', 60_000);
  server.post(dm, adaId, matrixText('and one after'));
  await waitFor(() => replies(bot.userId, dm).includes('echo: and one after'), 'the answer after the catch-up', 30_000);

  assert.deepEqual(
    replies(bot.userId, dm),
    ['echo: a question before the outage', ...whileDown.map((text) => `echo: ${text}`), 'echo: and one after'],
    'each answered once, in the order they were sent',
  );
  const paging = server.messagesCalls.slice(pagingBefore).filter((call) => call.roomId === dm);
  assert.ok(paging.length >= 2 && paging.every((call) => call.dir === 'b' && /^s\d+$/u.test(call.to ?? '')), 'the gap was paged back to the saved sync token');
  assert.match(second.output(), /read back the events a Matrix sync left out of a room/u);
  assert.equal(model.requests.filter((request) => JSON.stringify(request.body).includes('an old question from before Hearth ever started')).length, 0, 'history from before the first start is still not answered');
  await second.stop();
});

test('matrix: invites are joined by policy: an allowlisted person\'s DM and a listed room; a stranger\'s DM and an unlisted room are declined', async () => {
  const bot = addMatrixBot(server, ++bots);
  const adaId = server.addUser('ada', { displayName: 'Ada' });
  const bobId = server.addUser('bob', { displayName: 'Bob' });
  const listed = server.createRoom({ members: [adaId, bobId], name: 'Listed room' });
  const unlisted = server.createRoom({ members: [bobId], name: 'Unlisted room' });
  const strangerDm = server.createRoom({ members: [bobId] });
  // Pending before the gateway starts: they arrive with the first sync.
  server.invite(listed, adaId, bot.userId);
  server.invite(strangerDm, bobId, bot.userId, { direct: true });
  const gateway = await start({ ...bot.settings, dmPolicy: 'allowlist', allowFrom: [adaId], groupPolicy: 'allowlist', groups: [listed] });
  // Arriving while it runs.
  const adaDm = server.createRoom({ members: [adaId] });
  server.invite(adaDm, adaId, bot.userId, { direct: true });
  server.invite(unlisted, bobId, bot.userId);

  await waitFor(() => server.membership(adaDm, bot.userId) === 'join', 'the bot to join Ada\'s DM');
  await waitFor(() => server.membership(listed, bot.userId) === 'join', 'the bot to join the listed room');
  await waitFor(() => server.membership(strangerDm, bot.userId) === 'leave', 'the stranger\'s DM invite to be declined');
  await waitFor(() => server.membership(unlisted, bot.userId) === 'leave', 'the unlisted room invite to be declined');
  assert.match(gateway.output(), /declined a Matrix invite: the inviter @bob:hearth\.test is not in allowFrom/u);
  assert.match(gateway.output(), /declined a Matrix invite: the room !\S+ is not in groups/u);

  server.post(adaDm, adaId, matrixText('thanks for joining'));
  await waitFor(() => replies(bot.userId, adaDm).includes('echo: thanks for joining'), 'the answer in the DM');
  server.post(listed, bobId, matrixText('what is new?', { userId: bot.userId, displayName: bot.displayName }));
  await waitFor(() => replies(bot.userId, listed).some((text) => text.includes('what is new?')), 'the answer in the listed room');
  const reply = server.sent.find((item) => item.roomId === listed && item.userId === bot.userId);
  assert.ok((reply?.content['m.relates_to'] as { 'm.in_reply_to'?: unknown } | undefined)?.['m.in_reply_to'], 'a room reply says which message it answers');
  assert.deepEqual(replies(bot.userId, strangerDm), []);
  await gateway.stop();
});

test('matrix: a message in an encrypted room is reported as unsupported and not answered', async () => {
  const bot = addMatrixBot(server, ++bots);
  const adaId = server.addUser('ada', { displayName: 'Ada' });
  const secret = server.createRoom({ members: [adaId, bot.userId], encrypted: true });
  const gateway = await start({ ...bot.settings, dmPolicy: 'open', allowFrom: ['*'] });
  server.post(secret, adaId, fakeMatrixEvent.megolm(), 'm.room.encrypted');
  await waitFor(() => /an end-to-end encrypted message in !\S+ was not read or answered/u.test(gateway.output()), 'the encrypted message to be reported');

  const env = testEnv(gateway.home, { HEARTH_GATEWAY_URL: gateway.url });
  const probed = await runCli(['channels', 'health', '--channel', 'matrix', '--probe', '--json'], env);
  const report = JSON.parse(probed.stdout) as ChannelHealthReport;
  assert.equal(report.dimensions.functional.status, 'degraded', 'only unreadable messages arrive: the account does not work for these people');
  assert.match(report.dimensions.functional.detail ?? '', /1 end-to-end encrypted message\(s\) in 1 room\(s\)/u);
  assert.match(report.dimensions.functional.suggestedAction ?? '', /encryption off/u);

  // A readable message in another room is answered; the encrypted one never is.
  const dm = bot.dmRoom(ada);
  server.post(dm, adaId, matrixText('can you read this?'));
  await waitFor(() => replies(bot.userId, dm).includes('echo: can you read this?'), 'the answer in the unencrypted room');
  assert.deepEqual(replies(bot.userId, secret), []);
  assert.equal(server.typing.filter((item) => item.roomId === secret).length, 0, 'no typing in the encrypted room');
  const again = JSON.parse((await runCli(['channels', 'health', '--channel', 'matrix', '--probe', '--json'], env)).stdout) as ChannelHealthReport;
  assert.notEqual(again.dimensions.functional.status, 'degraded', 'a readable message since: working again');
  await gateway.stop();
});

test('matrix: a token of another user than userId is refused with the fix; a refused send is not retried', async () => {
  const bot = addMatrixBot(server, ++bots);
  const other = addMatrixBot(server, ++bots);
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({ home, config: { ...fakeModelConfig(model), channels: { matrix: { ...fast, ...bot.settings, accessToken: other.accessToken } } } });
  gateways.push(gateway);
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const status = await waitFor(async () => {
    const list = JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { state: string; lastError: string | null; suggestedAction: string | null }[];
    return list[0]?.state === 'unhealthy' ? list[0] : null;
  }, 'the account to be unhealthy');
  assert.match(status.lastError ?? '', /belongs to @hearth\d+:hearth\.test, not to the configured userId/u);
  assert.match(status.suggestedAction ?? '', /Settings → Help & About → Access Token/u);
  await gateway.stop();

  const working = await start({ ...bot.settings, dmPolicy: 'open', allowFrom: ['*'] });
  const dm = bot.dmRoom(bob);
  server.failSends(bot.userId, [{ status: 403, errcode: 'M_FORBIDDEN' }]);
  server.post(dm, '@bob:hearth.test', matrixText('you may not answer'));
  await waitFor(() => /message given up: it will not be delivered/u.test(working.output()), 'the refused delivery to be given up');
  assert.doesNotMatch(working.output(), /delivery failed; will retry/u, 'M_FORBIDDEN is not retried');
  server.post(dm, '@bob:hearth.test', matrixText('but this one'));
  await waitFor(() => replies(bot.userId, dm).includes('echo: but this one'), 'the next answer');
  assert.deepEqual(replies(bot.userId, dm), ['echo: but this one'], 'the refused reply was given up, not retried');
  await working.stop();
});

test('matrix: a room named as matrix:<account>:!room:server receives operator alerts', async () => {
  const bot = addMatrixBot(server, ++bots);
  const dm = bot.dmRoom(ada);
  const ops = server.createRoom({ members: [bot.userId, '@ada:hearth.test'], name: 'Hearth operators' });
  assert.match(ops, /^!.+:.+$/u, 'a room id holds the server after a colon');
  const budget = { agents: { defaults: { model: 'fake/echo', budget: { dailyTokens: 40 } } }, alerts: { channel: `matrix:default:${ops}` } };
  const gateway = await start({ ...bot.settings, dmPolicy: 'open', allowFrom: ['*'] }, undefined, budget);
  server.post(dm, '@ada:hearth.test', matrixText('spend the budget, please'));
  const alert = await waitFor(() => server.sent.find((item) => item.roomId === ops && item.userId === bot.userId), 'the budget alert in the operators\' room');
  assert.match(String(alert.content.body), /budget/iu);
  await gateway.stop();
});

test('matrix login: with no access token the account says what is missing; hearth channels login saves the token and the account answers', async () => {
  const bot = addMatrixBot(server, ++bots);
  const home = makeHome();
  homes.push(home);
  const { accessToken: _token, ...withoutToken } = bot.settings;
  const gateway = await startTestGateway({ home, config: { ...fakeModelConfig(model), channels: { matrix: { ...fast, ...withoutToken, dmPolicy: 'open', allowFrom: ['*'] } } } });
  gateways.push(gateway);
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const before = JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { connected: boolean; lastError: string | null }[];
  assert.equal(before[0]?.connected, false);
  assert.match(before[0]?.lastError ?? '', /channels\.matrix\.accessToken is not set \(run hearth channels login --channel matrix/u);
  assert.equal(server.syncs.filter((call) => call.userId === bot.userId).length, 0, 'nothing was asked of the homeserver without a token');

  const empty = await runCli(['channels', 'login', '--channel', 'matrix'], env, '\n');
  assert.notEqual(empty.code, 0, 'an empty token is refused');
  assert.match(empty.stderr, /No access token/iu);

  const login = await runCli(['channels', 'login', '--channel', 'matrix', '--json'], env, `${bot.accessToken}\n`);
  assert.equal(login.code, 0, login.stderr);
  assert.ok(!(login.stdout + login.stderr).includes(bot.accessToken), 'the token is never printed');
  const file = join(home, 'credentials', 'channels', 'matrix--default.json');
  assert.equal((JSON.parse(login.stdout) as { saved: string }).saved, file);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { accessToken: bot.accessToken });
  assert.equal(statSync(file).mode & 0o777, 0o600, 'readable only by its owner');

  await waitFor(async () => (JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { connected: boolean }[])[0]?.connected, 'the account to connect');
  const dm = bot.dmRoom(ada);
  server.post(dm, '@ada:hearth.test', matrixText('are you logged in?'));
  await waitFor(() => replies(bot.userId, dm).includes('echo: are you logged in?'), 'the answer');
  assert.ok(!gateway.output().includes(bot.accessToken), 'the gateway does not log the token');
  await gateway.stop();
});
