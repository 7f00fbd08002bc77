/** Waiting that an AbortSignal can cut short, shared by the channel layer and its adapters. */

/** Sleeps for `ms`, or less when `signal` aborts first (never rejects). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Settles with `promise`, or rejects with `cancelled()` as soon as `signal` aborts (the work
 * itself runs on to its own timeout; its late failure is ignored).
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, cancelled: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      promise.catch(() => undefined);
      reject(cancelled());
      return;
    }
    const onAbort = () => {
      promise.catch(() => undefined);
      reject(cancelled());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
