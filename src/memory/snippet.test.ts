import assert from 'node:assert/strict';
import { test } from 'node:test';
import { snippetOf } from './snippet.js';

const filler = (count: number, word = 'filler') => Array.from({ length: count }, (_, at) => `${word}${at}`).join(' ');

test('a short chunk is shown whole', () => {
  assert.equal(snippetOf('  Ada prefers tea.\nShe lives in Lisbon.\n', ['lisbon']), 'Ada prefers tea.\nShe lives in Lisbon.');
});

test('a long chunk is cut around the query words, at whitespace, with an ellipsis where text was left out', () => {
  const text = `${filler(60)} The deploy host is falcon.internal, said Grace. ${filler(60, 'tail')}`;
  const snippet = snippetOf(text, ['falcon', 'grace']);
  assert.match(snippet, /^….*The deploy host is falcon\.internal, said Grace\..*…$/su);
  assert.ok(snippet.split(/\s+/u).length <= 34, `about 32 words: ${snippet}`);
  assert.doesNotMatch(snippet, /filler0 |tail59/u);
});

test('the window with the most different query words wins over one word repeated', () => {
  const text = `tea tea tea tea ${filler(50)} Ada drinks coffee in Lisbon ${filler(50, 'more')}`;
  const snippet = snippetOf(text, ['tea', 'ada', 'lisbon', 'coffee'], 12);
  assert.match(snippet, /Ada drinks coffee in Lisbon/u);
  assert.doesNotMatch(snippet, /tea/u);
});

test('words match with case and diacritics folded, as the index matches them', () => {
  const text = `${filler(40)} Lunch at the Café Über in Zürich. ${filler(40, 'rest')}`;
  assert.match(snippetOf(text, ['cafe', 'zurich'], 10), /Café Über in Zürich/u);
});

test('a window starts at the line where its first hit is, when that line begins inside it', () => {
  const text = `${filler(40)}\n**user** (1970-01-01T00:00): Remember that the boat is moored at pier 9.\n${filler(40, 'after')}`;
  assert.match(snippetOf(text, ['boat', 'moored']), /^…?\*\*user\*\* \(1970-01-01T00:00\): Remember that the boat is moored at pier 9\./u);
});

test('with no query word in the chunk (a vector-only hit), the start of the chunk is shown', () => {
  const snippet = snippetOf(filler(100), ['nothing'], 8);
  assert.equal(snippet, `${filler(8)}…`);
});
