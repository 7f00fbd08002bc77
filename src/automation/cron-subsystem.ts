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
    const heartbeats = createHeartbeats({
      clock,
      agents: () => models.agents().list(),
      turns: turns.service,
      isBusy: (sessionKey) => turns.lanes.isBusy(sessionKey),
      blockedReason: (agentId) => turns.budgets.blocked([`agent:${agentId}`]),
      logger,
    });
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
