import type { ChatMessage } from './messages.js';

/**
 * Transcript messages kept as their stored JSON, oldest first: one string for the lot instead of
 * an object per message, so a long history costs little to keep, nothing for the garbage collector
 * to trace, and (for plain messages) nothing to encode again before it is sent.
 */
export interface PackedMessages {
  /** Each message's stored JSON (`JSON.stringify` of its ChatMessage), joined by commas. */
  readonly json: string;
  /** Where each message's JSON ends in `json`; the next one starts one character later. */
  readonly ends: Uint32Array;
  /** Each message's role initial, in order: `u` user, `a` assistant, `t` tool. */
  readonly roles: string;
  /** Every message is `{role: "user" | "assistant", content}` and nothing else. */
  readonly plain: boolean;
}

/** Separates stored messages in a packed read: a control character JSON never leaves raw in its text. */
export const PACK_SEPARATOR = '\u001e';

export const EMPTY_PACKED: PackedMessages = { json: '', ends: new Uint32Array(0), roles: '', plain: true };

const PLAIN_PREFIX = { u: '{"role":"user","content":"', a: '{"role":"assistant","content":"' } as const;

/**
 * Whether a stored message is `{role, content}` only: the role prefix, then a string whose
 * closing quote (the first quote not escaped) is the one just before the final brace.
 */
function isPlainJson(json: string, start: number, end: number, role: string): boolean {
  const prefix = role === 'u' ? PLAIN_PREFIX.u : role === 'a' ? PLAIN_PREFIX.a : undefined;
  if (prefix === undefined || !json.startsWith(prefix, start) || json.charCodeAt(end - 1) !== 125) return false;
  return closingQuote(json, start + prefix.length, end) === end - 2;
}

/** Index of the first unescaped quote from `from`, or -1 before `end`. */
function closingQuote(json: string, from: number, end: number): number {
  let position = from;
  while (position < end) {
    const quote = json.indexOf('"', position);
    if (quote < 0 || quote >= end) return -1;
    let backslashes = 0;
    while (json.charCodeAt(quote - 1 - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 0) return quote;
    position = quote + 1;
  }
  return -1;
}

/** Packs stored JSON texts joined by PACK_SEPARATOR, with one role initial each (as the store reads them). */
export function packStored(joined: string, roles: string): PackedMessages {
  if (roles.length === 0) return EMPTY_PACKED;
  const ends = new Uint32Array(roles.length);
  let plain = true;
  let start = 0;
  for (let index = 0; index < roles.length; index++) {
    const found = joined.indexOf(PACK_SEPARATOR, start);
    const end = found < 0 ? joined.length : found;
    ends[index] = end;
    if (plain && !isPlainJson(joined, start, end, roles[index]!)) plain = false;
    start = end + 1;
  }
  return { json: joined.replaceAll(PACK_SEPARATOR, ','), ends, roles, plain };
}

const ROLE_INITIAL = { user: 'u', assistant: 'a', tool: 't' } as const;

/** Packs message objects the way the store would write them. */
export function packMessages(messages: readonly ChatMessage[]): PackedMessages {
  if (messages.length === 0) return EMPTY_PACKED;
  const texts = messages.map((message) => JSON.stringify(message));
  const roles = messages.map((message) => ROLE_INITIAL[message.role]).join('');
  return packStored(texts.join(PACK_SEPARATOR), roles);
}

/** The messages from index `from` on. */
export function slicePacked(packed: PackedMessages, from: number): PackedMessages {
  if (from <= 0) return packed;
  if (from >= packed.ends.length) return EMPTY_PACKED;
  const offset = packed.ends[from - 1]! + 1;
  const ends = packed.ends.slice(from);
  for (let index = 0; index < ends.length; index++) ends[index]! -= offset;
  const roles = packed.roles.slice(from);
  // Slicing can only make a mixed history plain; check again only when it was not.
  const rest = { json: packed.json.slice(offset), ends, roles, plain: packed.plain };
  return packed.plain ? rest : packStored(rest.json.length === 0 ? '' : joinedOf(rest), roles);
}

/**
 * The segments one after the other, from message `from` of the first: one flat string (a copy),
 * so what is kept from it does not hold on to the segments.
 */
export function joinPacked(segments: readonly PackedMessages[], from = 0): PackedMessages {
  let count = -from;
  for (const segment of segments) count += segment.ends.length;
  if (count <= 0) return EMPTY_PACKED;
  const ends = new Uint32Array(count);
  const texts: string[] = [];
  const roles: string[] = [];
  let plain = true;
  let offset = 0;
  let written = 0;
  let skip = from;
  for (const segment of segments) {
    if (skip >= segment.ends.length) {
      skip -= segment.ends.length;
      continue;
    }
    const part = skip > 0 ? slicePacked(segment, skip) : segment;
    skip = 0;
    if (part.ends.length === 0) continue;
    texts.push(part.json);
    roles.push(part.roles);
    plain &&= part.plain;
    for (const end of part.ends) ends[written++] = end + offset;
    offset += part.json.length + 1;
  }
  return { json: texts.join(','), ends, roles: roles.join(''), plain };
}

/** The messages as objects. */
export function unpackMessages(packed: PackedMessages): ChatMessage[] {
  return packed.ends.length === 0 ? [] : (JSON.parse(`[${packed.json}]`) as ChatMessage[]);
}

/** Length in characters of message `index`'s JSON. */
export function packedLength(packed: PackedMessages, index: number): number {
  return packed.ends[index]! - (index === 0 ? 0 : packed.ends[index - 1]! + 1);
}

/** The packed text with separators again, for re-checking what each message is. */
function joinedOf(packed: PackedMessages): string {
  const parts: string[] = [];
  let start = 0;
  for (const end of packed.ends) {
    parts.push(packed.json.slice(start, end));
    start = end + 1;
  }
  return parts.join(PACK_SEPARATOR);
}
