import type { GatewayContext } from './gateway-context.js';

/**
 * Pushes the gateway's health to the connections that asked for it (`health.subscribe`): the
 * snapshot is taken every `intervalMs` while anyone watches, and sent only when it changed, so
 * an idle dashboard costs one comparison a second and no traffic.
 */
export interface HealthFeed {
  /** Adds a watcher; returns the current snapshot. A second call for the same id replaces its listener. */
  watch(id: string, notify: (snapshot: unknown) => void): unknown;
  unwatch(id: string): void;
  stop(): void;
}

export function createHealthFeed(snapshot: () => unknown, intervalMs = 1000): HealthFeed {
  /** The watchers by connection id; bounded by the open connections, which unwatch when they close. */
  const watchers = new Map<string, (snapshot: unknown) => void>();
  const state = { timer: undefined as NodeJS.Timeout | undefined, last: '' };

  const tick = () => {
    const current = snapshot();
    const text = JSON.stringify(current);
    if (text === state.last) return;
    state.last = text;
    for (const notify of [...watchers.values()]) notify(current);
  };

  const halt = () => {
    clearInterval(state.timer);
    state.timer = undefined;
  };

  return {
    watch(id, notify) {
      // The others hear of a change made since the last tick before the newcomer's baseline is set.
      if (watchers.size > 0) tick();
      watchers.set(id, notify);
      const current = snapshot();
      state.last = JSON.stringify(current);
      if (state.timer === undefined) {
        state.timer = setInterval(tick, intervalMs);
        state.timer.unref();
      }
      return current;
    },
    unwatch(id) {
      watchers.delete(id);
      if (watchers.size === 0) halt();
    },
    stop() {
      watchers.clear();
      halt();
    },
  };
}

/**
 * What `health` events carry: every component's status and detail, and each channel account's
 * status on its three dimensions (statuses and since when only: details such as "a message 3 s
 * ago" change every second and would make every tick a change).
 */
export function healthSnapshot(context: Pick<GatewayContext, 'components' | 'channelHealth'>) {
  const components = context.components();
  return {
    ok: Object.values(components).every((component) => component.status === 'ok'),
    components,
    channels: context.channelHealth.list().map((report) => ({
      channel: report.channel,
      account: report.account,
      status: report.status,
      dimensions: Object.fromEntries(Object.entries(report.dimensions).map(([name, dimension]) => [name, { status: dimension.status, degradedSince: dimension.degradedSince }])),
    })),
  };
}
