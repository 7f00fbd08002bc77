import type { TimeSlicer } from '../runtime/time-slicer.js';

/**
 * How far a `memory index` run is: reading the files (total unknown until read), indexing them
 * (files done of total), embedding their chunks (chunks with a vector of those waiting), done.
 */
export interface MemoryIndexProgress {
  agentId: string;
  phase: 'reading' | 'indexing' | 'embedding' | 'done';
  done: number;
  total: number | null;
}

export type ProgressListener = (progress: MemoryIndexProgress) => void;

/** Passes progress on at most every `intervalMs` within a phase; a new phase is always passed on. Never throws. */
export function throttleProgress(listener: ProgressListener, intervalMs = 100, now: () => number = () => performance.now()): ProgressListener {
  let last: { phase: string; at: number } | null = null;
  return (progress) => {
    const at = now();
    if (last && last.phase === progress.phase && at - last.at < intervalMs && progress.done !== progress.total) return;
    last = { phase: progress.phase, at };
    try {
      listener(progress);
    } catch {
      // A listener that fails (a closed connection) must not stop the indexing.
    }
  };
}

/** The slicer, counting its pauses (one a file in reading and indexing) into `onStep`. */
export function countingSlicer(slicer: TimeSlicer, onStep: (count: number) => void): TimeSlicer {
  let count = 0;
  return {
    pause() {
      count += 1;
      onStep(count);
      return slicer.pause();
    },
  };
}
