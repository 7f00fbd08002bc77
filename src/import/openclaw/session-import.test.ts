import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toTurns } from './session-import.js';
import { collectMessages, hearthSessionKey } from './session-readers.js';

test('OpenClaw session keys map to Hearth\'s; legacy :dm: becomes :direct:; cron and hook sessions have no Hearth equivalent', () => {
  assert.equal(hearthSessionKey('agent:main:main'), 'agent:main:main');
  assert.equal(hearthSessionKey('agent:main:telegram:dm:user123'), 'agent:main:telegram:direct:user123');
  assert.equal(hearthSessionKey('agent:ops:discord:direct:42'), 'agent:ops:discord:direct:42');
  assert.equal(hearthSessionKey('agent:ops:slack:work:direct:U1'), 'agent:ops:slack:work:direct:U1');
  assert.equal(hearthSessionKey('agent:main:telegram:group:-100:thread:7'), 'agent:main:telegram:group:-100:thread:7');
  assert.equal(hearthSessionKey('agent:main:cron:nightly:run:8821'), null);
  assert.equal(hearthSessionKey('hook:1234'), null);
  assert.equal(hearthSessionKey('agent:main:subagent:abc'), null);
});

test('transcript entries fold into user turns with the assistant replies after them; tool entries are counted', () => {
  const { messages, otherEntries } = collectMessages([
    { type: 'session', id: 's' },
    { type: 'message', message: { role: 'assistant', content: 'orphan greeting' } },
    { type: 'message', message: { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image' }] } },
    { type: 'message', message: { role: 'toolResult', content: 'x' } },
    { type: 'message', message: { role: 'assistant', content: 'hello' } },
    { role: 'user', content: 'row shaped' },
  ]);
  assert.equal(otherEntries, 1);
  assert.deepEqual(toTurns(messages), [
    { user: 'hi', replies: ['hello'] },
    { user: 'row shaped', replies: [] },
  ]);
});
