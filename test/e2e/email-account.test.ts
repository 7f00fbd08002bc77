import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ChannelHealthReport } from '../../src/contracts/channel.js';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';
import { createEmailHarness, type EmailAccount, type EmailHarness } from '../support/platforms/email-harness.js';

// Email's own behaviour, against Debian's dovecot and an SMTP server on loopback.
let harness: EmailHarness;
let model: FakeModelServer;
const homes: string[] = [];
const gateways: TestGateway[] = [];
const ada = 'ada@example.org';

before(async () => {
  harness = await createEmailHarness();
  model = await startFakeModelServer();
});
after(async () => {
  for (const gateway of gateways) await gateway.kill();
  await harness?.close();
  await model?.close();
  for (const home of homes) removeHome(home);
});

async function start(account: EmailAccount, home?: string): Promise<TestGateway> {
  const dir = home ?? makeHome();
  if (!home) homes.push(dir);
  const config = { ...fakeModelConfig(model), channels: { email: { ...account.settings, dmPolicy: 'open', allowFrom: ['*'], reconnectDelayMs: 50, reconnectMaxDelayMs: 500 } } };
  const gateway = await startTestGateway({ home: dir, config });
  gateways.push(gateway);
  const env = testEnv(dir, { HEARTH_GATEWAY_URL: gateway.url });
  await waitFor(async () => (JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { connected: boolean }[])[0]?.connected, 'the mailbox to connect');
  return gateway;
}

const repliesTo = (account: EmailAccount, address: string) => account.mails().filter((mail) => mail.to.includes(address));
/** Turns the model ran for a mail: requests whose last user message holds the text (later turns carry it as history). */
const modelSaw = (text: string) =>
  model.requests.filter((request) => {
    const messages = (request.body as { messages?: { role: string; content: unknown }[] } | undefined)?.messages ?? [];
    return JSON.stringify(messages.filter((message) => message.role === 'user').at(-1)?.content ?? '').includes(text);
  }).length;

test('email: a reply keeps the thread (In-Reply-To, References, Re: subject) and the next mail of the thread continues the same conversation', async () => {
  const account = await harness.newAccount();
  await start(account);
  await account.deliver({ from: ada, fromName: 'Ada', subject: 'Trip to Lisbon', text: 'When do we leave?', messageId: '<trip-1@example.org>' });
  const first = await waitFor(() => repliesTo(account, ada).find((mail) => mail.text.includes('When do we leave?')), 'the first reply');
  assert.equal(first.subject, 'Re: Trip to Lisbon');
  assert.equal(first.inReplyTo, '<trip-1@example.org>');
  assert.deepEqual(first.references, ['<trip-1@example.org>']);
  assert.equal(first.autoSubmitted, 'auto-replied', 'marked as an automatic reply, so other robots do not answer it');
  assert.match(first.text, /^echo: Subject: Trip to Lisbon\s+When do we leave\?/u, 'the subject of a thread\'s first mail is part of the message');

  await account.deliver({ from: ada, subject: 'Re: Trip to Lisbon', text: 'And when do we come back?', messageId: '<trip-2@example.org>', inReplyTo: first.messageId, references: ['<trip-1@example.org>', first.messageId] });
  const second = await waitFor(() => repliesTo(account, ada).find((mail) => mail.text.includes('come back')), 'the second reply');
  assert.equal(second.subject, 'Re: Trip to Lisbon', 'Re: is not doubled');
  assert.equal(second.inReplyTo, '<trip-2@example.org>');
  assert.deepEqual(second.references, ['<trip-1@example.org>', first.messageId, '<trip-2@example.org>']);
  const lastRequest = JSON.stringify(model.requests.at(-1)?.body);
  assert.ok(lastRequest.includes('When do we leave?'), 'the second turn has the first mail in its history');
});

