import type { PackedMessages } from '../contracts/packed-messages.js';
import { type ArenaText, createTextArena, type TextArena } from '../runtime/text-arena.js';

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
  /**
   * Keeps `entry` (already fitted to `budget`) as the session's history, and returns it as kept
   * (its long segments moved off the V8 heap; `get` returns that object), or undefined when it was
   * not kept.
   */
  set(sessionKey: string, entry: CachedHistory): CachedHistory | undefined;
  delete(sessionKey: string): void;
  /** Drops the entries not used for `idleMs`. */
  sweep(): void;
  stats(): { sessions: number; bytes: number; maxBytes: number; offHeapBytes: number };
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

/** Segments at least this long are kept in the cache's arena, outside the V8 heap; shorter ones stay strings. */
const OFF_HEAP_MIN_CHARS = 4096;

/**
 * A packed segment whose text is kept in the cache's arena (see TextArena) and decoded each time it
 * is read: one short-lived copy, a few microseconds for a context's worth, which joining the window
 * costs anyway. Kept text on the heap is what the old generation grows by between collections.
 */
class OffHeapSegment implements PackedMessages {
  constructor(
    readonly arena: TextArena,
    readonly text: ArenaText,
    readonly ends: Uint32Array,
    readonly roles: string,
    readonly plain: boolean,
  ) {}
  get json(): string {
    return this.arena.read(this.text);
  }
}

function keepOffHeap(arena: TextArena, segment: PackedMessages): PackedMessages {
  if (segment instanceof OffHeapSegment || segment.json.length < OFF_HEAP_MIN_CHARS) return segment;
  const text = arena.store(segment.json);
  return text ? new OffHeapSegment(arena, text, segment.ends, segment.roles, segment.plain) : segment;
}

/** Frees the arena text of the segments of `old` that `kept` does not carry on. */
function releaseSegments(old: CachedHistory, kept?: CachedHistory): void {
  for (const segment of old.segments) {
    if (segment instanceof OffHeapSegment && !kept?.segments.includes(segment)) segment.arena.release(segment.text);
  }
}

const textBytes = (segment: PackedMessages) => (segment instanceof OffHeapSegment ? segment.text.byteLength : segment.json.length);

/**
 * Heap cost of a packed history: a byte a character of its text (V8 keeps Latin-1 text in one
 * byte a character, other text in two), four a message for the offsets, one for the roles.
 */
export function estimateHistoryBytes(segments: readonly PackedMessages[]): number {
  let bytes = ENTRY_OVERHEAD_BYTES;
  for (const segment of segments) bytes += 64 + textBytes(segment) + segment.ends.byteLength + segment.roles.length;
  return bytes;
}

/** An entry that was not kept: its arena texts (carried over from the entry it replaces) are freed. */
function dropped(entry: CachedHistory): undefined {
  releaseSegments(entry);
  return undefined;
}

export function createHistoryCache(options: { maxBytes: number; minIdleMs?: number; idleMs?: number; now?: () => number }): HistoryCache {
  const now = options.now ?? Date.now;
  const minIdleMs = options.minIdleMs ?? 10_000;
  const idleMs = options.idleMs ?? 20_000;
  const slots = new Map<string, Slot>();
  const arena = createTextArena(options.maxBytes);
  let bytes = 0;
  const remove = (sessionKey: string, replacement?: CachedHistory) => {
    const slot = slots.get(sessionKey);
    if (!slot) return;
    slots.delete(sessionKey);
    bytes -= slot.bytes;
    releaseSegments(slot.entry, replacement);
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
    set(sessionKey, given) {
      remove(sessionKey, given);
      const size = estimateHistoryBytes(given.segments);
      if (size > options.maxBytes / 4) return dropped(given);
      const at = now();
      for (const [oldest, slot] of slots) {
        if (bytes + size <= options.maxBytes) break;
        if (at - slot.usedAt < minIdleMs) return dropped(given);
        remove(oldest);
      }
      const segments = given.segments.map((segment) => keepOffHeap(arena, segment));
      const entry = segments.every((segment, index) => segment === given.segments[index]) ? given : { ...given, segments };
      slots.set(sessionKey, { entry, bytes: size, usedAt: at });
      bytes += size;
      return entry;
    },
    delete: (sessionKey) => remove(sessionKey),
    sweep() {
      const before = now() - idleMs;
      // Least recently used first: stop at the first one still in use.
      for (const [sessionKey, slot] of slots) {
        if (slot.usedAt > before) break;
        remove(sessionKey);
      }
    },
    stats: () => ({ sessions: slots.size, bytes, maxBytes: options.maxBytes, offHeapBytes: arena.stats().liveBytes }),
    clear() {
      slots.clear();
      bytes = 0;
      arena.clear();
    },
  };
}
