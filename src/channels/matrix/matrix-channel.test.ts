import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionError, MatrixError } from 'matrix-js-sdk';
import { toMatrixChannelError } from './matrix-errors.js';
import { normalizeMatrixEvent, roomFromState, type TimelineContext } from './matrix-events.js';
import { markdownToMatrixHtml } from './matrix-html.js';
import { decideInvite, readInvite } from './matrix-invites.js';

const bot = { userId: '@hearth:example.org', displayName: 'Hearth' };
const member = (userId: string, displayname: string) => ({ type: 'm.room.member', state_key: userId, sender: userId, content: { membership: 'join', displayname } });
const group = roomFromState([member('@ada:example.org', 'Ada'), member('@bob:example.org', 'Bob'), member(bot.userId, 'Hearth'), { type: 'm.room.name', state_key: '', content: { name: 'Team' } }]);
const context = (overrides: Partial<TimelineContext> = {}): TimelineContext => ({ roomId: '!team:example.org', room: group, direct: false, bot, ownEvents: new Set(['$mine']), ...overrides });
const message = (content: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: 'm.room.message', event_id: '$1', sender: '@ada:example.org', origin_server_ts: 1, content: { msgtype: 'm.text', ...content }, ...extra });

test('matrix events: mentions by m.mentions, by user id or display name in the text, and by a pill', () => {
  const read = (content: Record<string, unknown>) => {
    const outcome = normalizeMatrixEvent(message(content), context());
    assert.ok('message' in outcome);
    return outcome.message.mentionsBot;
  };
  assert.equal(read({ body: 'hi', 'm.mentions': { user_ids: [bot.userId] } }), true);
  assert.equal(read({ body: '@hearth:example.org what now?' }), true);
  assert.equal(read({ body: 'hearth, what now?' }), true);
  assert.equal(read({ body: 'x', formatted_body: '<a href="https://matrix.to/#/%40hearth%3Aexample.org">x</a>' }), true);
  assert.equal(read({ body: 'hearthstone is a game', 'm.mentions': {} }), false);
});

test('matrix events: a thread, a reply to the bot, the reply fallback dropped, the sender\'s display name and the room name', () => {
  const outcome = normalizeMatrixEvent(
    message({ body: '> <@hearth:example.org> earlier\n\nand now?', 'm.relates_to': { 'm.in_reply_to': { event_id: '$mine' } } }),
    context(),
  );
  assert.ok('message' in outcome);
  assert.deepEqual(outcome.message.chat, { id: '!team:example.org', kind: 'group', title: 'Team' });
  assert.equal(outcome.message.text, 'and now?');
  assert.equal(outcome.message.replyToBot, true);
  assert.deepEqual(outcome.message.sender, { id: '@ada:example.org', name: 'Ada' });

  const threaded = normalizeMatrixEvent(message({ body: 'in a thread', 'm.relates_to': { rel_type: 'm.thread', event_id: '$root', is_falling_back: true, 'm.in_reply_to': { event_id: '$mine' } } }), context());
  assert.ok('message' in threaded);
  assert.equal(threaded.message.chat.kind, 'thread');
  assert.equal(threaded.message.chat.threadId, '$root');
  assert.equal(threaded.message.replyToBot, false, 'the thread fallback is not a reply');
  const direct = normalizeMatrixEvent(message({ body: 'hello' }), context({ direct: true }));
  assert.ok('message' in direct);
  assert.equal(direct.message.chat.kind, 'direct');
});

