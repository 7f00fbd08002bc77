import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentIdOfSessionKey, directSessionKey, groupSessionKey, isValidSessionKey, mainSessionKey } from './session-keys.js';

test('direct message keys follow session.dmScope', () => {
  const peer = { agentId: 'main', channel: 'telegram', accountId: 'work', peerId: '42' };
  assert.equal(directSessionKey(peer, 'main'), 'agent:main:main');
  assert.equal(directSessionKey(peer, 'per-peer'), 'agent:main:direct:42');
  assert.equal(directSessionKey(peer, 'per-channel-peer'), 'agent:main:telegram:direct:42');
  assert.equal(directSessionKey(peer, 'per-account-channel-peer'), 'agent:main:telegram:work:direct:42');
});

test('group keys carry the thread when there is one', () => {
  assert.equal(groupSessionKey('ops', 'discord', 'g1'), 'agent:ops:discord:group:g1');
  assert.equal(groupSessionKey('ops', 'discord', 'g1', 't9'), 'agent:ops:discord:group:g1:thread:t9');
});

test('keys from clients are checked and their agent is found', () => {
  assert.equal(agentIdOfSessionKey(mainSessionKey('helper')), 'helper');
  assert.equal(agentIdOfSessionKey('cron:job:run:1'), null);
  assert.ok(isValidSessionKey('agent:main:webchat:direct:abc'));
  assert.ok(!isValidSessionKey('agent:Main:x'));
  assert.ok(!isValidSessionKey('hello'));
  assert.ok(!isValidSessionKey('agent:main:\n'));
  assert.ok(!isValidSessionKey(`agent:main:${'x'.repeat(600)}`));
});
