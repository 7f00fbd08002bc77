import { isObject, listOf } from './matrix-events.js';

/**
 * The most events read back into one room's gap in one sync. After a long outage a busy room
 * can hold more; past this many the oldest of the gap are not read, and the adapter says how
 * many in a warning and in the probe's detail.
 */
export const MATRIX_BACKFILL_MAX_EVENTS = 1000;
/** Events asked for per page of `GET /rooms/{roomId}/messages`. */
const PAGE_SIZE = 100;

/**
 * Reads one page of `GET /rooms/{roomId}/messages?dir=b&from=…&to=…&limit=…`: the answer as the
 * homeserver sent it (`chunk` newest first, `end` to ask for the next page). Rejects as the
 * request does.
 */
export type ReadMessagesPage = (query: { from: string; to: string; limit: number }) => Promise<unknown>;

export interface RoomGapOptions {
  /** Where paging back starts: the sync timeline's `prev_batch`. */
  from: string;
  /** Where it stops: the `since` token of the sync that came back limited. */
  to: string;
  /** Event ids already in hand (the sync's own timeline): not read twice. */
  known: ReadonlySet<string>;
  /** An event before which nothing is read (the bot's own join: what came before is history). */
  stopAt?(event: unknown): boolean;
  max?: number;
}

/** What was read of a room's gap. */
export interface RoomGap {
  /** The gap's events, oldest first, without those already in hand. */
  events: unknown[];
  /** Events of the gap past the cap that were not read (counted on one more page). */
  dropped: number;
  /** Paging stopped while the homeserver still had more: `dropped` is a lower bound. */
  more: boolean;
}

const idOf = (event: unknown) => (isObject(event) && typeof event.event_id === 'string' ? event.event_id : null);

/**
 * Pages back through the events a limited sync left out, from the timeline's start to the
 * previous sync's token, until the homeserver has no more (no `end`, an empty page, or an `end`
 * that does not move), a `stopAt` event, or the cap. Past the cap one more page is read only to
 * count what is left unread. Rejects when a page request does (nothing is kept then).
 */
export async function readRoomGap(readPage: ReadMessagesPage, options: RoomGapOptions): Promise<RoomGap> {
  const max = options.max ?? MATRIX_BACKFILL_MAX_EVENTS;
  const seen = new Set(options.known);
  const kept: unknown[] = [];
  let dropped = 0;
  let more = false;
  let from = options.from;
  for (;;) {
    const counting = kept.length >= max;
    const page = await readPage({ from, to: options.to, limit: counting ? PAGE_SIZE : Math.min(PAGE_SIZE, max - kept.length) });
    const chunk = isObject(page) ? listOf(page.chunk) : [];
    let stopped = false;
    for (const event of chunk) {
      if (options.stopAt?.(event)) {
        stopped = true;
        break;
      }
      const id = idOf(event);
      if (id !== null) {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      if (kept.length < max) kept.push(event);
      else dropped += 1;
    }
    const end = isObject(page) ? page.end : undefined;
    if (stopped || chunk.length === 0 || typeof end !== 'string' || end === from) break;
    if (counting) {
      more = true;
      break;
    }
    from = end;
  }
  return { events: kept.reverse(), dropped, more };
}
