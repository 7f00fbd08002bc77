/**
 * A small JSON5-aware scanner that records where every value (and every object key) sits in the
 * source text, so a validation error on `agents.defaults.model` can point at its line and column.
 * It does not validate: run it on text that `JSON5.parse` accepted. It understands `//` and
 * `/* *\/` comments, quoted and unquoted keys, single- and double-quoted strings (with escapes and
 * line continuations), nested objects and arrays, and bare literals (numbers, `true`, `Infinity`, …).
 */

/** A 1-based position; columns count UTF-16 code units, as JSON5's own error positions do. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** One path segment: an object key or an array index. */
export type PathSegment = string | number;

/** One value in the document. */
export interface SourceNode {
  path: readonly PathSegment[];
  kind: 'object' | 'array' | 'string' | 'literal';
  /** Position of the member's key, for values that are object members. */
  key?: SourcePosition;
  /** Position of the value's first character. */
  value: SourcePosition;
  /** Offsets of the value's source text: `text.slice(start, end)`. */
  start: number;
  end: number;
}

/** The scanned document. */
export interface Json5SourceMap {
  /** Every value, in document order (a parent before its children). */
  readonly nodes: readonly SourceNode[];
  /**
   * Where `path` is written: the key of an object member, the value of an array element or of the
   * root. A path that is not in the text (a missing key) gives the position of its nearest
   * ancestor that is. When a key is written twice, the last one wins, as in `JSON5.parse`.
   */
  locate(path: readonly PathSegment[]): SourcePosition;
}

/**
 * Scans `text` (valid JSON5) into a source map.
 * @throws Error when the text is not structurally valid JSON5 (an unterminated string, a missing
 *   `:`, …). Callers that ran `JSON5.parse` first never see this.
 */
export function scanJson5(text: string): Json5SourceMap {
  const nodes: SourceNode[] = [];
  const cursor = createCursor(text);
  cursor.skipTrivia();
  if (!cursor.atEnd()) parseValue(cursor, [], undefined, nodes);
  cursor.skipTrivia();
  if (!cursor.atEnd()) cursor.fail('unexpected text after the top-level value');

  const byPath = new Map<string, SourceNode>();
  for (const node of nodes) byPath.set(pathId(node.path), node);
  return {
    nodes,
    locate(path) {
      for (let length = path.length; length >= 0; length--) {
        const node = byPath.get(pathId(path.slice(0, length)));
        if (node !== undefined) return node.key ?? node.value;
      }
      return { line: 1, column: 1 };
    },
  };
}

/** True when `text` holds nothing but whitespace and comments (an "empty" config file). */
export function isBlankJson5(text: string): boolean {
  const cursor = createCursor(text);
  try {
    cursor.skipTrivia();
  } catch {
    return false;
  }
  return cursor.atEnd();
}

interface Cursor {
  readonly text: string;
  offset(): number;
  position(): SourcePosition;
  peek(ahead?: number): string | undefined;
  advance(): void;
  atEnd(): boolean;
  skipTrivia(): void;
  fail(message: string): never;
}

function createCursor(text: string): Cursor {
  let pos = 0;
  let line = 1;
  let column = 1;
  const cursor: Cursor = {
    text,
    offset: () => pos,
    position: () => ({ line, column }),
    peek: (ahead = 0) => text[pos + ahead],
    atEnd: () => pos >= text.length,
    advance() {
      // JSON5 counts only "\n" as a line break in its error positions; match it.
      if (text[pos] === '\n') {
        line++;
        column = 1;
      } else {
        column++;
      }
      pos++;
    },
    skipTrivia() {
      while (pos < text.length) {
        const ch = text[pos];
        const next = text[pos + 1];
        if (ch === '/' && next === '/') {
          while (pos < text.length && !isLineTerminator(text[pos])) cursor.advance();
        } else if (ch === '/' && next === '*') {
          cursor.advance();
          cursor.advance();
          while (pos < text.length && !(text[pos] === '*' && text[pos + 1] === '/')) cursor.advance();
          if (pos >= text.length) cursor.fail('unterminated block comment');
          cursor.advance();
          cursor.advance();
        } else if (ch !== undefined && /\s/u.test(ch)) {
          cursor.advance();
        } else {
          return;
        }
      }
    },
    fail(message) {
      throw new Error(`${message} at ${line}:${column}`);
    },
  };
  return cursor;
}

