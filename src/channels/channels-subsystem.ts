import type { Plugins } from '../plugins/plugins-subsystem.js';
import type { ApprovalService } from '../approvals/approval-service.js';
import type { OutboxEntry, Store } from '../contracts/store.js';
import type { AlertSink } from '../automation/alerts.js';
import type { ChannelAccountStatus, ChannelHealthReport } from '../contracts/channel.js';
import type { Models } from '../providers/models-subsystem.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { quarantineFile } from '../runtime/quarantine.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import type { Turns } from '../sessions/turns-subsystem.js';
import { readChannelCredentials } from './channel-credentials.js';
import { type ChannelHealth, type ChannelHealthOptions, createChannelHealth } from './channel-health.js';
import { type ChannelManager, type ChannelRoutingConfig, createChannelManager } from './channel-manager.js';
import { builtinPlatforms } from './platforms.js';
import { pluginPlatforms } from './plugin-platform.js';
import { createMediaStore } from '../media/media-store.js';
import { join } from 'node:path';
import type { Tracer } from '../contracts/tracing.js';
import type { Cluster } from '../cluster/cluster-subsystem.js';
import type { LeaseHolder } from '../cluster/cluster-node.js';
import { resolveChannelAccounts } from './channel-accounts.js';

export interface Channels {
  manager: ChannelManager;
  health: ChannelHealth;
  /** Re-reads channel config and saved credentials; restarts only accounts that changed. */
  reload(): Promise<{ started: string[]; restarted: string[]; stopped: string[] }>;
}

interface ChannelsDeps extends Pick<GatewayBase, 'config' | 'logger' | 'paths'> {
  store: Store;
  models: Pick<Models, 'agents'>;
  turns: Pick<Turns, 'service'>;
  approvals?: Pick<ApprovalService, 'decide' | 'subscribe'>;
  plugins?: Pick<Plugins, 'loaded' | 'messageReceived' | 'channels'>;
  alerts: Pick<AlertSink, 'raise'> & { attachDelivery(deliver: (entry: OutboxEntry) => void): void };
  /** Delivery spans of traced turns (docs/agents.md, Traces). */
  tracer?: Tracer;
  metrics: {
    deliveryFailed(channel: string): void;
    attach(sources: { channels(): Promise<ChannelAccountStatus[]>; channelHealth(): ChannelHealthReport[] }): void;
  };
  /** Cluster mode: each account runs on the one node holding its lease. */
  cluster?: Cluster;
}

/**
 * Cluster mode: every configured account is wanted by every node; the node holding an account's
 * lease runs it, and when that node dies another takes the lease and starts the account. Replies
 * other nodes queue for an account are read from the outbox at each sweep (and told at once
 * through the turns' final events).
 */
function holdAccounts(cluster: Extract<Cluster, { enabled: true }>, routing: () => ChannelRoutingConfig, apply: (config: ChannelRoutingConfig) => Promise<unknown>, refill: () => Promise<void>, logger: ChannelsDeps['logger']) {
  let configured: string[] = [];
  const holder: LeaseHolder = cluster.hold({
    prefix: 'channel:',
    wanted: () => configured,
    onAcquired: () => void reapply(),
    onLost: () => void reapply(),
  });
  let applying: Promise<unknown> = Promise.resolve();
  const reapply = () => {
    applying = applying.then(() => {
      const config = routing();
      configured = resolveChannelAccounts(config.channels, config.credentials).filter((account) => account.enabled).map((account) => account.key);
      const held = new Set(holder.held());
      return apply({ ...config, held: (key) => held.has(key) });
    }).catch((error: unknown) => logger.error({ err: error }, 'applying the channel accounts this node holds failed'));
    return applying;
  };
  // A safety net for replies whose final event this node missed: read at most once a lease (at least 5 s), each read being up to the dispatcher's whole page.
  let refilledAt = 0;
  const stopSweep = cluster.everySweep(async () => {
    if (Date.now() - refilledAt < Math.max(cluster.leaseMs, 5000)) return;
    refilledAt = Date.now();
    await refill();
  });
  return {
    /** Re-reads the config (which accounts exist) and tries for them now. */
    async reload() {
      await reapply();
      holder.refresh();
    },
    async stop() {
      stopSweep();
      await holder.stop();
    },
  };
}

