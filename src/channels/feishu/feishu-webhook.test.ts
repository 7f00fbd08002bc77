import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { normalizeFeishuMessage } from './feishu-events.js';
import { toChannelError } from './feishu-http.js';
import { FeishuApiError } from './feishu-http.js';
import { feishuHeaderProblem, feishuSignature, readFeishuPush } from './feishu-webhook.js';

const secrets = { verificationToken: 'token-1', encryptKey: 'key-1' };

function encrypt(key: string, text: string): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', createHash('sha256').update(key).digest(), iv);
  return Buffer.concat([iv, cipher.update(text, 'utf8'), cipher.final()]).toString('base64');
}

function signed(body: string, key = secrets.encryptKey) {
  const headers = { 'x-lark-request-timestamp': '1700000000', 'x-lark-request-nonce': 'n0nce', 'x-lark-signature': '' };
  headers['x-lark-signature'] = createHash('sha256').update(`1700000000n0nce${key}${body}`).digest('hex');
  return { headers, body: Buffer.from(body) };
}

const event = (token = 'token-1') => ({ schema: '2.0', header: { event_id: 'ev1', event_type: 'im.message.receive_v1', token }, event: { message: {} } });

test('feishu pushes: the signature covers the raw bytes; the challenge needs the token; events need token and signature', () => {
  assert.equal(feishuSignature('1', 'n', 'k', Buffer.from('{"a": 1}')), createHash('sha256').update('1nk{"a": 1}').digest('hex'));
  const sealedEvent = JSON.stringify({ encrypt: encrypt('key-1', JSON.stringify(event())) });
  assert.deepEqual(readFeishuPush(signed(sealedEvent), secrets), { kind: 'event', eventId: 'ev1', eventType: 'im.message.receive_v1', event: { message: {} } });
  // Whitespace the parser would ignore still changes the signature.
  assert.equal(readFeishuPush({ ...signed(sealedEvent), body: Buffer.from(`${sealedEvent} `) }, secrets).kind, 'refused');
  assert.deepEqual(readFeishuPush({ headers: {}, body: Buffer.from(sealedEvent) }, secrets), { kind: 'refused', status: 401, reason: 'an unsigned event (with an Encrypt Key set, Feishu signs every event with X-Lark-Signature)' });
  assert.equal(readFeishuPush(signed(JSON.stringify({ encrypt: encrypt('key-1', JSON.stringify(event('wrong'))) })), secrets).kind, 'refused');

  const challenge = { challenge: 'c-1', token: 'token-1', type: 'url_verification' };
  assert.deepEqual(readFeishuPush({ headers: {}, body: Buffer.from(JSON.stringify({ encrypt: encrypt('key-1', JSON.stringify(challenge)) })) }, secrets), { kind: 'challenge', challenge: 'c-1' });
  assert.deepEqual(readFeishuPush({ headers: {}, body: Buffer.from(JSON.stringify(challenge)) }, { verificationToken: 'token-1' }), { kind: 'challenge', challenge: 'c-1' });
  assert.equal(readFeishuPush({ headers: {}, body: Buffer.from(JSON.stringify({ ...challenge, token: 'token-2' })) }, secrets).kind, 'refused');
  assert.equal(readFeishuPush({ headers: {}, body: Buffer.from(JSON.stringify({ encrypt: encrypt('key-2', JSON.stringify(challenge)) })) }, secrets).kind, 'refused');
  // Without an Encrypt Key, an encrypted push cannot be read and plain events need only the token.
  assert.equal(readFeishuPush({ headers: {}, body: Buffer.from(sealedEvent) }, { verificationToken: 'token-1' }).kind, 'refused');
  assert.equal(readFeishuPush({ headers: {}, body: Buffer.from(JSON.stringify(event())) }, { verificationToken: 'token-1' }).kind, 'event');
  // Signed garbage is from Feishu: acknowledged and reported, not refused.
  assert.equal(readFeishuPush(signed('{"encrypt": '), secrets).kind, 'unreadable');
  assert.equal(readFeishuPush({ headers: {}, body: Buffer.from(JSON.stringify({ type: 'event_callback', uuid: 'u1', token: 'token-1', event: { type: 'message' } })) }, { verificationToken: 'token-1' }).kind, 'event');

  assert.equal(feishuHeaderProblem({}), null);
  assert.match(feishuHeaderProblem({ 'x-lark-signature': 'a'.repeat(64) }) ?? '', /incomplete/u);
  assert.match(feishuHeaderProblem({ 'x-lark-request-timestamp': 'x', 'x-lark-request-nonce': 'n', 'x-lark-signature': 'a'.repeat(64) }) ?? '', /Timestamp/u);
});

