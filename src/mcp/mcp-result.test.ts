import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptTools, formatCallResult, MAX_RESULT_CHARS } from './mcp-result.js';

test('a tool result as text: text items joined, other items summarised, isError kept', () => {
  const result = formatCallResult({
    content: [
      { type: 'text', text: 'first' },
      { type: 'image', mimeType: 'image/png', data: 'aGVsbG8=' },
      { type: 'audio', mimeType: 'audio/wav', data: 'AAAA' },
      { type: 'resource', resource: { uri: 'file:///notes.md', text: '# Notes' } },
      { type: 'resource', resource: { uri: 'file:///photo.jpg', blob: 'AAAA' } },
      { type: 'resource_link', uri: 'file:///big.csv', name: 'big' },
      { type: 'something-new' },
      { type: 'text', text: 'last' },
    ],
    isError: true,
  });
  assert.equal(
    result.content,
    ['first', '[image image/png, 5 bytes]', '[audio audio/wav, 3 bytes]', '[resource file:///notes.md]\n# Notes', '[resource file:///photo.jpg]', '[resource link file:///big.csv]', '[something-new content]', 'last'].join('\n'),
  );
  assert.equal(result.isError, true);
  assert.deepEqual(formatCallResult({ content: [] }), { content: '', isError: false });
});

test('structured content stands in for missing content; long text is cut with a mark', () => {
  assert.deepEqual(formatCallResult({ content: [], structuredContent: { total: 3 } }), { content: '{"total":3}', isError: false });
  const long = formatCallResult({ content: [{ type: 'text', text: 'a'.repeat(MAX_RESULT_CHARS + 1234) }] }).content;
  assert.ok(long.startsWith('a'.repeat(MAX_RESULT_CHARS)));
  assert.match(long.slice(MAX_RESULT_CHARS), /^\n\[… cut: 1234 more characters not shown …\]$/u);
  assert.equal(formatCallResult({ content: [{ type: 'text', text: 'a'.repeat(MAX_RESULT_CHARS) }] }).content.length, MAX_RESULT_CHARS);
});

test('listed tools: names that cannot become `<server>__<tool>` and repeated names are skipped and reported', () => {
  const refused: string[] = [];
  const schema = { type: 'object', properties: { text: { type: 'string' } } };
  const tools = acceptTools(
    [
      { name: 'read_file', description: 'Reads.', inputSchema: schema },
      { name: 'bad.name', inputSchema: schema },
      { name: 'x'.repeat(49), inputSchema: schema },
      { name: 'x'.repeat(48), inputSchema: schema },
      { name: '', inputSchema: schema },
      { name: 'read_file', description: 'Again.', inputSchema: schema },
    ],
    (name, reason) => refused.push(`${name}: ${reason}`),
  );
  assert.deepEqual(tools, [
    { name: 'read_file', description: 'Reads.', inputSchema: schema },
    { name: 'x'.repeat(48), description: '', inputSchema: schema },
  ]);
  assert.equal(refused.length, 4);
  assert.match(refused[0]!, /^bad\.name: its name must match/u);
  assert.match(refused[3]!, /^read_file: the server listed it twice$/u);
});
