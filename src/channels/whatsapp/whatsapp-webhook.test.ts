import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markdownToWhatsApp } from '../markdown.js';
import { graphBaseUrl, graphError } from './graph-api.js';
import { answerVerification, readWhatsAppPush } from './whatsapp-webhook.js';

test('Graph API refusals map to what the outbox and the supervisor do', () => {
  const body = (code: number) => ({ error: { message: `(#${code}) refused`, type: 'OAuthException', code, fbtrace_id: 'A1' } });
  const kind = (status: number, code?: number, retryAfter: string | null = null) => graphError(status, code === undefined ? undefined : body(code), retryAfter, 'send');
  assert.equal(kind(401, 190).kind, 'auth');
  assert.equal(kind(400, 190).kind, 'auth', 'an expired token is code 190 whatever the status');
  assert.equal(kind(403, 200).kind, 'auth', 'a missing permission');
  assert.deepEqual([kind(429, 130429, '3').kind, kind(429, 130429, '3').retryAfterMs], ['rate-limited', 3000]);
  assert.deepEqual([kind(400, 131056).kind, kind(400, 131056).retryAfterMs], ['rate-limited', 6000], 'the pair rate limit waits about 6 s');
  assert.equal(kind(429).retryAfterMs, 1000);
  assert.equal(kind(500, 131000).kind, 'transient');
  assert.equal(kind(400, 131000).kind, 'transient', "Meta's own failure");
  assert.equal(kind(502).kind, 'transient');
  assert.equal(kind(400, 131047).kind, 'rejected', 'outside the 24-hour window');
  assert.equal(kind(400, 100).kind, 'rejected');
  assert.match(kind(400, 131047).message, /HTTP 400 \(error 131047\) to send: \(#131047\) refused/u);
});

test('the API version is added to apiRoot unless it ends in one', () => {
  assert.match(graphBaseUrl(), /^https:\/\/graph\.facebook\.com\/v\d+\.\d+$/u);
  assert.match(graphBaseUrl('http://127.0.0.1:9/'), /^http:\/\/127\.0\.0\.1:9\/v\d+\.\d+$/u);
  assert.equal(graphBaseUrl('https://graph.facebook.com/v26.0/'), 'https://graph.facebook.com/v26.0');
});

test("Meta's verification handshake is answered only with the verify token", () => {
  const query = (token: string, mode = 'subscribe') => ({ 'hub.mode': mode, 'hub.verify_token': token, 'hub.challenge': '1158201444' });
  assert.deepEqual(answerVerification(query('s3cret'), 's3cret', 'channels.whatsapp'), { status: 200, body: '1158201444' });
  assert.equal(answerVerification(query('guess'), 's3cret', 'channels.whatsapp').status, 403);
  assert.equal(answerVerification(query('s3cret', 'unsubscribe'), 's3cret', 'channels.whatsapp').status, 403);
  assert.equal(answerVerification(query(''), undefined, 'channels.whatsapp').status, 403);
  assert.equal(answerVerification({ 'hub.mode': 'subscribe', 'hub.verify_token': 's3cret', 'hub.challenge': '<script>' }, 's3cret', 'x').status, 400);
});

test('a push: texts, media, replies and contacts names for this number; statuses, reactions and other numbers left alone', () => {
  const value = (phoneNumberId: string, extra: Record<string, unknown>) => ({ messaging_product: 'whatsapp', metadata: { display_phone_number: '15550100', phone_number_id: phoneNumberId }, ...extra });
  const push = {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340000',
        changes: [
          {
            field: 'messages',
            value: value('111', {
              contacts: [{ profile: { name: 'Ada' }, wa_id: '15550001001' }],
              messages: [
                { from: '15550001001', id: 'wamid.1', timestamp: '1', type: 'text', text: { body: 'hi' }, context: { from: '15550100', id: 'wamid.ours' } },
                { from: '15550001001', id: 'wamid.2', timestamp: '1', type: 'document', document: { id: '77', mime_type: 'application/pdf', filename: 'report.pdf', caption: 'the report' } },
                { from: '15550001001', id: 'wamid.3', timestamp: '1', type: 'audio', audio: { id: '78', mime_type: 'audio/ogg; codecs=opus', voice: true } },
                { from: '15550001001', id: 'wamid.4', timestamp: '1', type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes please' } } },
                { from: '15550001001', id: 'wamid.5', timestamp: '1', type: 'reaction', reaction: { message_id: 'wamid.ours', emoji: '👍' } },
                { from: '15550001001', id: 'wamid.6', timestamp: '1', type: 'text', text: { body: 'in a group' }, group_id: 'G1' },
              ],
            }),
          },
          { field: 'messages', value: value('111', { statuses: [{ id: 'wamid.ours', status: 'delivered', recipient_id: '15550001001' }] }) },
          { field: 'messages', value: value('222', { messages: [{ from: '15550001002', id: 'wamid.7', type: 'text', text: { body: 'not for us' } }] }) },
        ],
      },
    ],
  };
  const read = readWhatsAppPush(push, '111', '15550100');
  assert.deepEqual(read.businessAccountIds, ['102290129340000']);
  assert.deepEqual(read.messages.map((message) => message.messageId), ['wamid.1', 'wamid.2', 'wamid.3', 'wamid.4']);
  const [text, document, audio, button] = read.messages;
  assert.deepEqual(text?.chat, { id: '15550001001', kind: 'direct' });
  assert.deepEqual(text?.sender, { id: '15550001001', name: 'Ada' });
  assert.equal(text?.replyToBot, true);
  assert.equal(text?.replyToMessageId, 'wamid.ours');
  assert.equal(document?.text, 'the report');
  assert.deepEqual(document?.attachments, [{ kind: 'file', id: '77', name: 'report.pdf', mimeType: 'application/pdf' }]);
  assert.equal(audio?.attachments[0]?.kind, 'audio');
  assert.equal(button?.text, 'Yes please');
  assert.deepEqual(read.skipped.map((item) => item.reason), ["a group message (Hearth answers WhatsApp direct chats only)"]);
  assert.equal(readWhatsAppPush({ object: 'page' }, '111', undefined).skipped.length, 1);
});

test('Markdown becomes WhatsApp markup', () => {
  assert.equal(markdownToWhatsApp('**bold** and *it* ~~old~~ `x*y*` [site](https://a.b)'), '*bold* and _it_ ~old~ `x*y*` site (https://a.b)');
  assert.equal(markdownToWhatsApp('# Title\n- one\n> quoted\n```js\nconst a = 1;\n```'), '*Title*\n- one\n> quoted\n```\nconst a = 1;\n```');
});
