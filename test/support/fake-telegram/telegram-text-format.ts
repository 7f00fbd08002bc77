/**
 * Telegram's message-text rules for the fake Bot API server: the `HTML`, `MarkdownV2` and legacy
 * `Markdown` parse modes (following the Bot API server's own parser, with the same error texts),
 * the trimming Telegram applies before checking that a text is not empty, and the entities
 * Telegram detects by itself in plain text (mentions, bot commands, hashtags, links).
 */
import type { MessageEntity } from 'grammy/types';

/** The outcome of reading a text in a parse mode: the text a user sees and its entities, or why it was refused. */
export type FormattedText =
  | { ok: true; text: string; entities: MessageEntity[] }
  | { ok: false; description: string };

export interface FormatOptions {
  /**
   * Refuse a bare `&` in HTML that does not start a character reference. Telegram itself shows such
   * an `&` literally; refusing it lets tests prove the sender escapes every `&`. Default true.
   */
  strictAmpersand?: boolean;
}

/** An entity while parsing; the pre/code pairing in HTML needs the language before it is final. */
interface DraftEntity {
  type: MessageEntity['type'];
  offset: number;
  length: number;
  url?: string;
  userId?: number;
  language?: string;
  customEmojiId?: string;
}

const SPACES = new Set([' ', '\t', '\r', '\n', '\0', '\v', '\f']);
const HTML_TAGS = new Set([
  'a', 'b', 'strong', 'i', 'em', 's', 'strike', 'del', 'u', 'ins', 'tg-spoiler', 'tg-emoji', 'span', 'pre', 'code', 'blockquote',
]);
/** Sort order of entities that start at the same place and have the same length (Telegram's priorities). */
const PRIORITY: Record<string, number> = {
  blockquote: 0, expandable_blockquote: 0, pre: 11, code: 20, text_link: 49, text_mention: 49, bold: 90, italic: 91,
  underline: 92, strikethrough: 93, spoiler: 94, custom_emoji: 99,
};

function isSpace(c: string): boolean {
  return SPACES.has(c);
}

/** The character at `index`, or NUL past the end (the parser reads like Telegram's, which stops at NUL). */
function at(source: string, index: number): string {
  return index < source.length ? source.charAt(index) : '\0';
}

/** Telegram reports error positions as UTF-8 byte offsets into the text it received. */
function byteOffset(source: string, index: number): number {
  return Buffer.byteLength(source.slice(0, index), 'utf8');
}

function cantParse(message: string): FormattedText {
  return { ok: false, description: `Bad Request: can't parse entities: ${message}` };
}

