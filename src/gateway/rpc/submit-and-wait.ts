import { randomUUID } from 'node:crypto';
import type { TurnRequest, TurnService } from '../../sessions/turn-service.js';

/** How a run submitted by an RPC method ended, or `finished: false` when it was still running at the time limit. */
export interface SubmittedRun {
  runId: string;
  finished: boolean;
  status: string;
  reply: string | null;
  error: { code: string; message: string } | null;
}

/**
 * Submits a turn (built for its new run id) and waits for it up to `timeoutMs` (runs.replay, runs.resume).
 * The waiter is registered before the submit, and dropped when the submit fails.
 */
export async function submitAndWait(turns: Pick<TurnService, 'awaitRun' | 'submit' | 'forgetRun'>, request: (runId: string) => Omit<TurnRequest, 'runId'>, timeoutMs: number): Promise<SubmittedRun> {
  const runId = `run_${randomUUID()}`;
  const finished = turns.awaitRun(runId);
  try {
    await turns.submit({ ...request(runId), runId });
  } catch (error) {
    turns.forgetRun(runId);
    throw error;
  }
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    finished,
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  return { runId, finished: outcome !== null, status: outcome?.status ?? 'running', reply: outcome?.reply ?? null, error: outcome?.error ?? null };
}
