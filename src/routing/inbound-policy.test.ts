import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InboundMessage } from '../contracts/channel.js';
import { bindAgent, decideInbound, type InboundPolicy, inboundSessionKey, untrustedInputReason } from './inbound-policy.js';

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

describe('routing details a person notices', () => {
  it('says in the log why a message was not answered', () => {
    const reason = (decision: ReturnType<typeof decideInbound>) => (decision.action === 'ignore' ? decision.reason : decision.action);
    assert.equal(reason(decideInbound(message(), policy({ dmPolicy: 'disabled' }), false)), 'direct messages are disabled (dmPolicy "disabled")');
    assert.equal(reason(decideInbound(message(), policy({ dmPolicy: 'open' }), false)), 'dmPolicy "open" needs "*" in allowFrom; the sender is not listed');
    assert.equal(reason(decideInbound(message(), policy({ dmPolicy: 'allowlist' }), false)), 'sender 42 is not in allowFrom');
    assert.equal(reason(decideInbound(group(), policy({ groupPolicy: 'disabled' }), false)), 'group messages are disabled (groupPolicy "disabled")');
    assert.equal(reason(decideInbound(group(), policy(), false)), 'group -100 is not in groups (groupPolicy "allowlist")');
    assert.equal(reason(decideInbound(group(), policy({ groupPolicy: 'open' }), false)), 'the bot was not mentioned or replied to');
  });

  it('an open policy answers a listed sender even without "*"', () => {
    assert.deepEqual(decideInbound(message(), policy({ dmPolicy: 'open', allowFrom: ['@ADA'] }), false), { action: 'answer' });
    assert.deepEqual(decideInbound(message(), policy({ dmPolicy: 'open' }), true), { action: 'answer' });
  });

  it('allowFrom drops only a leading @, and matches ids and usernames in any case', () => {
    assert.equal(decideInbound(message(), policy({ dmPolicy: 'allowlist', allowFrom: ['a@da'] }), false).action, 'ignore');
    assert.equal(decideInbound(message({ sender: { id: '7' } }), policy({ dmPolicy: 'allowlist', allowFrom: ['ada'] }), false).action, 'ignore', 'no username, no match');
    assert.equal(decideInbound(message({ sender: { id: '7', username: '@Ada' } }), policy({ dmPolicy: 'allowlist', allowFrom: ['ada'] }), false).action, 'answer');
  });

  it('a peer binding applies only to that peer and kind; within a tier the first binding wins', () => {
    const where = { channel: 'telegram', accountId: 'default', kind: 'direct' as const, peerId: '42' };
    const bindings = [
      { agentId: 'other-peer', match: { channel: 'telegram', peer: { kind: 'direct' as const, id: '43' } } },
      { agentId: 'group-42', match: { channel: 'telegram', peer: { kind: 'group' as const, id: '42' } } },
      { agentId: 'first', match: { channel: 'telegram' } },
      { agentId: 'second', match: { channel: 'telegram' } },
    ];
    assert.equal(bindAgent(bindings, where, 'main'), 'first');
  });

  it('a message in a thread has a session of its own; a plain group message does not carry a thread', () => {
    const where = { agentId: 'main', channel: 'discord', accountId: 'default', dmScope: 'per-channel-peer' as const };
    assert.equal(inboundSessionKey(group({ chat: { id: 'g', kind: 'thread', threadId: 't1' } }), where), 'agent:main:discord:group:g:thread:t1');
    assert.equal(inboundSessionKey(group({ chat: { id: 'g', kind: 'group', threadId: 't1' } }), where), 'agent:main:discord:group:g');
  });
});

describe('untrustedInputReason', () => {
  it('a direct message from a sender named in allowFrom is the owner\'s; groups, "*" and unnamed senders are outside input', () => {
    assert.equal(untrustedInputReason(message(), { allowFrom: ['@Ada'] }, 'telegram:home'), null);
    assert.equal(untrustedInputReason(message(), { allowFrom: ['42'] }, 'telegram:home'), null);
    assert.match(untrustedInputReason(message(), { allowFrom: ['*'] }, 'telegram:home') ?? '', /direct message on telegram:home from 42, who is not named in allowFrom/u);
    assert.match(untrustedInputReason(message(), { allowFrom: [] }, 'telegram:home') ?? '', /not named in allowFrom/u, 'a sender approved by pairing');
    assert.match(untrustedInputReason(group(), { allowFrom: ['ada'] }, 'telegram:home') ?? '', /a group message on telegram:home, where others can write/u);
    assert.match(untrustedInputReason(message({ chat: { id: '-100', kind: 'thread', threadId: '7' } }), { allowFrom: ['ada'] }, 'slack:w') ?? '', /a thread message/u);
  });
});