test('email: a restart resumes after the last mail handled: mail that arrived while it was down is answered once, nothing older again, nothing from before the first start', async () => {
  const account = await harness.newAccount();
  await account.deliver({ from: ada, subject: 'old', text: 'written before Hearth ever started' });
  const first = await start(account);
  await account.deliver({ from: ada, text: 'first question' });
  await waitFor(() => repliesTo(account, ada).some((mail) => mail.text.includes('echo: first question')), 'the first answer');
  assert.equal(await first.stop(), 0);
  await account.deliver({ from: ada, text: 'sent while Hearth was down' });
  await account.deliver({ from: 'bob@example.org', text: 'also sent while down' });
  await start(account, first.home);
  await waitFor(() => repliesTo(account, 'bob@example.org').some((mail) => mail.text.includes('echo: also sent while down')), 'the answers after the restart');
  await account.deliver({ from: ada, text: 'and one more' });
  await waitFor(() => repliesTo(account, ada).some((mail) => mail.text.includes('echo: and one more')), 'the next answer');
  const texts = account.mails().map((mail) => mail.text);
  for (const text of ['first question', 'sent while Hearth was down', 'also sent while down', 'and one more']) assert.equal(texts.filter((item) => item.includes(`echo: ${text}`)).length, 1, text);
  assert.equal(modelSaw('first question'), 1, 'the mail before the restart was not handled again');
  assert.equal(modelSaw('written before Hearth ever started'), 0, 'the mailbox\'s old mail is not answered');
});

test('email: an HTML-only mail is read as text; an attachment is saved by its hash and named in the message', async () => {
  const account = await harness.newAccount();
  const gateway = await start(account);
  await account.deliver({ from: ada, subject: 'hello', html: '<html><body><p>Hello <b>there</b>, see the <a href="https://example.org/x">plan</a>.</p><style>p{color:red}</style></body></html>' });
  const html = await waitFor(() => repliesTo(account, ada).find((mail) => mail.text.includes('Hello there')), 'the answer to the HTML mail');
  assert.doesNotMatch(html.text, /<p>|<b>|color:red/u);
  const pdf = Buffer.from('%PDF-1.4 a small invoice for the test\n');
  await account.deliver({ from: ada, subject: 'invoice', text: 'Here is the invoice.', attachment: { name: 'invoice.pdf', type: 'application/pdf', content: pdf } });
  const sha = createHash('sha256').update(pdf).digest('hex');
  const withFile = await waitFor(() => repliesTo(account, ada).find((mail) => mail.text.includes('invoice.pdf')), 'the answer naming the attachment');
  assert.match(withFile.text, new RegExp(`\\[file: invoice\\.pdf\\] \\(media/${sha}, ${pdf.length} bytes\\)`, 'u'));
  assert.ok(existsSync(join(gateway.home, 'media', sha.slice(0, 2), sha)), 'the attachment is on disk under its hash');
});

test('email: automatic replies, list mail, bounces and the bot\'s own mail are not answered; the next real mail is', async () => {
  const account = await harness.newAccount();
  const gateway = await start(account);
  await account.deliver({ from: ada, subject: 'Out of office', text: 'I am away until Monday.', headers: { 'Auto-Submitted': 'auto-replied' } });
  await account.deliver({ from: 'news@lists.example.org', subject: 'Weekly digest', text: 'digest text', headers: { 'List-Id': '<news.lists.example.org>', Precedence: 'list' } });
  await account.deliver({ from: 'MAILER-DAEMON@example.org', subject: 'Undelivered Mail Returned to Sender', text: 'bounce text' });
  await account.deliver({ from: account.address, subject: 'a copy of my own', text: 'my own words' });
  await account.deliver({ from: ada, text: 'a real question' });
  await waitFor(() => repliesTo(account, ada).some((mail) => mail.text.includes('echo: a real question')), 'the answer to the real mail');
  assert.equal(account.mails().length, 1, `only the real mail was answered: ${account.mails().map((mail) => mail.text).join(' | ')}`);
  for (const text of ['I am away until Monday.', 'digest text', 'bounce text', 'my own words']) assert.equal(modelSaw(text), 0, text);
  assert.match(gateway.output(), /not answered: mail \d+ is an automatic message \(Auto-Submitted: auto-replied\)/u);
  assert.match(gateway.output(), /not answered: mail \d+ is a bounce from mailer-daemon@example\.org/u);
});

