import { type PackedMessages, packedLength, slicePacked } from '../contracts/packed-messages.js';

/** Characters per token in the estimate below. */
export const CHARS_PER_TOKEN = 4;

/** A cheap, provider-independent token estimate: about four characters a token. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** Tokens of a turn's context left for history: the window minus the reply and the system prompt's share. */
export function historyTokenBudget(agent: { contextTokens: number; maxOutputTokens: number }): number {
  return Math.max(0, agent.contextTokens - agent.maxOutputTokens - 2000);
}

/** The token estimate of a stored message from the length of its JSON (its framing counts like a message's overhead). */
export function estimateStoredTokens(jsonLength: number): number {
  return Math.ceil(jsonLength / CHARS_PER_TOKEN);
}

/**
 * The newest part of a packed transcript that fits in `budget` tokens and `maxEntries` messages.
 * The window always starts at a user message, so a tool result is never separated from the call
 * that asked for it.
 */
export function fitPacked(history: PackedMessages, budget: number, maxEntries: number): PackedMessages {
  const count = history.ends.length;
  const oldest = Math.max(0, count - maxEntries);
  let used = 0;
  let start = count;
  for (let index = count - 1; index >= oldest; index--) {
    const cost = estimateStoredTokens(packedLength(history, index));
    if (used + cost > budget) break;
    used += cost;
    start = index;
  }
  while (start < count && history.roles[start] !== 'u') start++;
  return slicePacked(history, start);
}
