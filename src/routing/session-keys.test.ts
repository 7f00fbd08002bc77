import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentIdOfSessionKey, cronSessionKey, directSessionKey, groupSessionKey, isValidSessionKey, mainSessionKey } from './session-keys.js';

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

test('an account-scoped key names the default account when none is given; cron runs have keys of their own', () => {
  assert.equal(directSessionKey({ agentId: 'main', channel: 'irc', peerId: 'ada' }, 'per-account-channel-peer'), 'agent:main:irc:default:direct:ada');
  assert.equal(cronSessionKey('job1', 'run7'), 'cron:job1:run:run7');
  assert.ok(isValidSessionKey(cronSessionKey('job1', 'run7')));
});

test('session keys from clients: shape anchored at the start, 512 characters at most, no control characters', () => {
  assert.ok(isValidSessionKey(`agent:main:${'x'.repeat(512 - 'agent:main:'.length)}`));
  assert.ok(!isValidSessionKey(`agent:main:${'x'.repeat(513 - 'agent:main:'.length)}`));
  assert.ok(!isValidSessionKey(''));
  assert.ok(!isValidSessionKey('agent:main:a\u0007b'));
  assert.ok(!isValidSessionKey('agent:main:a\u007fb'));
  assert.ok(!isValidSessionKey('xagent:main:main'));
  assert.equal(agentIdOfSessionKey('xagent:main:main'), null);
  assert.ok(isValidSessionKey('cron:nightly-digest:run:r1'));
  assert.ok(!isValidSessionKey('xcron:j:run:r1'));
  assert.ok(!isValidSessionKey('cron::run:r1'));
  assert.ok(!isValidSessionKey('cron:j:run:'));
});
