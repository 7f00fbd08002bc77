/**
 * An abort signal that fires after `ms`, or as soon as one of `signals` aborts. Its reason on time
 * is what `AbortSignal.timeout` gives: a DOMException named `TimeoutError`.
 *
 * Not `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: Node holds a timeout signal inside
 * `any` only weakly, so a garbage collection before it fires loses it, and the work it bounds is
 * never cut off (nodejs/node#57736; seen as an outbox send that never timed out). Here the timer
 * holds its controller. `clear()` stops the timer once the work is done; the timer never keeps
 * the process alive on its own.
 */
export function deadlineSignal(ms: number, ...signals: (AbortSignal | undefined)[]): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  timer.unref();
  const sources = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  return {
    signal: sources.length === 0 ? controller.signal : AbortSignal.any([...sources, controller.signal]),
    clear: () => clearTimeout(timer),
  };
}
