import type { Store } from '../../contracts/store.js';
import { type RunPlanRow, runPlanValues, toRunPlanRecord } from '../run-plan-rows.js';
import type { PgRunner } from './postgres-runner.js';

/** Structured runs' plans and checkpoints (migration 4). */
export function createPostgresRunPlans({ read, write }: PgRunner): Pick<Store, 'putRunPlan' | 'getRunPlan'> {
  return {
    putRunPlan: (record) =>
      write('save a run plan', async (query) => {
        await query(
          `INSERT INTO run_plans (run_id, plan, status, reason, steps, resume_of, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (run_id) DO UPDATE SET plan = EXCLUDED.plan, status = EXCLUDED.status, reason = EXCLUDED.reason, steps = EXCLUDED.steps, resume_of = EXCLUDED.resume_of, updated_at = EXCLUDED.updated_at`,
          runPlanValues(record),
        );
      }),
    getRunPlan: (runId) =>
      read('read a run plan', async (query) => {
        const row = (await query<RunPlanRow>('SELECT * FROM run_plans WHERE run_id = $1', [runId])).rows[0];
        return row ? toRunPlanRecord(row) : null;
      }),
  };
}
