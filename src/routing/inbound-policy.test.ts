import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InboundMessage } from '../contracts/channel.js';
import { bindAgent, decideInbound, type InboundPolicy, inboundSessionKey } from './inbound-policy.js';

const policy = (overrides: Partial<InboundPolicy> = {}): InboundPolicy => ({
  dmPolicy: 'pairing',
  allowFrom: [],
  groupPolicy: 'allowlist',
  groups: [],
  requireMention: true,
  mentionPatterns: [],
  ...overrides,
});

const message = (overrides: Partial<InboundMessage> = {}): InboundMessage => ({
  messageId: '1',
  chat: { id: '42', kind: 'direct' },
  sender: { id: '42', username: 'ada' },
  text: 'hello',
  mentionsBot: false,
  replyToBot: false,
  attachments: [],
  ...overrides,
});

const group = (overrides: Partial<InboundMessage> = {}) => message({ chat: { id: '-100', kind: 'group' }, ...overrides });

describe('decideInbound', () => {
  it('pairs unknown direct senders by default, answers listed or approved ones', () => {
    assert.deepEqual(decideInbound(message(), policy(), false), { action: 'pair' });
    assert.deepEqual(decideInbound(message(), policy(), true), { action: 'answer' });
    assert.deepEqual(decideInbound(message(), policy({ allowFrom: ['42'] }), false), { action: 'answer' });
    assert.deepEqual(decideInbound(message(), policy({ allowFrom: ['@Ada'] }), false), { action: 'answer' }, 'usernames match without @ and case');
  });

  it('allowlist ignores strangers, open needs "*", disabled ignores everyone', () => {
    assert.equal(decideInbound(message(), policy({ dmPolicy: 'allowlist' }), false).action, 'ignore');
    assert.equal(decideInbound(message(), policy({ dmPolicy: 'allowlist' }), true).action, 'answer');
    assert.equal(decideInbound(message(), policy({ dmPolicy: 'open' }), false).action, 'ignore');
    assert.equal(decideInbound(message(), policy({ dmPolicy: 'open', allowFrom: ['*'] }), false).action, 'answer');
    assert.equal(decideInbound(message(), policy({ dmPolicy: 'disabled', allowFrom: ['42'] }), true).action, 'ignore');
  });

  it('answers in allowed groups only when mentioned, replied to, or a mention pattern matches', () => {
    const allowed = policy({ groups: ['-100'] });
    assert.match((decideInbound(group(), policy(), false) as { reason: string }).reason, /not in groups/u);
    assert.match((decideInbound(group(), allowed, false) as { reason: string }).reason, /not mentioned/u);
    assert.equal(decideInbound(group({ mentionsBot: true }), allowed, false).action, 'answer');
    assert.equal(decideInbound(group({ replyToBot: true }), allowed, false).action, 'answer');
    assert.equal(decideInbound(group({ text: 'Hey Hearth, hi' }), policy({ groups: ['*'], mentionPatterns: [/\bhearth\b/iu] }), false).action, 'answer');
    assert.equal(decideInbound(group(), policy({ groupPolicy: 'open', requireMention: false }), false).action, 'answer');
    assert.equal(decideInbound(group({ mentionsBot: true }), policy({ groupPolicy: 'disabled', groups: ['*'] }), false).action, 'ignore');
  });
});

describe('bindings and session keys', () => {
  const bindings = [
    { agentId: 'family', match: { channel: 'telegram' } },
    { agentId: 'work', match: { channel: 'telegram', accountId: 'work' } },
    { agentId: 'mum', match: { channel: 'telegram', peer: { kind: 'direct' as const, id: '7' } } },
  ];

  it('picks the most specific binding', () => {
    const where = { channel: 'telegram', accountId: 'default', kind: 'direct' as const, peerId: '1' };
    assert.equal(bindAgent(bindings, where, 'main'), 'family');
    assert.equal(bindAgent(bindings, { ...where, accountId: 'work' }, 'main'), 'work');
    assert.equal(bindAgent(bindings, { ...where, accountId: 'work', peerId: '7' }, 'main'), 'mum');
    assert.equal(bindAgent(bindings, { ...where, channel: 'discord' }, 'main'), 'main');
  });

  it('keys direct chats by dmScope and groups by chat and thread', () => {
    const where = { agentId: 'main', channel: 'telegram', accountId: 'work', dmScope: 'per-channel-peer' as const };
    assert.equal(inboundSessionKey(message(), where), 'agent:main:telegram:direct:42');
    assert.equal(inboundSessionKey(message(), { ...where, dmScope: 'per-account-channel-peer' }), 'agent:main:telegram:work:direct:42');
    assert.equal(inboundSessionKey(message(), { ...where, dmScope: 'main' }), 'agent:main:main');
    assert.equal(inboundSessionKey(group(), where), 'agent:main:telegram:group:-100');
    assert.equal(inboundSessionKey(group({ chat: { id: '-100', kind: 'thread', threadId: '9' } }), where), 'agent:main:telegram:group:-100:thread:9');
  });
});
