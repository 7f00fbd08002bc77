import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { completeBlocksEnd, createMarkdownStream, loadTerminalRenderer } from './terminal-markdown.js';

describe('terminal Markdown', () => {
  it('finds the end of the complete blocks, never inside a fenced code block', () => {
    assert.equal(completeBlocksEnd('a paragraph still being writ'), 0);
    assert.equal(completeBlocksEnd('one\n\ntwo'), 5);
    assert.equal(completeBlocksEnd('```js\nconst a = 1;\n\nconst b = 2;\n'), 0);
    assert.equal(completeBlocksEnd('```js\nconst a = 1;\n\n```\n\nafter'), '```js\nconst a = 1;\n\n```\n\n'.length);
  });

  it('renders each block once it is complete, in order, and the rest at the end', async () => {
    const written: string[] = [];
    const stream = createMarkdownStream(Promise.resolve((markdown: string) => `<${markdown.trim()}>`), (text) => written.push(text));
    for (const piece of ['# Ti', 'tle\n', '\nSome **bo', 'ld** text.\n\n- one\n', '- two']) stream.push(piece);
    await stream.end();
    assert.deepEqual(written, ['<# Title>\n\n', '<Some **bold** text.>\n\n', '<- one\n- two>\n']);
  });

  it('renders headings, emphasis and lists without their Markdown markers', async () => {
    const render = await loadTerminalRenderer(80);
    const text = render('# Plan\n\nSome **bold** and `code`.\n\n- one\n- two with **flour** and `water`\n\n1. first *step*\n').replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(text, /^Plan$/m);
    assert.match(text, /Some bold and code\./);
    assert.doesNotMatch(text, /\*\*|`|^# |\*step\*/m);
    assert.match(text, /\* one/);
    assert.match(text, /\* two with flour and water/);
    assert.match(text, /1\. first step/);
  });
});
