import { z } from 'zod';
import { HearthError } from '../../contracts/errors.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';
import { submitAndWait } from './submit-and-wait.js';

/** `runs.resume`: continues a stopped structured run from its first unfinished step, as a new run in the same session. */
export const runPlanMethods: Record<string, RpcMethod> = {
  'runs.resume': defineMethod(
    {
      description: 'Continues a structured run that failed or stopped, from its first unfinished step, as a new run in the same session (its finished steps are not run again); waits for it up to timeoutMs.',
      returns: '{resumeOf, runId, finished, status, reply, error}',
    },
    z.strictObject({ runId: z.string().min(1).max(200), timeoutMs: z.number().int().min(1).max(3_600_000).optional() }),
    async (params, _connection, context) => {
      const original = await context.store.getRun(params.runId);
      if (!original) throw new HearthError('NOT_FOUND', `No run ${params.runId}. \`hearth runs list\` shows recent runs.`);
      const plan = await context.store.getRunPlan(params.runId);
      if (!plan) throw new HearthError('BAD_REQUEST', `Run ${params.runId} is not a structured run: it has no plan to continue.`);
      if (original.status !== 'error' && original.status !== 'aborted') {
        throw new HearthError('BAD_REQUEST', `Run ${params.runId} is ${original.status}; only a failed or stopped structured run can be resumed.`);
      }
      if (plan.steps.every((step) => step.status === 'done')) throw new HearthError('BAD_REQUEST', `Every step of run ${params.runId}'s plan is done; there is nothing to resume.`);
      if (!context.agents().get(original.agentId)) throw new HearthError('NOT_FOUND', `The agent "${original.agentId}" of run ${params.runId} is no longer configured.`);
      const run = await submitAndWait(
        context.turns,
        () => ({
          sessionKey: original.sessionKey,
          agentId: original.agentId,
          source: original.source,
          text: original.text,
          ...(original.context ? { context: original.context } : {}),
          replyTo: original.replyTo,
          options: { ...original.options, loop: 'structured', resumeOf: original.runId },
        }),
        params.timeoutMs ?? 600_000,
      );
      return { resumeOf: original.runId, ...run };
    },
  ),
};
