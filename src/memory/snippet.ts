/**
 * The part of a chunk shown for a query: about `size` words around the densest run of query
 * words, cut at whitespace, with `…` where text was left out. Words match as the index matches
 * them (case and diacritics folded), so the words that found the chunk are the ones shown.
 */
export function snippetOf(text: string, queryWords: readonly string[], size = 32): string {
  const tokens = [...text.matchAll(/[\p{L}\p{N}]+/gu)];
  if (tokens.length <= size) return text.trim();
  const wanted = new Set(queryWords.map(foldWord));
  const hits: { at: number; word: string }[] = [];
  tokens.forEach((token, at) => {
    const word = foldWord(token[0]);
    if (wanted.has(word)) hits.push({ at, word });
  });
  const first = bestWindow(hits, size, tokens.length);
  const start = startOfLine(text, tokens, first, hits);
  const last = Math.min(tokens.length - 1, start + size - 1);
  const from = start === 0 ? 0 : lineOrWordStart(text, tokens[start]!.index);
  const to = last === tokens.length - 1 ? text.length : wordEnd(text, tokens[last]!.index + tokens[last]![0].length);
  return `${from > 0 ? '…' : ''}${text.slice(from, to).trim()}${to < text.length ? '…' : ''}`;
}

/** Lower case without diacritics, as `unicode61 remove_diacritics 2` folds a word. */
export function foldWord(word: string): string {
  const lower = word.toLowerCase();
  // ASCII needs no Unicode normalisation: the common case stays cheap.
  return /^[\x00-\x7f]*$/u.test(lower) ? lower : lower.normalize('NFD').replace(/\p{M}/gu, '');
}

/** The first token of the `size`-token window with the most distinct query words, then the most hits (the earliest such window). */
function bestWindow(hits: readonly { at: number; word: string }[], size: number, total: number): number {
  let best = { start: 0, distinct: 0, count: 0 };
  for (let index = 0; index < hits.length; index++) {
    const words = new Set<string>();
    let end = index;
    while (end < hits.length && hits[end]!.at < hits[index]!.at + size) words.add(hits[end++]!.word);
    const count = end - index;
    if (words.size > best.distinct || (words.size === best.distinct && count > best.count)) {
      // The run of hits centred in the window, as far as the text allows.
      const span = hits[end - 1]!.at - hits[index]!.at + 1;
      const start = Math.max(0, Math.min(total - size, hits[index]!.at - Math.floor((size - span) / 2)));
      best = { start, distinct: words.size, count };
    }
  }
  return best.start;
}

/** The window moved to start at a line's start when one begins between its start and its first hit. */
function startOfLine(text: string, tokens: readonly RegExpExecArray[], start: number, hits: readonly { at: number }[]): number {
  const firstHit = hits.find((hit) => hit.at >= start)?.at ?? start;
  for (let at = firstHit; at > start; at--) {
    if (text.slice(tokens[at - 1]!.index, tokens[at]!.index).includes('\n')) return at;
  }
  return start;
}

function lineOrWordStart(text: string, index: number): number {
  let at = index;
  while (at > 0 && !/\s/u.test(text[at - 1]!)) at--;
  return at;
}

function wordEnd(text: string, index: number): number {
  let at = index;
  while (at < text.length && !/\s/u.test(text[at]!)) at++;
  return at;
}
