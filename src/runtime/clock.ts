/**
 * Time as schedulers see it: the current time and one-shot timers. The system clock in the
 * gateway; a fake clock in tests, so schedules are tested without sleeping.
 */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** Node's timers, unref'd so a pending schedule never keeps a stopping process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
