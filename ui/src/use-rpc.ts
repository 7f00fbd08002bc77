import { useCallback, useEffect, useState } from 'preact/hooks';
import type { RpcClient } from './rpc';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload(): void;
}

/**
 * Calls `method` once connected, again on `reload()` and whenever one of `events` arrives (at most
 * every 500 ms, so a burst of events is one call).
 */
export function useRpc<T>(client: RpcClient, method: string, params: Record<string, unknown> = {}, events: readonly string[] = []): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const key = JSON.stringify(params);
  const reload = useCallback(() => setTick((value) => value + 1), []);

  useEffect(() => {
    let live = true;
    const run = () => {
      if (client.state !== 'connected') return;
      client.call<T>(method, JSON.parse(key) as Record<string, unknown>).then(
        (data) => live && setState({ data, error: null, loading: false }),
        (error: Error) => live && setState((previous) => ({ ...previous, error: error.message, loading: false })),
      );
    };
    run();
    const offState = client.onState((connection) => connection === 'connected' && run());
    return () => {
      live = false;
      offState();
    };
  }, [client, method, key, tick]);

  useEffect(() => {
    let timer: number | undefined;
    const soon = () => {
      if (timer === undefined) timer = window.setTimeout(() => {
        timer = undefined;
        reload();
      }, 500);
    };
    const offs = events.map((event) => client.on(event, soon));
    return () => {
      window.clearTimeout(timer);
      for (const off of offs) off();
    };
  }, [client, events.join(','), reload]);

  return { ...state, reload };
}
