import { useEffect, useRef } from 'preact/hooks';

/**
 * Calls `tick` every `ms` while `active` and the component is shown. Each call waits for the
 * previous one to settle, so a slow gateway gets at most one request at a time, never a storm.
 */
export function useEvery(ms: number, active: boolean, tick: () => Promise<unknown> | undefined) {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!active) return;
    let timer: number | undefined;
    let live = true;
    const next = () => {
      timer = window.setTimeout(() => {
        Promise.resolve(latest.current())
          .catch(() => {})
          .finally(() => live && next());
      }, ms);
    };
    next();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [ms, active]);
}
