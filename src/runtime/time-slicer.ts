import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Lets a long run of synchronous work give the event loop a turn now and then: `pause()` resolves
 * at once while the current slice is shorter than `sliceMs`, and otherwise after one turn of the
 * event loop (timers, I/O and other requests run in between). Rejects with the signal's reason
 * once it is aborted, so the work stops at its next pause.
 */
export function createTimeSlicer(options: { sliceMs?: number; signal?: AbortSignal } = {}) {
  const sliceMs = options.sliceMs ?? 10;
  let sliceStart = performance.now();
  return {
    async pause(): Promise<void> {
      options.signal?.throwIfAborted();
      if (performance.now() - sliceStart < sliceMs) return;
      await nextTurn();
      options.signal?.throwIfAborted();
      sliceStart = performance.now();
    },
  };
}

export type TimeSlicer = ReturnType<typeof createTimeSlicer>;
