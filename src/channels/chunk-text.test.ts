import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkMarkdown } from './chunk-text.js';
import { markdownToPlainText, markdownToSlackMrkdwn, markdownToTelegramHtml } from './markdown.js';

/** Every code fence opened in a piece is closed in the same piece. */
function fencesBalanced(piece: string): boolean {
  return (piece.match(/^```/gmu) ?? []).length % 2 === 0;
}

describe('chunkMarkdown', () => {
  it('keeps a short text whole', () => {
    assert.deepEqual(chunkMarkdown('hello there', 100), ['hello there']);
  });

  it('splits at paragraph breaks first, and no piece exceeds the limit', () => {
    const paragraphs = Array.from({ length: 12 }, (_, i) => `Paragraph ${i}. ${'word '.repeat(30).trim()}`);
    const pieces = chunkMarkdown(paragraphs.join('\n\n'), 400);
    assert.ok(pieces.length > 1);
    for (const piece of pieces) {
      assert.ok(piece.length <= 400, `piece of ${piece.length}`);
      assert.match(piece, /^Paragraph \d+\./u, 'each piece starts at a paragraph');
    }
    assert.equal(pieces.join('\n\n'), paragraphs.join('\n\n'), 'nothing is lost or changed');
  });

  it('never splits inside a code block when a break outside exists', () => {
    const code = ['```ts', ...Array.from({ length: 10 }, (_, i) => `const value${i} = ${i};`), '```'].join('\n');
    const text = `Intro line.\n\n${'filler text '.repeat(20)}\n\n${code}\n\nAfter the code.`;
    const pieces = chunkMarkdown(text, 300);
    for (const piece of pieces) {
      assert.ok(piece.length <= 300);
      assert.ok(fencesBalanced(piece), `unbalanced fence in:\n${piece}`);
    }
    assert.ok(pieces.some((piece) => piece.includes(code)), 'the code block stays in one piece');
  });

  it('splits a code block longer than the limit at line ends, closing and reopening it with its language', () => {
    const lines = Array.from({ length: 60 }, (_, i) => `print(${i})`);
    const pieces = chunkMarkdown(['```python', ...lines, '```'].join('\n'), 200);
    assert.ok(pieces.length > 2);
    for (const piece of pieces) {
      assert.ok(piece.length <= 200, `piece of ${piece.length}`);
      assert.ok(piece.startsWith('```python\n'), 'every piece reopens the block with its language');
      assert.ok(piece.endsWith('\n```'), 'every piece closes the block');
    }
    const body = pieces.flatMap((piece) => piece.split('\n').slice(1, -1));
    assert.deepEqual(body, lines, 'every line arrives once and in order');
  });

  it('cuts a single enormous word and never splits a surrogate pair', () => {
    const text = '😀'.repeat(100);
    const pieces = chunkMarkdown(text, 51);
    assert.equal(pieces.join(''), text);
    for (const piece of pieces) assert.doesNotMatch(piece, /^[\udc00-\udfff]|[\ud800-\udbff]$/u);
  });
});

describe('Markdown conversion', () => {
  it('makes Telegram HTML with escaped text, code blocks with language, links and emphasis', () => {
    const html = markdownToTelegramHtml('# Title\nUse **bold**, *it*, `a<b` & [docs](https://example.com/?a=1&b=2)\n```js\nif (a < b) {}\n```\n> quoted');
    assert.equal(
      html,
      '<b>Title</b>\nUse <b>bold</b>, <i>it</i>, <code>a&lt;b</code> &amp; <a href="https://example.com/?a=1&amp;b=2">docs</a>\n' +
        '<pre><code class="language-js">if (a &lt; b) {}</code></pre>\n<blockquote>quoted</blockquote>',
    );
  });

  it('falls back to escaped text when emphasis would produce overlapping tags', () => {
    assert.equal(markdownToTelegramHtml('**a *b** c* <x>'), '**a *b** c* &lt;x&gt;');
  });

  it('refuses unsafe link schemes', () => {
    assert.equal(markdownToTelegramHtml('[x](javascript:alert(1))'), '[x](javascript:alert(1))');
  });

  it('makes Slack mrkdwn', () => {
    assert.equal(markdownToSlackMrkdwn('**bold** and *it* ~~old~~ [site](https://a.b) <tag>'), '*bold* and _it_ ~old~ <https://a.b|site> &lt;tag&gt;');
  });

  it('makes plain text for IRC', () => {
    assert.equal(markdownToPlainText('## Hi\n**bold** [site](https://a.b)\n- item\n```\ncode *x*\n```'), 'Hi\nbold site (https://a.b)\n- item\ncode *x*');
  });
});
