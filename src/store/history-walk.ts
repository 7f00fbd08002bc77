import { compactionSummaryMessage } from '../contracts/messages.js';
import { EMPTY_PACKED, joinPacked, PACK_SEPARATOR, type PackedMessages, packMessages, packStored } from '../contracts/packed-messages.js';

/** Lines read by the first step of a history read; most turns' context ends within them or needs all. */
const FIRST_STEP_LINES = 50;

/** One step's lines, joined by the database oldest first: the smallest id, the texts, a role initial per line, their length and count. */
export interface HistoryStep {
  oldest: number;
  text: string | null;
  initials: string | null;
  length: number;
  count: number;
}

/**
 * The walk of a session's transcript, newest first, that both stores run: the first step asks for
 * 50 lines, the next for the rest up to `maxEntries`, and the walk stops once the lines' text adds
 * up to `maxChars`, a step comes back short, or nothing is left. `next()` says which lines the next
 * step reads (ids below `before`, at most `want`), or null when the walk is done.
 */
export function createHistoryWalk(bounds: { maxEntries: number; maxChars: number }, compaction: { content: string } | null) {
  const texts: string[] = [];
  const roles: string[] = [];
  const state = { lines: 0, chars: 0, before: Number.MAX_SAFE_INTEGER, done: false };
  return {
    next(): { before: number; want: number } | null {
      if (state.done || state.lines >= bounds.maxEntries || state.chars >= bounds.maxChars) return null;
      return { before: state.before, want: Math.min(state.lines === 0 ? FIRST_STEP_LINES : bounds.maxEntries, bounds.maxEntries - state.lines) };
    },
    add(step: HistoryStep | undefined, want: number): void {
      if (!step || step.count === 0 || step.text === null) {
        state.done = true;
        return;
      }
      texts.unshift(step.text);
      roles.unshift(step.initials ?? '');
      state.lines += step.count;
      state.chars += step.length;
      state.before = step.oldest;
      if (step.count < want) state.done = true;
    },
    /** The history, packed; after a compaction it starts with the summary. */
    packed(): PackedMessages {
      const packed = texts.length === 0 ? EMPTY_PACKED : packStored(texts.join(PACK_SEPARATOR), roles.join(''));
      return compaction ? joinPacked([packMessages([compactionSummaryMessage(compaction.content)]), packed]) : packed;
    },
  };
}
