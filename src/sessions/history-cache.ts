import type { ChatMessage } from '../contracts/messages.js';
import { CHARS_PER_TOKEN, estimateMessageTokens } from '../agent/token-budget.js';

/**
 * The fitted history of recently active sessions (what their last turn sent the model, plus its
 * exchange), so a session's next turn skips the store read and the provider re-encodes only the
 * new messages. Bounded in bytes, not sessions; a history larger than a quarter of the bound is
 * not kept at all. When it is full, a new session takes the place of the least recently used ones
 * only if they have been idle for `minIdleMs`: with more active sessions than fit, the sessions
 * already kept stay (and keep their hits) instead of every turn evicting the history the next one
 * needs. A reset or a failed turn drops the session's entry.
 */
export interface HistoryCache {
  /** The cached history and the token budget it was fitted to (the object given to `set`), or undefined. */
  get(sessionKey: string): CachedHistory | undefined;
  /** Keeps `messages` (already fitted to `budget`) as the session's history. */
  set(sessionKey: string, entry: CachedHistory): void;
  delete(sessionKey: string): void;
  stats(): { sessions: number; bytes: number; maxBytes: number };
  clear(): void;
}

export interface CachedHistory {
  messages: ChatMessage[];
  budget: number;
}

interface Slot {
  entry: CachedHistory;
  bytes: number;
  usedAt: number;
}

/** Rough heap cost of one message: two bytes a character of its text plus the objects around it. */
const MESSAGE_OVERHEAD_BYTES = 96;

export function estimateHistoryBytes(messages: readonly ChatMessage[]): number {
  let bytes = 0;
  for (const message of messages) bytes += MESSAGE_OVERHEAD_BYTES + 2 * CHARS_PER_TOKEN * estimateMessageTokens(message);
  return bytes;
}

export function createHistoryCache(options: { maxBytes: number; minIdleMs?: number; now?: () => number }): HistoryCache {
  const now = options.now ?? Date.now;
  const minIdleMs = options.minIdleMs ?? 10_000;
  const slots = new Map<string, Slot>();
  let bytes = 0;
  const remove = (sessionKey: string) => {
    const slot = slots.get(sessionKey);
    if (!slot) return;
    slots.delete(sessionKey);
    bytes -= slot.bytes;
  };
  return {
    get(sessionKey) {
      const slot = slots.get(sessionKey);
      if (!slot) return undefined;
      // Most recently used last.
      slots.delete(sessionKey);
      slots.set(sessionKey, slot);
      slot.usedAt = now();
      return slot.entry;
    },
    set(sessionKey, entry) {
      remove(sessionKey);
      const size = estimateHistoryBytes(entry.messages);
      if (size > options.maxBytes / 4) return;
      const at = now();
      for (const [oldest, slot] of slots) {
        if (bytes + size <= options.maxBytes) break;
        if (at - slot.usedAt < minIdleMs) return;
        remove(oldest);
      }
      slots.set(sessionKey, { entry, bytes: size, usedAt: at });
      bytes += size;
    },
    delete: remove,
    stats: () => ({ sessions: slots.size, bytes, maxBytes: options.maxBytes }),
    clear() {
      slots.clear();
      bytes = 0;
    },
  };
}
