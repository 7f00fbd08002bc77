import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import JSON5 from 'json5';
import { isBlankJson5, scanJson5 } from './json5-locator.js';
import { closestMatch, editDistance } from './suggest.js';

describe('scanJson5', () => {
  const text = `// leading comment with { braces } and "quotes"
{
  /* block
     comment: { not: "a key" } */
  plain: 1,
  "double": "a \\" quote, a // slash and a /* star */",
  'single': 'it\\'s',
  nested: {
    list: [
      { deep: true },
      [ +Infinity, -0x1F, .5, ],
      "str",
    ],
    continued: "line \\
next",
  },
  last: null, // trailing
}
`;
  const map = scanJson5(text);

  it('finds object keys, including quoted ones', () => {
    assert.deepEqual(map.locate(['plain']), { line: 5, column: 3 });
    assert.deepEqual(map.locate(['double']), { line: 6, column: 3 });
    assert.deepEqual(map.locate(['single']), { line: 7, column: 3 });
    assert.deepEqual(map.locate(['nested', 'continued']), { line: 14, column: 5 });
    assert.deepEqual(map.locate(['last']), { line: 17, column: 3 });
  });

  it('finds array elements and keys inside them', () => {
    assert.deepEqual(map.locate(['nested', 'list', 0]), { line: 10, column: 7 });
    assert.deepEqual(map.locate(['nested', 'list', 0, 'deep']), { line: 10, column: 9 });
    assert.deepEqual(map.locate(['nested', 'list', 1, 2]), { line: 11, column: 27 });
    assert.deepEqual(map.locate(['nested', 'list', 2]), { line: 12, column: 7 });
  });

  it('falls back to the nearest written ancestor for a missing path, and to the root value', () => {
    assert.deepEqual(map.locate(['nested', 'missing', 'deeper']), { line: 8, column: 3 });
    assert.deepEqual(map.locate([]), { line: 2, column: 1 });
  });

  it('records value spans that round-trip through JSON5', () => {
    for (const node of map.nodes) {
      if (node.kind === 'string') assert.equal(typeof JSON5.parse(text.slice(node.start, node.end)), 'string');
    }
    const strings = map.nodes.filter((node) => node.kind === 'string').map((node) => JSON5.parse(text.slice(node.start, node.end)));
    assert.deepEqual(strings, ['a " quote, a // slash and a /* star */', "it's", 'str', 'line next']);
  });

  it('uses the same line and column convention as JSON5 errors', () => {
    const broken = '{\n  a: 1,\n  b: [1, 2 3],\n}';
    try {
      JSON5.parse(broken);
      assert.fail('expected a syntax error');
    } catch (error) {
      const { lineNumber, columnNumber } = error as { lineNumber: number; columnNumber: number };
      // "3" in "b: [1, 2 3]" — the same spot the locator would report for b[2].
      const fixed = scanJson5('{\n  a: 1,\n  b: [1, 2,3],\n}');
      assert.deepEqual(fixed.locate(['b', 2]), { line: lineNumber, column: columnNumber });
    }
  });

  it('decodes escaped and unicode keys and lets the last duplicate win', () => {
    const m = scanJson5('{ "a\\u0062": 1, \\u0063d: 2, x: 1,\n x: 2 }');
    assert.deepEqual(m.locate(['ab']), { line: 1, column: 3 });
    assert.deepEqual(m.locate(['cd']), { line: 1, column: 17 });
    assert.deepEqual(m.locate(['x']), { line: 2, column: 2 });
  });

  it('throws on text that is not JSON5', () => {
    assert.throws(() => scanJson5('{ a: "open'), /unterminated string/);
    assert.throws(() => scanJson5('{ a 1 }'), /expected ":"/);
  });
});

describe('isBlankJson5', () => {
  it('is true for whitespace and comments only', () => {
    assert.equal(isBlankJson5(''), true);
    assert.equal(isBlankJson5(' \n// x\n/* y */\t'), true);
    assert.equal(isBlankJson5('{}'), false);
    assert.equal(isBlankJson5('/* unterminated'), false);
  });
});

describe('suggestions', () => {
  it('computes edit distance with adjacent swaps', () => {
    assert.equal(editDistance('modle', 'model'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
  });

  it('picks a case-insensitive match, else the nearest within 2 edits', () => {
    assert.equal(closestMatch('modle', ['fallbacks', 'model', 'workspace']), 'model');
    assert.equal(closestMatch('MaxSteps', ['maxSteps', 'maxStep']), 'maxSteps');
    assert.equal(closestMatch('prot', ['port', 'bind']), 'port');
    assert.equal(closestMatch('completely', ['port', 'bind']), undefined);
    assert.equal(closestMatch('ab', ['api']), undefined);
  });
});
