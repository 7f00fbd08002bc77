import type { MemoryHit } from './memory-index.js';

const DAY_MS = 86_400_000;
const DATED_NOTE = /(?:^|\/)(\d{4})-(\d{2})-(\d{2})\.md$/u;

/**
 * How much a note's age lowers its score: a dated note (`memory/2026-12-04.md`) loses half every
 * `halfLifeDays`; files without a date in their name (MEMORY.md, topic notes) never decay.
 */
export function recencyFactor(path: string, now: number, halfLifeDays = 30): number {
  const match = DATED_NOTE.exec(path);
  if (!match || halfLifeDays <= 0) return 1;
  const written = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (Number.isNaN(written)) return 1;
  const ageDays = Math.max(0, (now - written) / DAY_MS);
  return 0.5 ** (ageDays / halfLifeDays);
}

/**
 * Maximal marginal relevance: picks `count` hits one at a time, each the best trade between its
 * own score (weight `lambda`) and how much it repeats what is already picked (word overlap of the
 * snippets), so six results are not six copies of one paragraph.
 */
export function diversify<T extends MemoryHit>(hits: readonly T[], count: number, lambda = 0.7): T[] {
  const words = hits.map((hit) => new Set(hit.snippet.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []));
  // Each hit's largest overlap with the hits picked so far, brought up to date after each pick.
  const overlap = new Array<number>(hits.length).fill(0);
  const picked: number[] = [];
  const left = new Set(hits.map((_, index) => index));
  while (picked.length < count && left.size > 0) {
    let best = -1;
    let bestValue = -Infinity;
    for (const index of left) {
      const value = lambda * hits[index]!.score - (1 - lambda) * overlap[index]!;
      if (value > bestValue) {
        bestValue = value;
        best = index;
      }
    }
    picked.push(best);
    left.delete(best);
    for (const index of left) overlap[index] = Math.max(overlap[index]!, jaccard(words[index]!, words[best]!));
  }
  return picked.map((index) => hits[index]!);
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 0;
  let shared = 0;
  for (const word of a) if (b.has(word)) shared++;
  return shared / (a.size + b.size - shared);
}
