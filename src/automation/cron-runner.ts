import type { CronJob, CronRunRecord } from '../contracts/automation.js';
import { cronSessionKey, mainSessionKey } from '../routing/session-keys.js';
import { postJson } from '../runtime/post-json.js';
import type { TurnOutcome, TurnService } from '../sessions/turn-service.js';
import type { CronRunOutcome } from './cron-scheduler.js';

export interface CronRunnerDeps {
  turns: Pick<TurnService, 'submit' | 'awaitRun' | 'forgetRun' | 'waitFor'>;
  /** Waits between webhook attempts (tests pass a short one). */
  webhookRetryMs?: number;
}

const toOutcome = (outcome: TurnOutcome): CronRunOutcome =>
  outcome.status === 'ok' ? { status: 'ok' } : { status: 'error', error: outcome.error ? `${outcome.error.code}: ${outcome.error.message}` : outcome.status };

/**
 * Runs a cron job as an agent turn (source `cron`): in a fresh session per run (`isolated`), the
 * agent's main session, or a named one. A reply for a chat goes through the outbox like any
 * other; a reply for a webhook is POSTed after the turn, and a webhook that never answers makes
 * the run an error (the reply stays in the run record).
 */
export function createCronRunner(deps: CronRunnerDeps) {
  const retryMs = deps.webhookRetryMs ?? 2000;

  const postResult = async (url: string, body: Record<string, unknown>): Promise<string | null> => {
    let problem = '';
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const status = await postJson(url, body, { timeoutMs: 10_000 });
        if (status >= 200 && status < 300) return null;
        problem = `HTTP ${status}`;
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
      }
      if (attempt < 3) await new Promise((resolve) => setTimeout(resolve, retryMs * attempt));
    }
    return problem;
  };

  return {
    async execute(job: CronJob, run: CronRunRecord): Promise<CronRunOutcome> {
      const { spec } = job;
      const runId = run.turnRunId!;
      const sessionKey = spec.session === 'isolated' ? cronSessionKey(job.id, runId) : spec.session === 'main' ? mainSessionKey(spec.agentId) : spec.session;
      const delivery = spec.delivery;
      const replyTo =
        delivery.kind === 'channel'
          ? { channel: `${delivery.channel}:${delivery.accountId}`, target: JSON.stringify({ chatId: delivery.to, ...(delivery.threadId ? { threadId: delivery.threadId } : {}) }) }
          : null;
      const finished = deps.turns.awaitRun(runId);
      try {
        await deps.turns.submit({
          runId,
          sessionKey,
          agentId: spec.agentId,
          source: 'cron',
          text: spec.message,
          replyTo,
          options: { ...(spec.model ? { model: spec.model } : {}), ...(spec.loop ? { loop: spec.loop } : {}), budgetScopes: [`cron:${job.id}`] },
        });
      } catch (error) {
        deps.turns.forgetRun(runId);
        throw error;
      }
      const outcome = await finished;
      if (outcome.status !== 'ok' || delivery.kind !== 'webhook') return toOutcome(outcome);
      const problem = await postResult(delivery.url, {
        event: 'cron.run',
        jobId: job.id,
        jobName: spec.name,
        agentId: spec.agentId,
        runId,
        scheduledAt: new Date(run.scheduledAt).toISOString(),
        reply: outcome.reply,
      });
      return problem === null ? { status: 'ok' } : { status: 'error', error: `the reply could not be POSTed to the job's webhook (${problem}); it is kept in run ${runId}` };
    },

    async resume(turnRunId: string): Promise<CronRunOutcome> {
      return toOutcome(await deps.turns.waitFor(turnRunId));
    },
  };
}