test('email login: with no password in the config the account says what is missing; hearth channels login saves the IMAP password, SMTP falls back to it, and the mailbox answers', async () => {
  const account = await harness.newAccount();
  const home = makeHome();
  homes.push(home);
  const withoutPassword = (server: unknown) => {
    const { password: _password, ...rest } = server as { password: string };
    return rest;
  };
  const settings = account.settings as { address: string; imap: unknown; smtp: unknown };
  const email = { address: settings.address, imap: withoutPassword(settings.imap), smtp: withoutPassword(settings.smtp), dmPolicy: 'open', allowFrom: ['*'], reconnectDelayMs: 50, reconnectMaxDelayMs: 500 };
  const gateway = await startTestGateway({ home, config: { ...fakeModelConfig(model), channels: { email } } });
  gateways.push(gateway);
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const before = JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { accountId: string; connected: boolean; lastError: string | null }[];
  assert.equal(before[0]?.connected, false);
  assert.match(before[0]?.lastError ?? '', /channels\.email\.imap\.password is not set \(run hearth channels login --channel email\)/u);

  // The IMAP password, then an empty line: SMTP uses the same password.
  const login = await runCli(['channels', 'login', '--channel', 'email'], env, `${account.password}\n\n`);
  assert.equal(login.code, 0, login.stderr);
  assert.ok(!(login.stdout + login.stderr).includes(account.password), 'the password is never printed');
  const file = join(home, 'credentials', 'channels', 'email--default.json');
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { imapPassword: account.password }, 'an empty SMTP password is not saved');
  assert.equal(statSync(file).mode & 0o777, 0o600, 'readable only by its owner');

  await waitFor(async () => (JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { connected: boolean }[])[0]?.connected, 'the mailbox to connect');
  await account.deliver({ from: ada, subject: 'hello', text: 'are you there now?' });
  // The reply goes out over SMTP, logged in with the IMAP password.
  await waitFor(() => repliesTo(account, ada).some((mail) => mail.text.includes('echo: Subject: hello')), 'the reply sent over SMTP');
  assert.ok(!gateway.output().includes(account.password), 'the gateway does not log the password');
});

test('email health: the probe reports the IMAP mailbox and the SMTP login; an SMTP server that refuses the login makes the application dimension fail with the fix', async () => {
  const account = await harness.newAccount();
  // Old mail in the box (not answered): with no message handled lately, the probe decides.
  await account.deliver({ from: ada, subject: 'one', text: 'a mail in the box' });
  const gateway = await start(account);
  const env = testEnv(gateway.home, { HEARTH_GATEWAY_URL: gateway.url });

  const probed = await runCli(['channels', 'health', '--channel', 'email', '--probe', '--json'], env);
  assert.equal(probed.code, 0, probed.stderr);
  const report = JSON.parse(probed.stdout) as ChannelHealthReport;
  assert.equal(report.dimensions.application.status, 'ok');
  assert.equal(report.status, 'ok');
  assert.equal(report.dimensions.functional.status, 'ok');
  assert.match(report.dimensions.functional.detail ?? '', new RegExp(`probe: IMAP 127\\.0\\.0\\.1 lets ${account.address.replace(/\./gu, '\\.')} in \\(1 mails in INBOX\\); SMTP 127\\.0\\.0\\.1 accepts the login$`, 'u'));

  // The provider changed the SMTP password (IMAP still lets the bot in).
  harness.smtp.addUser(account.address, 'changed-elsewhere');
  const refused = await runCli(['channels', 'health', '--channel', 'email', '--probe', '--json'], env);
  assert.equal(refused.code, 1, 'an unhealthy account makes the command fail');
  const broken = JSON.parse(refused.stdout) as ChannelHealthReport;
  assert.equal(broken.dimensions.application.status, 'down');
  assert.notEqual(broken.status, 'ok');
  assert.match(broken.dimensions.application.detail ?? '', new RegExp(`the SMTP server 127\\.0\\.0\\.1 refused the login of ${account.address.replace(/\./gu, '\\.')}`, 'u'));
  assert.match(broken.dimensions.application.suggestedAction ?? '', /app password.*hearth channels login --channel email/u);
  assert.ok(!refused.stdout.includes(account.password), 'the password is not in the report');
});
