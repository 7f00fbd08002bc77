import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The window the figures are over. */
  windowMs: number;
}

const toMs = (nanoseconds: number) => Math.round(nanoseconds / 1e4) / 100;

/**
 * How late the event loop runs its timers (the gateway's own responsiveness), over the last
 * complete window of `windowMs` (the window in progress until the first one completes), for
 * `hearth status` and the Control UI's Overview.
 */
export function createLoopLagMeter(windowMs = 10_000) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const state = { last: null as LoopLag | null };
  const snapshot = (): LoopLag => ({ p50Ms: toMs(histogram.percentile(50)), p99Ms: toMs(histogram.percentile(99)), maxMs: toMs(histogram.max), windowMs });
  const timer = setInterval(() => {
    state.last = snapshot();
    histogram.reset();
  }, windowMs);
  timer.unref();
  return {
    read: (): LoopLag => state.last ?? snapshot(),
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