/** Channel config, saved logins and agents as the channel manager routes them, read now. */
function channelRouting({ config, paths, models, logger }: ChannelsDeps): ChannelRoutingConfig {
  const current = config.current();
  const directory = models.agents();
  // A saved credentials file that fails its schema is moved to .quarantine/ (never half-loaded).
  const credentials = readChannelCredentials(paths.credentialsDir, (file, problem) => {
    const target = quarantineFile(paths.home, file, problem);
    logger.error({ file, quarantined: target }, `${file} cannot be used (${problem}); it was moved to ${target}. Run \`hearth channels login\` again.`);
  });
  return {
    channels: current.channels,
    credentials,
    bindings: current.bindings,
    dmScope: current.session.dmScope,
    defaultAgentId: directory.defaultAgentId,
    agentIds: directory.list().map((agent) => agent.id),
  };
}

/** A degraded or recovered account becomes one operator alert per episode (chat, webhook, log, status). */
function channelHealthAlert({ alerts, config, logger }: ChannelsDeps): ChannelHealthOptions['onAlert'] {
  return (event) => {
    const name = `${event.channel}:${event.account}`;
    const text =
      event.event === 'channel.health'
        ? `Channel ${name} is ${event.dimension} ${event.status} since ${new Date(event.degradedSince).toISOString()} and ${event.recoveryAttempts} reconnect(s) did not help: ${event.suggestedAction ?? event.detail ?? 'see hearth channels health'}`
        : `Channel ${name} is healthy again (unhealthy since ${new Date(event.degradedSince).toISOString()}).`;
    const targets = config.current().alerts;
    void alerts
      .raise({ dedupeKey: `${event.event}:${name}:${event.degradedSince}`, event: event.event, payload: { ...event }, text, channel: targets.channel, webhook: targets.webhook })
      .catch((error) => logger.error({ err: error, alert: event }, 'could not record a channel health alert'));
  };
}

/**
 * Chat platforms: one supervised connection per configured account, the outbox dispatcher and
 * the health reconciler. A platform's adapter and client library load only when an account
 * of it is configured. A config edit restarts only the accounts it changed.
 */
export const channelsSubsystem = defineSubsystem({
  name: 'channels',
  async start(deps: ChannelsDeps) {
    const { store, turns, logger, config, alerts, metrics } = deps;
    const media = createMediaStore(config.current().media, deps.paths.home);
    const manager = createChannelManager({
      store,
      media,
      turns: turns.service,
      platforms: builtinPlatforms({ store, logger }),
      ...(deps.plugins ? { pluginPlatforms: pluginPlatforms(deps.plugins.channels) } : {}),
      logger,
      onDeliveryFailure: metrics.deliveryFailed,
      ...(deps.tracer?.enabled ? { outbox: { onSettled: deliverySpan(deps.tracer) } } : {}),
      ...(deps.approvals ? { approvals: deps.approvals } : {}),
      ...(deps.plugins?.loaded ? { messageReceived: deps.plugins.messageReceived } : {}),
    });
    const health = createChannelHealth({
      accounts: () => manager.healthTargets(),
      config: () => config.current().channelHealth,
      onAlert: channelHealthAlert(deps),
      logger,
    });
    alerts.attachDelivery((entry) => manager.deliver(entry));
    metrics.attach({ channels: () => manager.status(), channelHealth: () => health.list() });
    const clustered = deps.cluster?.enabled ? holdAccounts(deps.cluster, () => channelRouting(deps), (routing) => manager.apply(routing), () => manager.refillOutbox(), logger) : null;
    const reload = clustered
      ? async () => {
          await clustered.reload();
          return { started: [], restarted: [], stopped: [] };
        }
      : () => manager.apply(channelRouting(deps));

    await reload();
    await manager.startDelivery();
    health.start();
    const unsubscribeConfig = config.onReload(() => {
      void reload()
        .then((changed) => {
          if (changed.started.length + changed.restarted.length + changed.stopped.length > 0) logger.info(changed, 'channel accounts updated');
        })
        .catch((error) => logger.error({ err: error }, 'applying the channel config failed'));
    });
    return {
      api: { manager, health, reload } satisfies Channels,
      health: () => health.readiness(),
      drain: unsubscribeConfig,
      async stop() {
        health.stop();
        await clustered?.stop();
        await manager.stop();
        media.close();
      },
    };
  },
});

/** Writes the "delivery" span of each reply that was delivered or given up. */
function deliverySpan(tracer: Tracer): (entry: OutboxEntry, outcome: { delivered: boolean; pieces: number; at: number }) => void {
  return (entry, outcome) =>
    tracer.delivery({
      runId: entry.runId,
      outboxId: entry.id,
      channel: entry.channel,
      queuedAt: entry.createdAt,
      endedAt: outcome.at,
      delivered: outcome.delivered,
      attempts: outcome.delivered ? entry.attempts + 1 : Math.max(1, entry.attempts),
      pieces: outcome.pieces,
      error: outcome.delivered ? null : entry.lastError,
    });
}