test('feishu messages: chats, mentions, rich text and skipped senders', () => {
  const bot = { openId: 'ou_bot', name: 'Hearth' };
  const base = {
    sender: { sender_id: { open_id: 'ou_ada' }, sender_type: 'user' },
    message: {
      message_id: 'om_1',
      chat_id: 'oc_g',
      chat_type: 'group',
      message_type: 'text',
      content: JSON.stringify({ text: '@_user_1 and @_user_10 hi @_all' }),
      mentions: [
        { key: '@_user_1', id: { open_id: 'ou_bot' }, name: 'Hearth' },
        { key: '@_user_10', id: { open_id: 'ou_bob' }, name: 'Bob' },
      ],
    },
  };
  const group = normalizeFeishuMessage(base, bot, () => false);
  assert.ok('message' in group);
  assert.equal(group.message.text, '@Hearth and @Bob hi @all');
  assert.equal(group.message.mentionsBot, true);
  assert.deepEqual(group.message.chat, { id: 'oc_g', kind: 'group' });

  const topic = normalizeFeishuMessage({ ...base, message: { ...base.message, thread_id: 'omt_1', root_id: 'om_root', parent_id: 'om_mine' } }, bot, (id) => id === 'om_mine');
  assert.ok('message' in topic);
  assert.deepEqual(topic.message.chat, { id: 'oc_g', kind: 'thread', threadId: 'om_root' });
  assert.equal(topic.message.replyToBot, true);

  const post = {
    title: 'Plan',
    content: [
      [{ tag: 'text', text: 'step ' }, { tag: 'a', text: 'one', href: 'https://x' }],
      [{ tag: 'img', image_key: 'img_1' }],
    ],
  };
  const rich = normalizeFeishuMessage({ ...base, message: { ...base.message, chat_type: 'p2p', message_type: 'post', content: JSON.stringify(post), mentions: [] } }, bot, () => false);
  assert.ok('message' in rich);
  assert.equal(rich.message.chat.kind, 'direct');
  assert.equal(rich.message.text, 'Plan\nstep one\n');
  assert.deepEqual(rich.message.attachments, [{ kind: 'image', id: 'img_1' }]);

  assert.deepEqual(normalizeFeishuMessage({ ...base, sender: { ...base.sender, sender_type: 'app' } }, bot, () => false), { skip: null });
  assert.deepEqual(normalizeFeishuMessage({ ...base, message: { ...base.message, message_type: 'interactive', content: '{}' } }, bot, () => false), { skip: null });
  assert.deepEqual(normalizeFeishuMessage({ ...base, message: { ...base.message, content: '{' } }, bot, () => false), { skip: 'a message event whose content is not JSON' });
});

test('feishu errors: bad tokens are auth, rate limits carry the reset, server errors are transient, the rest rejected', () => {
  const error = (status: number, code: number | undefined, path = '/open-apis/im/v1/messages', retryAfterSeconds?: number) =>
    toChannelError(new FeishuApiError({ status, code, msg: 'm', path, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) }), 'send');
  assert.equal(error(400, 99991663).kind, 'auth');
  assert.equal(error(400, 99991661).kind, 'auth');
  assert.equal(error(400, 10014, '/open-apis/auth/v3/tenant_access_token/internal').kind, 'auth');
  const limited = error(429, 99991400, undefined, 7);
  assert.deepEqual([limited.kind, limited.retryAfterMs], ['rate-limited', 7000]);
  assert.equal(error(400, 99991400).kind, 'rate-limited');
  assert.equal(error(503, undefined).kind, 'transient');
  const refused = error(400, 230002);
  assert.equal(refused.kind, 'rejected');
  assert.match(refused.message, /230002/u);
  assert.equal(toChannelError(new TypeError('fetch failed'), 'send').kind, 'transient');
});
