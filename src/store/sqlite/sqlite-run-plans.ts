import type BetterSqlite3 from 'better-sqlite3';
import type { Store } from '../../contracts/store.js';
import { type RunPlanRow, runPlanValues, toRunPlanRecord } from '../run-plan-rows.js';
import type { StatementRunner } from './sqlite-channel-state.js';

/** Structured runs' plans and checkpoints (migration 12). */
export function createSqliteRunPlans(db: BetterSqlite3.Database, { run, write }: StatementRunner): Pick<Store, 'putRunPlan' | 'getRunPlan'> {
  const upsert = db.prepare(
    `INSERT INTO run_plans (run_id, plan, status, reason, steps, resume_of, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id) DO UPDATE SET plan = excluded.plan, status = excluded.status, reason = excluded.reason, steps = excluded.steps, resume_of = excluded.resume_of, updated_at = excluded.updated_at`,
  );
  const select = db.prepare('SELECT * FROM run_plans WHERE run_id = ?');
  return {
    putRunPlan: (record) =>
      write('save a run plan', () => {
        upsert.run(...runPlanValues(record));
      }),
    getRunPlan: (runId) =>
      run('read a run plan', () => {
        const row = select.get(runId) as RunPlanRow | undefined;
        return row ? toRunPlanRecord(row) : null;
      }),
  };
}
