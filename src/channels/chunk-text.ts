/**
 * Splits Markdown into pieces of at most `limit` characters for platforms with a message size
 * limit. Breaks prefer, in order: a blank line, a line end, a sentence end, a space; a break is
 * never placed inside a code block when one outside it exists. A code block longer than the
 * limit is split at a line end, closed at the end of one piece and reopened (with its language)
 * at the start of the next, so every piece renders on its own.
 */
export function chunkMarkdown(text: string, limit: number): string[] {
  if (limit < 16) throw new RangeError('chunk limit must be at least 16 characters');
  const chunks: string[] = [];
  let rest = text.replace(/\s+$/u, '');
  // Each pass emits one piece; the bound guards against a logic error ever looping forever.
  for (let guard = 0; rest.length > 0 && guard < text.length + 16; guard++) {
    if (rest.length <= limit) {
      chunks.push(rest);
      break;
    }
    const fences = fenceRanges(rest);
    const reserve = 4; // room for "\n```" when a code block has to be closed
    const windowEnd = limit - reserve;
    const floor = Math.floor(limit * 0.3);
    const cut = findBreak(rest, floor, windowEnd, fences);
    if (cut !== null) {
      chunks.push(rest.slice(0, cut).replace(/\s+$/u, ''));
      rest = rest.slice(cut);
      // A cut at a line end keeps the next line's indentation; a cut inside a line drops the space.
      rest = rest.startsWith('\n') ? rest.replace(/^\n+/u, '') : rest.replace(/^[ \t]+/u, '');
      continue;
    }
    // No break outside a code block: split the code block at a line end and reopen it.
    const fence = fences.find((range) => range.contentStart < windowEnd && range.end > windowEnd);
    if (fence) {
      const newline = rest.lastIndexOf('\n', windowEnd - 1);
      const at = newline > fence.contentStart ? newline : safeCut(rest, windowEnd);
      chunks.push(`${rest.slice(0, at).replace(/\s+$/u, '')}\n${fence.marker}`);
      rest = `${fence.opener}\n${rest.slice(at).replace(/^\n/u, '')}`;
      continue;
    }
    const at = safeCut(rest, windowEnd);
    chunks.push(rest.slice(0, at));
    rest = rest.slice(at).replace(/^\n+/u, '');
  }
  return chunks.filter((chunk) => chunk.trim().length > 0);
}

interface FenceRange {
  /** Index of the opening fence line. */
  start: number;
  /** Index just after the opening line's newline. */
  contentStart: number;
  /** Index just after the closing fence line (or the text's end when unclosed). */
  end: number;
  /** The opening line, e.g. "```ts". */
  opener: string;
  /** The bare fence, e.g. "```". */
  marker: string;
}

function fenceRanges(text: string): FenceRange[] {
  const ranges: FenceRange[] = [];
  const pattern = /^[ \t]{0,3}(`{3,}|~{3,})([^\n]*)$/gmu;
  let open: { start: number; contentStart: number; opener: string; marker: string } | null = null;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const marker = match[1] ?? '```';
    if (open === null) {
      open = { start: match.index, contentStart: match.index + match[0].length + 1, opener: match[0].trim(), marker };
    } else if (marker.startsWith(open.marker[0] ?? '`') && marker.length >= open.marker.length && (match[2] ?? '').trim() === '') {
      ranges.push({ ...open, end: match.index + match[0].length });
      open = null;
    }
  }
  if (open !== null) ranges.push({ ...open, end: text.length });
  return ranges;
}

const BREAKS: RegExp[] = [/\n\s*\n/gu, /\n/gu, /[.!?\u2026](?=\s)/gu, /\s/gu];

/** The best cut position in (floor, windowEnd] that is not inside a code block, or null. */
function findBreak(text: string, floor: number, windowEnd: number, fences: FenceRange[]): number | null {
  const inside = (position: number) => fences.some((range) => position > range.start && position < range.end);
  for (const pattern of BREAKS) {
    let best: number | null = null;
    pattern.lastIndex = 0;
    for (let match = pattern.exec(text); match !== null && match.index < windowEnd; match = pattern.exec(text)) {
      // Sentence ends cut after the punctuation; the other breaks cut before the whitespace.
      const position = pattern === BREAKS[2] ? match.index + match[0].length : match.index;
      if (position > floor && position <= windowEnd && !inside(position)) best = position;
      if (match[0].length === 0) pattern.lastIndex++;
    }
    if (best !== null) return best;
  }
  return null;
}

/** `position`, moved back by one if it would split a surrogate pair. */
function safeCut(text: string, position: number): number {
  const code = text.charCodeAt(position - 1);
  return code >= 0xd800 && code <= 0xdbff ? position - 1 : position;
}
