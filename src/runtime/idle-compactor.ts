import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface IdleCompactorOptions {
  /** Quiet time after the last turn before memory is compacted. */
  idleMs?: number;
  /** Turns since the last compaction needed to make one worthwhile. */
  minTurns?: number;
  /** Runs a full garbage collection; by default V8's, made available at runtime. */
  collect?: () => void;
  /** Drops what is kept only to speed up a busy period (caches), just before the collection. */
  release?: () => void;
  now?: () => number;
}

/** V8's full collection, exposed at runtime (the same as starting Node with --expose-gc). */
function v8FullCollection(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Gives memory back after a busy period. V8 frees the garbage of a burst of turns only when it
 * next needs room, which an idle gateway never does, so its RSS would stay at the burst's peak for
 * hours. Once `minTurns` turns have run and the gateway has then been quiet for `idleMs`, the
 * caches of the burst are released and one full collection runs (tens of milliseconds, while
 * nothing else is happening). One timer at most,
 * none while idle after a compaction; `stop()` clears it.
 */
/**
 * How far V8 lets the old generation grow past what the last full collection kept before it
 * collects again. On a machine with gigabytes of memory V8 allows four times the live heap, so a
 * gateway with 50 MB of live data under load would sit at 200 MB; 30 % keeps it near the live
 * size for a full collection every second or two under heavy load (concurrent, a few ms of pause).
 */
export const HEAP_GROWING_PERCENT = 30;

/** Applies HEAP_GROWING_PERCENT to this process (V8 reads it at every full collection). */
export function limitHeapGrowth(percent = HEAP_GROWING_PERCENT): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

export function createIdleCompactor(options: IdleCompactorOptions = {}) {
  const idleMs = options.idleMs ?? 5000;
  const minTurns = options.minTurns ?? 500;
  const now = options.now ?? Date.now;
  let collect = options.collect;
  let turnsSince = 0;
  let lastTurnAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let compactions = 0;

  const check = () => {
    timer = undefined;
    const quietFor = now() - lastTurnAt;
    if (quietFor < idleMs) {
      timer = setTimeout(check, idleMs - quietFor);
      timer.unref();
      return;
    }
    if (turnsSince < minTurns) return;
    turnsSince = 0;
    options.release?.();
    collect ??= v8FullCollection();
    collect();
    compactions += 1;
  };

  return {
    /** Called for every finished turn. */
    noteTurn(): void {
      turnsSince += 1;
      lastTurnAt = now();
      if (!timer && turnsSince >= minTurns) {
        timer = setTimeout(check, idleMs);
        timer.unref();
      }
    },
    compactions: () => compactions,
    stop(): void {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

export type IdleCompactor = ReturnType<typeof createIdleCompactor>;