function parseValue(cursor: Cursor, path: PathSegment[], key: SourcePosition | undefined, nodes: SourceNode[]): void {
  cursor.skipTrivia();
  const start = cursor.offset();
  const value = cursor.position();
  const ch = cursor.peek();
  const kind: SourceNode['kind'] =
    ch === '{' ? 'object' : ch === '[' ? 'array' : ch === '"' || ch === "'" ? 'string' : 'literal';
  const node: SourceNode = { path, kind, value, start, end: start, ...(key === undefined ? {} : { key }) };
  nodes.push(node);
  if (kind === 'object') parseObject(cursor, path, nodes);
  else if (kind === 'array') parseArray(cursor, path, nodes);
  else if (kind === 'string') skipString(cursor);
  else skipLiteral(cursor);
  node.end = cursor.offset();
}

function parseObject(cursor: Cursor, path: PathSegment[], nodes: SourceNode[]): void {
  cursor.advance(); // {
  for (;;) {
    cursor.skipTrivia();
    if (cursor.peek() === '}') break;
    const keyPosition = cursor.position();
    const name = readKey(cursor);
    cursor.skipTrivia();
    if (cursor.peek() !== ':') cursor.fail('expected ":"');
    cursor.advance();
    parseValue(cursor, [...path, name], keyPosition, nodes);
    cursor.skipTrivia();
    if (cursor.peek() === ',') cursor.advance();
    else if (cursor.peek() !== '}') cursor.fail('expected "," or "}"');
  }
  cursor.advance(); // }
}

function parseArray(cursor: Cursor, path: PathSegment[], nodes: SourceNode[]): void {
  cursor.advance(); // [
  for (let index = 0; ; index++) {
    cursor.skipTrivia();
    if (cursor.peek() === ']') break;
    parseValue(cursor, [...path, index], undefined, nodes);
    cursor.skipTrivia();
    if (cursor.peek() === ',') cursor.advance();
    else if (cursor.peek() !== ']') cursor.fail('expected "," or "]"');
  }
  cursor.advance(); // ]
}

function readKey(cursor: Cursor): string {
  const start = cursor.offset();
  const quote = cursor.peek();
  if (quote === '"' || quote === "'") {
    skipString(cursor);
    return decodeEscapes(cursor.text.slice(start + 1, cursor.offset() - 1));
  }
  while (!cursor.atEnd()) {
    const ch = cursor.peek();
    if (ch === ':' || ch === '/' || (ch !== undefined && /\s/u.test(ch))) break;
    cursor.advance();
  }
  if (cursor.offset() === start) cursor.fail('expected a key');
  return decodeEscapes(cursor.text.slice(start, cursor.offset()));
}

function skipString(cursor: Cursor): void {
  const quote = cursor.peek();
  cursor.advance();
  while (!cursor.atEnd()) {
    const ch = cursor.peek();
    if (ch === '\\') {
      cursor.advance();
      cursor.advance();
    } else if (ch === quote) {
      cursor.advance();
      return;
    } else {
      cursor.advance();
    }
  }
  cursor.fail('unterminated string');
}

function skipLiteral(cursor: Cursor): void {
  const start = cursor.offset();
  while (!cursor.atEnd()) {
    const ch = cursor.peek();
    if (ch === ',' || ch === ']' || ch === '}' || ch === '/' || (ch !== undefined && /\s/u.test(ch))) break;
    cursor.advance();
  }
  if (cursor.offset() === start) cursor.fail('expected a value');
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '0': '\0',
};

/** Decodes the escapes of a key's source text (the body of a quoted key, or an identifier). */
function decodeEscapes(body: string): string {
  return body.replace(/\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|(\r\n|[\s\S]))/g, (_match, unicode, hex, other) => {
    if (typeof unicode === 'string') return String.fromCharCode(Number.parseInt(unicode, 16));
    if (typeof hex === 'string') return String.fromCharCode(Number.parseInt(hex, 16));
    const escaped = String(other);
    if (isLineTerminator(escaped[0])) return ''; // line continuation
    return SIMPLE_ESCAPES[escaped] ?? escaped;
  });
}

function isLineTerminator(ch: string | undefined): boolean {
  return ch === '\n' || ch === '\r' || ch === '\u2028' || ch === '\u2029';
}

function pathId(path: readonly PathSegment[]): string {
  return JSON.stringify(path);
}
