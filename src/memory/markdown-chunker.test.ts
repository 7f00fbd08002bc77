import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkMarkdown } from './markdown-chunker.js';

const lines = (count: number, width = 39) => Array.from({ length: count }, (_, index) => `line ${String(index + 1).padStart(3, '0')} `.padEnd(width, 'x')).join('\n');

test('chunks stay within the size, cover every line, and repeat about the overlap', () => {
  // 200 lines of 40 characters (with the newline): 8,000 characters.
  const chunks = chunkMarkdown(lines(200), { maxTokens: 100, overlapTokens: 20 });
  assert.ok(chunks.length > 1);
  for (const chunk of chunks) assert.ok(chunk.text.length <= 400, `chunk of ${chunk.text.length} characters`);
  assert.equal(chunks[0]!.startLine, 1);
  assert.equal(chunks.at(-1)!.endLine, 200);
  for (let index = 1; index < chunks.length; index++) {
    const previous = chunks[index - 1]!;
    const current = chunks[index]!;
    const repeated = previous.endLine - current.startLine + 1;
    assert.equal(repeated, 2, `chunk ${index} repeats ${repeated} lines (80 characters of overlap)`);
  }
  // Each chunk's text is exactly its lines.
  const all = lines(200).split('\n');
  for (const chunk of chunks) assert.equal(chunk.text, all.slice(chunk.startLine - 1, chunk.endLine).join('\n'));
});

test('a line longer than a chunk is cut inside the line; blank texts give nothing', () => {
  const long = 'a'.repeat(1000);
  const chunks = chunkMarkdown(`# Title\n${long}\nend`, { maxTokens: 100, overlapTokens: 0 });
  assert.deepEqual(
    chunks.map((chunk) => [chunk.startLine, chunk.endLine, chunk.text.length]),
    [
      [1, 1, 7],
      [2, 2, 400],
      [2, 2, 400],
      [2, 3, 204],
    ],
  );
  assert.equal(chunks.map((chunk) => chunk.text).join('').replaceAll('\n', ''), `# Title${long}end`);
  assert.ok(chunks.every((chunk) => chunk.text.length <= 400));
  assert.deepEqual(chunkMarkdown('\n\n   \n'), []);
  assert.deepEqual(chunkMarkdown('one line'), [{ startLine: 1, endLine: 1, text: 'one line' }]);
  assert.deepEqual(chunkMarkdown('a\r\nb\r\n'), [{ startLine: 1, endLine: 2, text: 'a\nb' }]);
});
