import type { Store } from '../contracts/store.js';
import type { ComponentHealth } from '../gateway/gateway-context.js';
import type { Metrics } from '../observability/metrics.js';
import type { Models } from '../providers/models-subsystem.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import type { Turns } from '../sessions/turns-subsystem.js';
import type { AlertSink } from './alerts.js';
import { createCronRunner } from './cron-runner.js';
import { type CronScheduler, createCronScheduler } from './cron-scheduler.js';
import { createHeartbeats, type Heartbeats } from './heartbeat.js';
import type { Cluster } from '../cluster/cluster-subsystem.js';

export interface Automation {
  scheduler: CronScheduler;
  heartbeats: Heartbeats;
}

interface CronDeps extends Pick<GatewayBase, 'config' | 'logger' | 'clock'> {
  store: Store;
  models: Pick<Models, 'agents'>;
  turns: Turns;
  alerts: Pick<AlertSink, 'raise'>;
  metrics: Pick<Metrics, 'cronEscalation'> & { attach(sources: { cronJobs: CronScheduler['list'] }): void };
  /** Cluster mode: the schedule and the heartbeats fire on the one node holding the `cron:schedule` lease. */
  cluster?: Cluster;
}

function cronHealth(scheduler: CronScheduler): ComponentHealth {
  const health = scheduler.health();
  if (health.total === 0) return { status: 'ok', detail: 'no cron jobs' };
  if (health.problems.length === 0) return { status: 'ok', detail: `${health.total} jobs healthy` };
  return { status: 'degraded', detail: health.problems.map((problem) => `${problem.name} (${problem.id}): ${problem.reason}`).join('; ') };
}

function createScheduler({ store, clock, logger, config, turns, alerts, metrics }: CronDeps): CronScheduler {
  const cronRunner = createCronRunner({ turns: turns.service });
  const settings = config.current().cron;
  return createCronScheduler({
    store,
    clock,
    logger,
    escalation: () => {
      const current = config.current();
      const policy = current.cron.escalation;
      return { ...policy, alertChannel: policy.alertChannel ?? current.alerts.channel, alertWebhook: policy.alertWebhook ?? current.alerts.webhook };
    },
    alerts,
    execute: cronRunner.execute,
    resume: cronRunner.resume,
    blockedReason: (job) => turns.budgets.blocked([`agent:${job.spec.agentId}`, `cron:${job.id}`]),
    onEscalation: (action) => metrics.cronEscalation(action),
    retryBaseMs: settings.retryBaseMs,
    maxCatchUpRuns: settings.maxCatchUpRuns,
  });
}

/**
 * Scheduled work: cron jobs (persisted, run as agent turns, with their ledger) and each agent's
 * heartbeat. Stops scheduling new runs when the gateway drains.
 */
export const cronSubsystem = defineSubsystem({
  name: 'cron',
  async start(deps: CronDeps) {
    const { clock, config, logger, models, turns, metrics } = deps;
    const scheduler = createScheduler(deps);
    turns.attachBudgetScope('cron:', (jobId) => scheduler.get(jobId)?.spec.budget);
    metrics.attach({ cronJobs: () => scheduler.list() });
    const newHeartbeats = () =>
      createHeartbeats({
        clock,
        agents: () => models.agents().list(),
        turns: turns.service,
        isBusy: (sessionKey) => turns.lanes.isBusy(sessionKey),
        blockedReason: (agentId) => turns.budgets.blocked([`agent:${agentId}`]),
        logger,
      });
    if (deps.cluster?.enabled) return startClustered(deps, deps.cluster, scheduler, newHeartbeats);
    const heartbeats = newHeartbeats();
    await scheduler.start();
    heartbeats.apply();
    const unsubscribeConfig = config.onReload(() => heartbeats.apply());
    return {
      api: { scheduler, heartbeats } satisfies Automation,
      health: () => cronHealth(scheduler),
      drain() {
        unsubscribeConfig();
        scheduler.stop();
        heartbeats.stop();
      },
    };
  },
});

/**
 * Cluster mode: every node loads the jobs (any node lists, adds and edits them, telling the
 * others), but only the node holding the `cron:schedule` lease fires the schedule and the heartbeats. When
 * it dies, the next holder reads the jobs afresh, follows the runs it left running and applies each
 * job's misfire policy to what fell due meanwhile, so every occurrence is in the ledger once.
 */
async function startClustered(deps: CronDeps, cluster: Extract<Cluster, { enabled: true }>, scheduler: CronScheduler, newHeartbeats: () => Heartbeats) {
  const { logger, config } = deps;
  let heartbeats = newHeartbeats();
  let leading: Promise<void> = Promise.resolve();
  await scheduler.start({ standby: true });
  const holder = cluster.hold({
    prefix: 'cron:',
    wanted: () => ['schedule'],
    onAcquired: () => {
      leading = leading
        .then(async () => {
          await scheduler.lead();
          heartbeats = newHeartbeats();
          heartbeats.apply();
          logger.info({ nodeId: cluster.nodeId }, 'this node now fires the cron schedule and the heartbeats');
        })
        .catch((error: unknown) => logger.error({ err: error }, 'could not take the cron schedule over'));
    },
    onLost: () => {
      scheduler.standby();
      heartbeats.stop();
    },
  });
  const told = (job: { id: string }) => cluster.publish('cron', { id: job.id });
  const clustered: CronScheduler = {
    ...scheduler,
    add: async (spec, options) => {
      const job = await scheduler.add(spec, options);
      told(job);
      return job;
    },
    edit: async (id, patch) => {
      const job = await scheduler.edit(id, patch);
      told(job);
      return job;
    },
    remove: async (id) => {
      const removed = await scheduler.remove(id);
      told({ id });
      return removed;
    },
  };
  const unsubscribe = cluster.subscribe('cron', (payload) => void scheduler.refresh((payload as { id: string }).id).catch(() => {}));
  // On standby, the jobs' state (next run, last status) is read again each sweep: the leader changes it.
  const stopSweep = cluster.everySweep(() => (holder.held().length === 0 ? scheduler.refresh() : Promise.resolve()));
  const unsubscribeConfig = config.onReload(() => {
    if (holder.held().length > 0) heartbeats.apply();
  });
  return {
    api: { scheduler: clustered, get heartbeats() { return heartbeats; } } satisfies Automation,
    health: () => cronHealth(scheduler),
    async drain() {
      unsubscribeConfig();
      unsubscribe();
      stopSweep();
      scheduler.stop();
      heartbeats.stop();
      await holder.stop();
    },
  };
}
