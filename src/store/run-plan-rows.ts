import { type RunPlanRecord, structuredPlanSchema } from '../contracts/structured-plan.js';

/** A `run_plans` row as both stores read it. */
export interface RunPlanRow {
  run_id: string;
  plan: string;
  status: string;
  reason: string | null;
  steps: string;
  resume_of: string | null;
  created_at: number;
  updated_at: number;
}

/** The columns of a `run_plans` row, in insert order, from a record. */
export function runPlanValues(record: RunPlanRecord): [string, string, string, string | null, string, string | null, number, number] {
  return [record.runId, JSON.stringify(record.plan), record.status, record.reason, JSON.stringify(record.steps), record.resumeOf, record.createdAt, record.updatedAt];
}

/** The record of a row; null when its plan no longer parses (the run then shows no plan). */
export function toRunPlanRecord(row: RunPlanRow): RunPlanRecord | null {
  try {
    const plan = structuredPlanSchema.safeParse(JSON.parse(row.plan));
    const steps: unknown = JSON.parse(row.steps);
    if (!plan.success || !Array.isArray(steps)) return null;
    return {
      runId: row.run_id,
      plan: plan.data,
      status: row.status as RunPlanRecord['status'],
      reason: row.reason,
      steps: steps as RunPlanRecord['steps'],
      resumeOf: row.resume_of,
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    };
  } catch {
    return null;
  }
}
