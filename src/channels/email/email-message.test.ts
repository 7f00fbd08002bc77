import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simpleParser } from 'mailparser';
import { ChannelError } from '../../contracts/channel.js';
import { imapError, smtpError } from './email-errors.js';
import { normalizeMail, replySubject } from './email-message.js';

const options = { ownAddress: 'Bot@Hearth.test', htmlToText: (html: string) => html.replace(/<[^>]+>/gu, '') };
const parse = (raw: string) => simpleParser(raw.replace(/\n/gu, '\r\n'));

test('a mail becomes a direct message from the lower-cased sender, threaded by its first reference', async () => {
  const mail = await parse('From: Ada <Ada@Example.org>\nSubject: Re: plans\nMessage-ID: <b@x>\nIn-Reply-To: <a@x>\nReferences: <root@x> <a@x>\n\nsounds good\n');
  const normalized = normalizeMail(mail, 7, options);
  assert.ok('message' in normalized);
  assert.deepEqual(normalized.message.chat, { id: 'ada@example.org', kind: 'direct', threadId: '<root@x>', title: 'Re: plans' });
  assert.equal(normalized.message.messageId, '<b@x>');
  assert.equal(normalized.message.text, 'sounds good', 'a reply\'s Re: subject is left out');
  assert.equal(normalized.message.sender.name, 'Ada');
});

test('the subject of a thread\'s first mail leads the text unless the body starts with it', async () => {
  const first = normalizeMail(await parse('From: a@x.org\nSubject: Invoice 42\nMessage-ID: <1@x>\n\nPlease pay by Friday.\n'), 1, options);
  assert.ok('message' in first);
  assert.equal(first.message.text, 'Subject: Invoice 42\n\nPlease pay by Friday.');
  assert.equal(first.message.chat.threadId, '<1@x>', 'a first mail is its own thread');
  const repeated = normalizeMail(await parse('From: a@x.org\nSubject: hello\nMessage-ID: <2@x>\n\nHello there\n'), 2, options);
  assert.ok('message' in repeated);
  assert.equal(repeated.message.text, 'Hello there');
});

test('automatic mail, bounces, list mail and the bot\'s own mail are skipped with a reason; a mail without sender is malformed', async () => {
  const cases: [string, RegExp, boolean][] = [
    ['From: a@x.org\nAuto-Submitted: auto-replied\nSubject: away\n\naway\n', /automatic message/u, false],
    ['From: a@x.org\nAuto-Submitted: no\nSubject: fine\n\nfine\n', /^$/u, false],
    ['From: a@x.org\nPrecedence: bulk\n\nnews\n', /bulk or list mail/u, false],
    ['From: list@x.org\nList-Id: <l.x.org>\n\nnews\n', /mailing list/u, false],
    ['From: MAILER-DAEMON@x.org\nSubject: failure\n\nreturned\n', /bounce/u, false],
    ['From: bot@hearth.test\nSubject: mine\n\nmine\n', /own address/u, false],
    ['Subject: nobody\n\nwho?\n', /no sender address/u, true],
  ];
  for (const [raw, reason, malformed] of cases) {
    const normalized = normalizeMail(await parse(raw), 3, options);
    if (reason.source === '^$') {
      assert.ok('message' in normalized, raw);
      continue;
    }
    assert.ok('skip' in normalized, raw);
    assert.match(normalized.skip, reason);
    assert.equal(normalized.malformed, malformed, raw);
  }
});

test('a reply subject gets one Re:', () => {
  assert.equal(replySubject('Lunch'), 'Re: Lunch');
  assert.equal(replySubject('RE: Lunch'), 'RE: Lunch');
  assert.equal(replySubject('Aw: Mittag'), 'Aw: Mittag');
  assert.equal(replySubject(undefined), 'Re: your message');
});

test('SMTP answers map to what the outbox does: a refused login stops, greylisting waits as told, 4xx retries, 5xx gives up', () => {
  const server = { host: 'smtp.x', port: 587, user: 'bot' };
  assert.equal(smtpError(Object.assign(new Error('Invalid login'), { code: 'EAUTH', responseCode: 535 }), server).kind, 'auth');
  const grey = smtpError(Object.assign(new Error('x'), { responseCode: 451, response: '451 4.7.1 Greylisted, please try again in 5 minutes' }), server);
  assert.equal(grey.kind, 'rate-limited');
  assert.equal(grey.retryAfterMs, 300_000);
  assert.equal(smtpError(Object.assign(new Error('x'), { responseCode: 421, response: '421 closing' }), server).kind, 'transient');
  assert.equal(smtpError(Object.assign(new Error('x'), { responseCode: 550, response: '550 no such user' }), server).kind, 'rejected');
  assert.equal(smtpError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET' }), server).kind, 'transient');
  assert.ok(smtpError(new ChannelError('auth', 'kept'), server) instanceof ChannelError);
});

test('IMAP logins: refused credentials stop the account with the server\'s words; a login turned down for now (auth service unavailable, too many connections) is retried', () => {
  const server = { host: 'imap.x', port: 143, user: 'bot' };
  // What imapflow throws for a tagged NO to LOGIN: authenticationFailed is set whatever the reason.
  const refusal = (code: string, text: string) => Object.assign(new Error('Command failed'), { authenticationFailed: true, serverResponseCode: code, response: `A2 NO [${code}] ${text}` });
  const refused = imapError(refusal('AUTHENTICATIONFAILED', 'Authentication failed.'), server);
  assert.equal(refused.kind, 'auth');
  assert.match(refused.message, /refused the login of bot: A2 NO \[AUTHENTICATIONFAILED\] Authentication failed\./u);
  for (const code of ['UNAVAILABLE', 'LIMIT', 'INUSE', 'SERVERBUG']) {
    const later = imapError(refusal(code, 'Temporary authentication failure.'), server);
    assert.equal(later.kind, 'transient', code);
    assert.match(later.message, new RegExp(`down for now: A2 NO \\[${code}\\]`, 'u'));
  }
  assert.equal(imapError(Object.assign(new Error('Command failed'), { authenticationFailed: true }), server).kind, 'auth', 'a NO without a code is a refusal');
  assert.equal(imapError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), server).kind, 'transient');
});