test('matrix events: encrypted, own, notices, edits and malformed events are not answered', () => {
  assert.ok('encrypted' in normalizeMatrixEvent({ type: 'm.room.encrypted', event_id: '$e', sender: '@ada:example.org', content: { algorithm: 'm.megolm.v1.aes-sha2' } }, context()));
  assert.ok('encrypted' in normalizeMatrixEvent(message({ body: 'plain in an encrypted room' }), context({ room: { ...group, encrypted: true } })));
  assert.deepEqual(normalizeMatrixEvent(message({ body: 'mine' }, { sender: bot.userId }), context()), { skip: null });
  assert.deepEqual(normalizeMatrixEvent(message({ msgtype: 'm.notice', body: 'another bot' }), context()), { skip: null });
  assert.deepEqual(normalizeMatrixEvent(message({ body: '* fixed', 'm.relates_to': { rel_type: 'm.replace', event_id: '$1' } }), context()), { skip: null });
  assert.match((normalizeMatrixEvent(message({ body: 7 }), context()) as { skip: string }).skip, /without msgtype or body/u);
  assert.match((normalizeMatrixEvent('junk', context()) as { skip: string }).skip, /not an object/u);
  const image = normalizeMatrixEvent(message({ msgtype: 'm.image', body: 'cat.png', url: 'mxc://example.org/abc', info: { mimetype: 'image/png', size: 10 } }), context());
  assert.ok('message' in image);
  assert.deepEqual(image.message.attachments, [{ kind: 'image', id: 'mxc://example.org/abc', name: 'cat.png', mimeType: 'image/png', sizeBytes: 10 }]);
});

test('matrix invites: DMs by dmPolicy and the inviter, rooms by groupPolicy and groups', () => {
  const dmInvite = readInvite('!dm:example.org', { invite_state: { events: [{ type: 'm.room.member', state_key: bot.userId, sender: '@ada:example.org', content: { membership: 'invite', is_direct: true } }] } }, bot.userId);
  assert.deepEqual(dmInvite, { roomId: '!dm:example.org', inviter: '@ada:example.org', direct: true, encrypted: false });
  const roomInvite = { ...dmInvite, direct: false };
  const policy = { dmPolicy: 'allowlist', allowFrom: ['@ada:example.org'], groupPolicy: 'allowlist', groups: [] } as const;
  assert.equal(decideInvite(dmInvite, policy).join, true);
  assert.equal(decideInvite({ ...dmInvite, inviter: '@eve:example.org' }, policy).join, false);
  assert.equal(decideInvite({ ...dmInvite, inviter: '@eve:example.org' }, { ...policy, dmPolicy: 'pairing' }).join, true);
  assert.equal(decideInvite(dmInvite, { ...policy, dmPolicy: 'disabled' }).join, false);
  assert.equal(decideInvite(roomInvite, policy).join, false);
  assert.equal(decideInvite(roomInvite, { ...policy, groups: ['!dm:example.org'] }).join, true);
  assert.equal(decideInvite(roomInvite, { ...policy, groupPolicy: 'open' }).join, true);
});

test('matrix errors: refused token → auth, M_LIMIT_EXCEEDED → rate-limited with its wait, 5xx and network → transient, M_FORBIDDEN → rejected', () => {
  assert.equal(toMatrixChannelError(new MatrixError({ errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid' }, 401), 'sync').kind, 'auth');
  const limited = toMatrixChannelError(new MatrixError({ errcode: 'M_LIMIT_EXCEEDED', error: 'slow down', retry_after_ms: 2500 }, 429), 'send');
  assert.equal(limited.kind, 'rate-limited');
  assert.equal(limited.retryAfterMs, 2500);
  assert.equal(toMatrixChannelError(new MatrixError({ errcode: 'M_UNKNOWN' }, 502), 'send').kind, 'transient');
  assert.equal(toMatrixChannelError(new ConnectionError('fetch failed'), 'send').kind, 'transient');
  assert.equal(toMatrixChannelError(new MatrixError({ errcode: 'M_FORBIDDEN', error: 'not in room' }, 403), 'send').kind, 'rejected');
});

test('matrix html: Markdown becomes escaped org.matrix.custom.html with line breaks outside code blocks', () => {
  assert.equal(markdownToMatrixHtml('**bold** <b>\nnext'), '<b>bold</b> &lt;b&gt;<br>next');
  assert.equal(markdownToMatrixHtml('before\n```js\na < b\nc\n```\nafter'), 'before<pre><code class="language-js">a &lt; b\nc</code></pre>after');
});
