import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatMessage } from './messages.js';
import { EMPTY_PACKED, joinPacked, packedLength, packMessages, packStored, PACK_SEPARATOR, slicePacked, unpackMessages } from './packed-messages.js';

const toolTurn: ChatMessage[] = [
  { role: 'user', content: 'weather in "Paris"?' },
  { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' }] },
  { role: 'tool', toolCallId: 'c1', name: 'weather', content: 'sunny' },
  { role: 'assistant', content: 'Sunny, with a back\\slash and a "quote".' },
];
const plainTurn: ChatMessage[] = [
  { role: 'user', content: 'and tomorrow?' },
  { role: 'assistant', content: 'Rain.' },
];

test('packing keeps every message exactly, with role initials and per-message lengths', () => {
  const packed = packMessages([...toolTurn, ...plainTurn]);
  assert.deepEqual(unpackMessages(packed), [...toolTurn, ...plainTurn]);
  assert.equal(packed.roles, 'uataua');
  assert.equal(packedLength(packed, 2), JSON.stringify(toolTurn[2]).length);
  assert.equal(packed.plain, false, 'tool calls and tool results are not plain');
  assert.deepEqual(unpackMessages(EMPTY_PACKED), []);
});

test('a history is plain only when every message is {role, content} and nothing else', () => {
  assert.equal(packMessages(plainTurn).plain, true);
  assert.equal(packMessages([{ role: 'assistant', content: 'x", "extra": "y' }]).plain, true, 'quotes inside the text are escaped');
  const stored = [JSON.stringify({ role: 'user', content: 'hi', name: 'bob' }), JSON.stringify({ role: 'assistant', content: 'yo' })];
  assert.equal(packStored(stored.join(PACK_SEPARATOR), 'ua').plain, false, 'a key after the content is not plain');
  assert.equal(packMessages([toolTurn[3]!]).plain, true, 'an escaped backslash before a quote still ends the text correctly');
});

test('slicing a mixed history from a user message gives a plain rest that is the same messages', () => {
  const packed = packMessages([...toolTurn, ...plainTurn]);
  const rest = slicePacked(packed, 4);
  assert.deepEqual(unpackMessages(rest), plainTurn);
  assert.equal(rest.plain, true);
  assert.deepEqual(unpackMessages(slicePacked(packed, 1)), [...toolTurn.slice(1), ...plainTurn]);
  assert.equal(slicePacked(packed, 6), EMPTY_PACKED);
  assert.equal(slicePacked(packed, 0), packed);
});

test('joining segments from an offset is one copy of the messages in order', () => {
  const segments = [packMessages(plainTurn), packMessages(toolTurn), packMessages(plainTurn)];
  const joined = joinPacked(segments, 1);
  assert.deepEqual(unpackMessages(joined), [plainTurn[1], ...toolTurn, ...plainTurn]);
  assert.equal(joined.roles, 'auataua');
  assert.equal(joined.plain, false);
  assert.equal(joinPacked(segments, 2).plain, false);
  const plainJoin = joinPacked([segments[1]!, segments[2]!], 4);
  assert.deepEqual(unpackMessages(plainJoin), plainTurn);
  assert.equal(plainJoin.plain, true);
  assert.equal(joinPacked(segments, 8), EMPTY_PACKED);
});