/** `tg://user?id=123` links become mentions of that user. */
function linkUserId(url: string): number | undefined {
  const match = /^tg:\/\/user\?id=(\d{1,15})$/i.exec(url.trim());
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** A link Telegram accepts for a text link, or '' (the entity is then silently dropped, as Telegram does). */
function checkedLink(url: string): string {
  const trimmed = url.trim();
  if (trimmed === '' || /\s/.test(trimmed)) return '';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) return /^[^/:?#]+\.[a-z]{2,}(?:[/:?#]|$)/i.test(trimmed) ? `http://${trimmed}` : '';
  if (scheme === 'http' || scheme === 'https') return /^https?:\/\/[^/?#\s]+/i.test(trimmed) ? trimmed : '';
  return scheme === 'tg' || scheme === 'ton' || scheme === 'tonsite' ? trimmed : '';
}

/** Decodes `&lt;` `&gt;` `&amp;` `&quot;` and numeric references at `pos`, like Telegram; undefined when it is not one. */
function decodeHtmlEntity(source: string, pos: number): { code: number; next: number } | undefined {
  let end = pos + 1;
  let code = 0;
  if (at(source, pos + 1) === '#') {
    end += 1;
    if (at(source, pos + 2) === 'x') {
      end += 1;
      while (/[0-9a-fA-F]/.test(at(source, end))) {
        code = code * 16 + Number.parseInt(at(source, end), 16);
        end += 1;
      }
    } else {
      while (/[0-9]/.test(at(source, end))) {
        code = code * 10 + Number(at(source, end));
        end += 1;
      }
    }
    if (code === 0 || code >= 0x10ffff || end - pos >= 10) return undefined;
  } else {
    while (/[A-Za-z]/.test(at(source, end))) end += 1;
    const name = source.slice(pos + 1, end);
    code = name === 'lt' ? 60 : name === 'gt' ? 62 : name === 'amp' ? 38 : name === 'quot' ? 34 : 0;
    if (code === 0) return undefined;
  }
  if (at(source, end) === ';') end += 1;
  return { code, next: end };
}

function toEntity(draft: DraftEntity): MessageEntity {
  const base = { offset: draft.offset, length: draft.length };
  switch (draft.type) {
    case 'text_link':
      return { ...base, type: 'text_link', url: draft.url ?? '' };
    case 'text_mention':
      return { ...base, type: 'text_mention', user: { id: draft.userId ?? 0, is_bot: false, first_name: 'User' } };
    case 'pre':
      return draft.language ? { ...base, type: 'pre', language: draft.language } : { ...base, type: 'pre' };
    case 'custom_emoji':
      return { ...base, type: 'custom_emoji', custom_emoji_id: draft.customEmojiId ?? '' };
    case 'date_time':
      return { ...base, type: 'date_time', unix_time: 0, date_time_format: 'r' };
    default:
      return { ...base, type: draft.type };
  }
}

function sortDrafts(entities: DraftEntity[]): void {
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length || (PRIORITY[a.type] ?? 50) - (PRIORITY[b.type] ?? 50));
}

/** Parses Telegram HTML (the tags of https://core.telegram.org/bots/api#html-style). */
function parseHtml(source: string, strictAmpersand: boolean): FormattedText {
  let out = '';
  const drafts: DraftEntity[] = [];
  const open: { tag: string; argument: string; offset: number; expandable: boolean }[] = [];
  for (let i = 0; i < source.length; i += 1) {
    const c = source.charAt(i);
    if (c === '&') {
      const decoded = decodeHtmlEntity(source, i);
      if (decoded !== undefined) {
        out += String.fromCodePoint(decoded.code);
        i = decoded.next - 1;
        continue;
      }
      if (strictAmpersand) return cantParse(`Unescaped "&" at byte offset ${byteOffset(source, i)}; write it as &amp;`);
    }
    if (c !== '<') {
      out += c;
      continue;
    }
    const begin = i;
    const beginByte = (): number => byteOffset(source, begin);
    i += 1;
    if (at(source, i) !== '/') {
      while (!isSpace(at(source, i)) && at(source, i) !== '>') i += 1;
      if (i >= source.length) return cantParse(`Unclosed start tag at byte offset ${beginByte()}`);
      const tag = source.slice(begin + 1, i).toLowerCase();
      if (!HTML_TAGS.has(tag)) return cantParse(`Unsupported start tag "${tag}" at byte offset ${beginByte()}`);
      let argument = '';
      let expandable = false;
      while (at(source, i) !== '>') {
        while (i < source.length && isSpace(at(source, i))) i += 1;
        if (at(source, i) === '>') break;
        const nameBegin = i;
        while (!isSpace(at(source, i)) && at(source, i) !== '=' && at(source, i) !== '>') i += 1;
        const name = source.slice(nameBegin, i);
        if (name === '') return cantParse(`Empty attribute name in the tag "${tag}" at byte offset ${beginByte()}`);
        while (i < source.length && isSpace(at(source, i))) i += 1;
        if (at(source, i) !== '=') {
          if (tag === 'blockquote' && name === 'expandable') {
            expandable = true;
            continue;
          }
          return cantParse(`Expected equal sign in declaration of an attribute of the tag "${tag}" at byte offset ${beginByte()}`);
        }
        i += 1;
        while (i < source.length && isSpace(at(source, i))) i += 1;
        if (i >= source.length) return cantParse(`Unclosed start tag "${tag}" at byte offset ${beginByte()}`);
        let value = '';
        const quote = at(source, i);
        if (quote !== '"' && quote !== "'") {
          const tokenBegin = i;
          while (/[A-Za-z0-9.-]/.test(at(source, i))) i += 1;
          value = source.slice(tokenBegin, i).toLowerCase();
          if (!isSpace(at(source, i)) && at(source, i) !== '>') {
            return cantParse(`Unexpected end of name token at byte offset ${byteOffset(source, tokenBegin)}`);
          }
        } else {
          i += 1;
          while (i < source.length && at(source, i) !== quote) {
            if (at(source, i) === '&') {
              const decoded = decodeHtmlEntity(source, i);
              if (decoded !== undefined) {
                value += String.fromCodePoint(decoded.code);
                i = decoded.next;
                continue;
              }
            }
            value += at(source, i);
            i += 1;
          }
          if (at(source, i) === quote) i += 1;
        }
        if (i >= source.length) return cantParse(`Unclosed start tag at byte offset ${beginByte()}`);
        if (tag === 'a' && name === 'href') argument = value;
        else if (tag === 'code' && name === 'class' && value.startsWith('language-')) argument = value.slice(9);
        else if (tag === 'span' && name === 'class' && value.startsWith('tg-')) argument = value.slice(3);
        else if (tag === 'tg-emoji' && name === 'emoji-id') argument = value;
      }
      if (tag === 'span' && argument !== 'spoiler') {
        return cantParse(`Tag "span" must have class "tg-spoiler" at byte offset ${beginByte()}`);
      }
      open.push({ tag, argument, offset: out.length, expandable });
      continue;
    }
    // An end tag.
    const top = open.at(-1);
    if (top === undefined) return cantParse(`Unexpected end tag at byte offset ${beginByte()}`);
    while (!isSpace(at(source, i)) && at(source, i) !== '>') i += 1;
    const endTag = source.slice(begin + 2, i).toLowerCase();
    while (i < source.length && isSpace(at(source, i))) i += 1;
    if (at(source, i) !== '>') return cantParse(`Unclosed end tag at byte offset ${beginByte()}`);
    if (endTag !== '' && endTag !== top.tag) {
      return cantParse(`Unmatched end tag at byte offset ${beginByte()}, expected "</${top.tag}>", found "</${endTag}>"`);
    }
    open.pop();
    if (out.length <= top.offset) continue;
    const span = { offset: top.offset, length: out.length - top.offset };
    const last = drafts.at(-1);
    const sameSpan = last !== undefined && last.offset === span.offset && last.length === span.length;
    switch (top.tag) {
      case 'i':
      case 'em':
        drafts.push({ type: 'italic', ...span });
        break;
      case 'b':
      case 'strong':
        drafts.push({ type: 'bold', ...span });
        break;
      case 's':
      case 'strike':
      case 'del':
        drafts.push({ type: 'strikethrough', ...span });
        break;
      case 'u':
      case 'ins':
        drafts.push({ type: 'underline', ...span });
        break;
      case 'tg-spoiler':
      case 'span':
        drafts.push({ type: 'spoiler', ...span });
        break;
      case 'tg-emoji':
        if (!/^\d{1,19}$/.test(top.argument) || /^0+$/.test(top.argument)) {
          return cantParse('Invalid custom emoji identifier specified');
        }
        drafts.push({ type: 'custom_emoji', ...span, customEmojiId: top.argument });
        break;
      case 'a': {
        const url = top.argument === '' ? out.slice(top.offset) : top.argument;
        const userId = linkUserId(url);
        if (userId !== undefined) drafts.push({ type: 'text_mention', ...span, userId });
        else {
          const link = checkedLink(url);
          if (link !== '') drafts.push({ type: 'text_link', ...span, url: link });
        }
        break;
      }
      case 'pre':
        if (sameSpan && last.type === 'code' && last.language) last.type = 'pre';
        else drafts.push({ type: 'pre', ...span });
        break;
      case 'code':
        if (sameSpan && last.type === 'pre' && top.argument !== '') last.language = top.argument;
        else drafts.push({ type: 'code', ...span, ...(top.argument === '' ? {} : { language: top.argument }) });
        break;
      default:
        drafts.push({ type: top.expandable ? 'expandable_blockquote' : 'blockquote', ...span });
    }
  }
  const unclosed = open.at(-1);
  if (unclosed !== undefined) return cantParse(`Can't find end tag corresponding to start tag ${unclosed.tag}`);
  for (const draft of drafts) if (draft.type === 'code') delete draft.language;
  sortDrafts(drafts);
  return { ok: true, text: out, entities: drafts.map(toEntity) };
}

type MarkdownKind =
  | 'Bold' | 'Italic' | 'Underline' | 'Strikethrough' | 'Spoiler' | 'TextUrl' | 'Code' | 'Pre' | 'PreCode' | 'CustomEmoji' | 'BlockQuote';

const MARKDOWN_TYPES: Record<MarkdownKind, MessageEntity['type']> = {
  Bold: 'bold', Italic: 'italic', Underline: 'underline', Strikethrough: 'strikethrough', Spoiler: 'spoiler',
  TextUrl: 'text_link', Code: 'code', Pre: 'pre', PreCode: 'pre', CustomEmoji: 'custom_emoji', BlockQuote: 'blockquote',
};

/** Reads the `(…)` after a link's text, where `\` escapes a character; undefined when `)` never comes. */
function readUrl(source: string, start: number): { url: string; end: number } | undefined {
  let url = '';
  let i = start;
  while (i < source.length && source.charAt(i) !== ')') {
    const next = source.charCodeAt(i + 1);
    if (source.charAt(i) === '\\' && next > 0 && next <= 126) {
      url += source.charAt(i + 1);
      i += 2;
      continue;
    }
    url += source.charAt(i);
    i += 1;
  }
  return at(source, i) === ')' ? { url, end: i } : undefined;
}

/** Parses MarkdownV2 (https://core.telegram.org/bots/api#markdownv2-style). */
function parseMarkdownV2(source: string): FormattedText {
  let out = '';
  const drafts: DraftEntity[] = [];
  const open: { kind: MarkdownKind; argument: string; offset: number; byteIndex: number }[] = [];
  let haveBlockquote = false;
  const reservedError = (c: string): FormattedText => cantParse(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);
  for (let i = 0; i < source.length; i += 1) {
    const c = source.charAt(i);
    const nextCode = source.charCodeAt(i + 1);
    if (c === '\\' && nextCode > 0 && nextCode <= 126) {
      i += 1;
      out += source.charAt(i);
      continue;
    }
    const top = open.at(-1);
    const inCode = top !== undefined && (top.kind === 'Code' || top.kind === 'Pre' || top.kind === 'PreCode');
    const reserved = inCode ? '`' : '_*[]()~`>#+-=|{}.!\n';
    if (!reserved.includes(c)) {
      out += c;
      continue;
    }
    let isEnd = false;
    if (top !== undefined) {
      if (haveBlockquote && c === '\n' && (i + 1 === source.length || at(source, i + 1) !== '>')) isEnd = true;
      else {
        switch (top.kind) {
          case 'Bold':
            isEnd = c === '*';
            break;
          case 'Italic':
            isEnd = c === '_' && at(source, i + 1) !== '_';
            break;
          case 'Code':
            isEnd = c === '`';
            break;
          case 'Pre':
          case 'PreCode':
            isEnd = c === '`' && at(source, i + 1) === '`' && at(source, i + 2) === '`';
            break;
          case 'TextUrl':
          case 'CustomEmoji':
            isEnd = c === ']';
            break;
          case 'Underline':
            isEnd = c === '_' && at(source, i + 1) === '_';
            break;
          case 'Strikethrough':
            isEnd = c === '~';
            break;
          case 'Spoiler':
            isEnd = c === '|' && at(source, i + 1) === '|';
            break;
          default:
            isEnd = false;
        }
      }
    }
    if (!isEnd) {
      const byteIndex = i;
      let kind: MarkdownKind | 'newline';
      let argument = '';
      switch (c) {
        case '_':
          if (at(source, i + 1) === '_') {
            kind = 'Underline';
            i += 1;
          } else kind = 'Italic';
          break;
        case '*':
          kind = 'Bold';
          break;
        case '~':
          kind = 'Strikethrough';
          break;
        case '|':
          if (at(source, i + 1) !== '|') return reservedError(c);
          i += 1;
          kind = 'Spoiler';
          break;
        case '[':
          kind = 'TextUrl';
          break;
        case '`':
          if (at(source, i + 1) === '`' && at(source, i + 2) === '`') {
            i += 3;
            kind = 'Pre';
            let languageEnd = i;
            while (!isSpace(at(source, languageEnd)) && at(source, languageEnd) !== '`') languageEnd += 1;
            if (i !== languageEnd && languageEnd < source.length && at(source, languageEnd) !== '`') {
              kind = 'PreCode';
              argument = source.slice(i, languageEnd);
              i = languageEnd;
            }
            const here = at(source, i);
            if (here === '\n' || here === '\r') {
              const after = at(source, i + 1);
              i += (after === '\n' || after === '\r') && after !== here ? 2 : 1;
            }
            i -= 1;
          } else kind = 'Code';
          break;
        case '!':
          if (at(source, i + 1) !== '[') return reservedError(c);
          i += 1;
          kind = 'CustomEmoji';
          break;
        case '\n':
          out += '\n';
          kind = 'newline';
          if (i + 1 < source.length && at(source, i + 1) === '>') {
            i += 1;
            if (!haveBlockquote) {
              kind = 'BlockQuote';
              haveBlockquote = true;
            }
          }
          break;
        case '>':
          if (i !== 0) return reservedError(c);
          kind = 'BlockQuote';
          haveBlockquote = true;
          break;
        default:
          return reservedError(c);
      }
      if (kind !== 'newline') open.push({ kind, argument, offset: out.length, byteIndex });
      continue;
    }
    // The end of the innermost entity.
    const entity = top;
    if (entity === undefined) continue;
    if (c === '\n' && entity.kind !== 'BlockQuote') {
      return cantParse(`Can't find end of ${entity.kind} entity at byte offset ${byteOffset(source, entity.byteIndex)}`);
    }
    let skip = out.length === entity.offset;
    const draft: DraftEntity = { type: MARKDOWN_TYPES[entity.kind], offset: entity.offset, length: 0 };
    switch (entity.kind) {
      case 'Underline':
      case 'Spoiler':
        i += 1;
        break;
      case 'Pre':
      case 'PreCode':
        i += 2;
        if (entity.kind === 'PreCode') draft.language = entity.argument;
        break;
      case 'TextUrl': {
        let url = out.slice(entity.offset);
        if (at(source, i + 1) === '(') {
          const read = readUrl(source, i + 2);
          if (read === undefined) return cantParse(`Can't find end of a URL at byte offset ${byteOffset(source, i + 2)}`);
          url = read.url;
          i = read.end;
        }
        const userId = linkUserId(url);
        if (userId !== undefined) {
          draft.type = 'text_mention';
          draft.userId = userId;
        } else {
          const link = checkedLink(url);
          if (link === '') skip = true;
          else draft.url = link;
        }
        break;
      }
      case 'CustomEmoji': {
        if (at(source, i + 1) !== '(') return cantParse('Custom emoji entity must contain a tg://emoji URL');
        const read = readUrl(source, i + 2);
        if (read === undefined) return cantParse(`Can't find end of a custom emoji URL at byte offset ${byteOffset(source, i + 2)}`);
        i = read.end;
        const id = /^tg:\/\/emoji\?id=(\d{1,19})$/.exec(read.url)?.[1];
        if (id === undefined) return cantParse('Invalid custom emoji URL specified');
        draft.customEmojiId = id;
        break;
      }
      case 'BlockQuote':
        haveBlockquote = false;
        out += c;
        break;
      default:
        break;
    }
    draft.length = out.length - entity.offset;
    if (!skip) drafts.push(draft);
    open.pop();
  }
  const last = open.at(-1);
  if (haveBlockquote && last?.kind === 'BlockQuote') {
    if (out.length > last.offset) drafts.push({ type: 'blockquote', offset: last.offset, length: out.length - last.offset });
    open.pop();
  }
  const unclosed = open.at(-1);
  if (unclosed !== undefined) {
    return cantParse(`Can't find end of ${unclosed.kind} entity at byte offset ${byteOffset(source, unclosed.byteIndex)}`);
  }
  sortDrafts(drafts);
  return { ok: true, text: out, entities: drafts.map(toEntity) };
}

/** Parses legacy Markdown (https://core.telegram.org/bots/api#markdown-style). */
function parseLegacyMarkdown(source: string): FormattedText {
  let out = '';
  const drafts: DraftEntity[] = [];
  for (let i = 0; i < source.length; i += 1) {
    const c = source.charAt(i);
    const next = at(source, i + 1);
    if (c === '\\' && (next === '_' || next === '*' || next === '`' || next === '[')) {
      out += next;
      i += 1;
      continue;
    }
    if (c !== '_' && c !== '*' && c !== '`' && c !== '[') {
      out += c;
      continue;
    }
    const begin = i;
    const endCharacter = c === '[' ? ']' : c;
    let isPre = false;
    let language = '';
    i += 1;
    if (c === '`' && at(source, i) === '`' && at(source, i + 1) === '`') {
      i += 2;
      isPre = true;
      let languageEnd = i;
      while (!isSpace(at(source, languageEnd)) && at(source, languageEnd) !== '`') languageEnd += 1;
      if (i !== languageEnd && languageEnd < source.length && at(source, languageEnd) !== '`') {
        language = source.slice(i, languageEnd);
        i = languageEnd;
      }
      const here = at(source, i);
      if (here === '\n' || here === '\r') {
        const after = at(source, i + 1);
        i += (after === '\n' || after === '\r') && after !== here ? 2 : 1;
      }
    }
    const offset = out.length;
    while (i < source.length && (source.charAt(i) !== endCharacter || (isPre && !(at(source, i + 1) === '`' && at(source, i + 2) === '`')))) {
      out += source.charAt(i);
      i += 1;
    }
    if (i >= source.length) return cantParse(`Can't find end of the entity starting at byte offset ${byteOffset(source, begin)}`);
    if (out.length > offset) {
      const span = { offset, length: out.length - offset };
      if (c === '_') drafts.push({ type: 'italic', ...span });
      else if (c === '*') drafts.push({ type: 'bold', ...span });
      else if (c === '`') drafts.push(isPre ? { type: 'pre', ...span, ...(language ? { language } : {}) } : { type: 'code', ...span });
      else {
        let url = out.slice(offset);
        if (at(source, i + 1) === '(') {
          i += 2;
          url = '';
          while (i < source.length && source.charAt(i) !== ')') {
            url += source.charAt(i);
            i += 1;
          }
        }
        const userId = linkUserId(url);
        const link = checkedLink(url);
        if (userId !== undefined) drafts.push({ type: 'text_mention', ...span, userId });
        else if (link !== '') drafts.push({ type: 'text_link', ...span, url: link });
      }
    }
    if (isPre) i += 2;
  }
  sortDrafts(drafts);
  return { ok: true, text: out, entities: drafts.map(toEntity) };
}

/** Removes leading and trailing whitespace as Telegram does, moving and clipping the entities to match. */
export function trimFormatted(text: string, entities: MessageEntity[]): { text: string; entities: MessageEntity[] } {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charAt(start))) start += 1;
  while (end > start && isSpace(text.charAt(end - 1))) end -= 1;
  if (start === 0 && end === text.length) return { text, entities };
  const kept: MessageEntity[] = [];
  for (const entity of entities) {
    const from = Math.max(entity.offset, start);
    const to = Math.min(entity.offset + entity.length, end);
    if (to > from) kept.push({ ...entity, offset: from - start, length: to - from });
  }
  return { text: text.slice(start, end), entities: kept };
}

