import type { HearthError } from '../contracts/errors.js';
import type { ModelEvent } from '../contracts/model-provider.js';
import { classifyProviderError, type ErrorContext, providerTimeoutError } from './classify-error.js';

/** The slice of a logger provider adapters use (pino's `warn` fits). */
export interface ProviderLogger {
  warn(obj: object, msg?: string): void;
}

/** What provider adapter factories accept besides their config. */
export interface ProviderDeps {
  logger?: ProviderLogger;
}

/**
 * Watches one streamed call for silence. `signal` aborts when the caller aborts or when nothing
 * arrived for `idleTimeoutMs` (then `timedOut` is true). Call `touch()` on every received chunk;
 * `pause()`/`resume()` around handing an event to a slow consumer so its slowness is not counted
 * as the server's. `dispose()` releases the timer and the listener.
 */
export interface IdleWatchdog {
  readonly signal: AbortSignal;
  readonly timedOut: boolean;
  touch(): void;
  pause(): void;
  resume(): void;
  dispose(): void;
}

export function createIdleWatchdog(parent: AbortSignal, idleTimeoutMs: number): IdleWatchdog {
  const controller = new AbortController();
  let timedOut = false;
  let paused = false;
  const onAbort = (): void => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    if (paused) return;
    timedOut = true;
    controller.abort(new Error('idle timeout'));
  }, idleTimeoutMs);
  timer.unref?.();
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    touch() {
      timer.refresh();
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      timer.refresh();
    },
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * The `finish` event for a call that ended early: a timeout if the watchdog fired, `aborted` if
 * the caller aborted (no error attached), else the classified error.
 */
export function earlyFinish(
  error: unknown,
  watchdog: IdleWatchdog,
  callerSignal: AbortSignal,
  idleTimeoutMs: number,
  context: ErrorContext,
): Extract<ModelEvent, { type: 'finish' }> {
  if (watchdog.timedOut) return { type: 'finish', reason: 'error', error: providerTimeoutError(context.providerId, idleTimeoutMs) };
  if (callerSignal.aborted) return { type: 'finish', reason: 'aborted' };
  const classified: HearthError = classifyProviderError(error, context);
  if (classified.code === 'ABORTED') return { type: 'finish', reason: 'aborted' };
  return { type: 'finish', reason: 'error', error: classified };
}
