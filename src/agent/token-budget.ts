import type { ChatMessage } from '../contracts/messages.js';

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

export function estimateMessageTokens(message: ChatMessage): number {
  let tokens = 4 + estimateTokens(message.content);
  if (message.role === 'assistant' && message.toolCalls) {
    for (const call of message.toolCalls) tokens += 8 + estimateTokens(call.name) + estimateTokens(call.arguments);
  }
  return tokens;
}

/**
 * The newest part of a transcript that fits in `budget` tokens. The window always starts at a
 * user message, so a tool result is never separated from the call that asked for it.
 */
export function fitHistory(history: readonly ChatMessage[], budget: number): ChatMessage[] {
  let used = 0;
  let start = history.length;
  for (let index = history.length - 1; index >= 0; index--) {
    const cost = estimateMessageTokens(history[index]!);
    if (used + cost > budget) break;
    used += cost;
    start = index;
  }
  while (start < history.length && history[start]!.role !== 'user') start++;
  return history.slice(start);
}
