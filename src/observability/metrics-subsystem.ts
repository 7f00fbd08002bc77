import type { Store } from '../contracts/store.js';
import type { Models } from '../providers/models-subsystem.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import { createMetrics, type Metrics, type MetricsSources } from './metrics.js';

export type GatewayMetrics = Metrics & {
  /** A later subsystem adds what `/metrics` reads from it (channel accounts, cron jobs). */
  attach(sources: Partial<Omit<MetricsSources, 'outboxCounts'>>): void;
};

/**
 * Counters for `/metrics`. Started early so every subsystem can count into it; the subsystems
 * that start later attach the figures it reads from them at scrape time.
 */
export const metricsSubsystem = defineSubsystem({
  name: 'metrics',
  start({ store, models }: { store: Store; models: Pick<Models, 'providerHealth'> }) {
    const attached: Partial<Omit<MetricsSources, 'outboxCounts'>> = {};
    const metrics = createMetrics({
      outboxCounts: () => store.outboxCounts(),
      channels: async () => (attached.channels ? attached.channels() : []),
      channelHealth: () => (attached.channelHealth ? attached.channelHealth() : []),
      cronJobs: () => (attached.cronJobs ? attached.cronJobs() : []),
      historyCache: () => attached.historyCache?.(),
      cluster: () => attached.cluster?.(),
      memory: () => attached.memory?.() ?? [],
      providers: () => models.providerHealth(),
    });
    const api: GatewayMetrics = Object.assign(metrics, {
      attach(sources: Partial<Omit<MetricsSources, 'outboxCounts'>>) {
        Object.assign(attached, sources);
      },
    });
    return { api };
  },
});