/**
 * Reads a message text the way the Bot API does for `parse_mode` (HTML, MarkdownV2, Markdown; any
 * case) or explicit `entities`, then trims it. The caller checks for an empty or too long result.
 */
export function formatMessageText(
  text: string,
  parseMode: string | undefined,
  explicitEntities: MessageEntity[] | undefined,
  options: FormatOptions = {},
): FormattedText {
  let parsed: FormattedText;
  const mode = (parseMode ?? '').toLowerCase();
  if (explicitEntities !== undefined) parsed = { ok: true, text, entities: explicitEntities };
  else if (mode === '') parsed = { ok: true, text, entities: [] };
  else if (mode === 'html') parsed = parseHtml(text, options.strictAmpersand ?? true);
  else if (mode === 'markdownv2') parsed = parseMarkdownV2(text);
  else if (mode === 'markdown') parsed = parseLegacyMarkdown(text);
  else return { ok: false, description: 'Bad Request: unsupported parse_mode' };
  if (!parsed.ok) return parsed;
  return { ok: true, ...trimFormatted(parsed.text, parsed.entities) };
}

const WORD = String.raw`\p{L}\p{N}_`;
const DETECTORS: { type: 'url' | 'mention' | 'bot_command' | 'hashtag' | 'email'; pattern: RegExp; accept?: (match: string) => boolean }[] = [
  { type: 'url', pattern: new RegExp(String.raw`(?<![${WORD}])https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'’]`, 'giu') },
  { type: 'email', pattern: new RegExp(String.raw`(?<![${WORD}.@])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![${WORD}@])`, 'gu') },
  {
    type: 'mention',
    pattern: new RegExp(`(?<![${WORD}])@[A-Za-z0-9_]+(?![${WORD}])`, 'gu'),
    accept: (match) => match.length >= 3 && match.length <= 33,
  },
  {
    type: 'bot_command',
    pattern: new RegExp(String.raw`(?<![${WORD}/<>])\/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![${WORD}/<>@])`, 'gu'),
  },
  { type: 'hashtag', pattern: new RegExp(String.raw`(?<![${WORD}])#[${WORD}]*\p{L}[${WORD}]*(?![${WORD}]*#)`, 'gu') },
];

/**
 * The entities Telegram finds by itself in a plain text: links, e-mail addresses, @mentions, /commands
 * and #hashtags (simplified patterns; enough for what a chat gateway reads).
 */
export function detectEntities(text: string): MessageEntity[] {
  const found: MessageEntity[] = [];
  const overlaps = (offset: number, length: number): boolean =>
    found.some((entity) => offset < entity.offset + entity.length && entity.offset < offset + length);
  for (const detector of DETECTORS) {
    for (const match of text.matchAll(detector.pattern)) {
      const offset = match.index ?? 0;
      const length = match[0].length;
      if (detector.accept !== undefined && !detector.accept(match[0])) continue;
      if (!overlaps(offset, length)) found.push({ type: detector.type, offset, length });
    }
  }
  return found.sort((a, b) => a.offset - b.offset);
}
