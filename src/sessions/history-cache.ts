import type { PackedMessages } from '../contracts/packed-messages.js';

/**
 * The fitted history of recently active sessions (what their last turn sent the model, plus its
 * exchange), so a session's next turn skips the store read and the provider re-encodes only the
 * new messages. Bounded in bytes, not sessions; a history larger than a quarter of the bound is
 * not kept at all. When it is full, a new session takes the place of the least recently used ones
 * only if they have been idle for `minIdleMs`: with more active sessions than fit, the sessions
 * already kept stay (and keep their hits) instead of every turn evicting the history the next one
 * needs. A reset or a failed turn drops the session's entry, and `sweep` drops the entries of
 * sessions that have gone quiet, so memory goes back down when the load does.
 */
export interface HistoryCache {
  /** The cached history and the token budget it was fitted to (the object given to `set`), or undefined. */
  get(sessionKey: string): CachedHistory | undefined;
  /** Keeps `messages` (already fitted to `budget`) as the session's history. */
  set(sessionKey: string, entry: CachedHistory): void;
  delete(sessionKey: string): void;
  /** Drops the entries not used for `idleMs`. */
  sweep(): void;
  stats(): { sessions: number; bytes: number; maxBytes: number };
  clear(): void;
}

/**
 * A session's history as kept between turns: packed segments (the window read or last joined, then
 * one per turn's exchange), starting at message `from` of the first. Each turn joins them into its
 * window (a short-lived copy) and adds a segment; the entry is joined into one segment only every
 * few turns, so a session's kept text is not copied again at every turn (a copy that outlives a
 * few milliseconds ends up as garbage the old generation has to collect).
 */
export interface CachedHistory {
  readonly segments: readonly PackedMessages[];
  readonly from: number;
  readonly budget: number;
}

interface Slot {
  entry: CachedHistory;
  bytes: number;
  usedAt: number;
}

/** The objects around an entry's text: its slot, the entry, the offsets' buffer. */
const ENTRY_OVERHEAD_BYTES = 256;

/**
 * Heap cost of a packed history: a byte a character of its text (V8 keeps Latin-1 text in one
 * byte a character, other text in two), four a message for the offsets, one for the roles.
 */
export function estimateHistoryBytes(segments: readonly PackedMessages[]): number {
  let bytes = ENTRY_OVERHEAD_BYTES;
  for (const segment of segments) bytes += 64 + segment.json.length + segment.ends.byteLength + segment.roles.length;
  return bytes;
}

export function createHistoryCache(options: { maxBytes: number; minIdleMs?: number; idleMs?: number; now?: () => number }): HistoryCache {
  const now = options.now ?? Date.now;
  const minIdleMs = options.minIdleMs ?? 10_000;
  const idleMs = options.idleMs ?? 20_000;
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
      const size = estimateHistoryBytes(entry.segments);
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
    sweep() {
      const before = now() - idleMs;
      // Least recently used first: stop at the first one still in use.
      for (const [sessionKey, slot] of slots) {
        if (slot.usedAt > before) break;
        remove(sessionKey);
      }
    },
    stats: () => ({ sessions: slots.size, bytes, maxBytes: options.maxBytes }),
    clear() {
      slots.clear();
      bytes = 0;
    },
  };
}
