import { z } from 'zod';
import type { ToolCallRecord } from './messages.js';

/**
 * The shape a plan step promises its output has: a small subset of JSON Schema. A step whose
 * output does not match it fails verification.
 */
export type ExpectedShape =
  | { type: 'string'; minLength?: number; pattern?: string }
  | { type: 'number' }
  | { type: 'boolean' }
  | { type: 'array'; items?: ExpectedShape; minItems?: number }
  | { type: 'object'; properties?: Record<string, ExpectedShape>; required?: string[] };

export const expectedShapeSchema: z.ZodType<ExpectedShape> = z.lazy(() =>
  z.union([
    z.strictObject({ type: z.literal('string'), minLength: z.number().int().min(0).optional(), pattern: z.string().max(500).optional() }),
    z.strictObject({ type: z.literal('number') }),
    z.strictObject({ type: z.literal('boolean') }),
    z.strictObject({ type: z.literal('array'), items: expectedShapeSchema.optional(), minItems: z.number().int().min(0).optional() }),
    z.strictObject({ type: z.literal('object'), properties: z.record(z.string(), expectedShapeSchema).optional(), required: z.array(z.string()).optional() }),
  ]),
);

/** One step of a structured run's plan, as the model declares it. */
export const planStepSchema = z.strictObject({
  id: z.string().trim().min(1).max(60),
  goal: z.string().trim().min(1).max(2000),
  /** The only tools the step may call (empty: none). */
  tools: z.array(z.string().min(1).max(100)).max(20).default([]),
  /** What must hold before the step runs, in words. */
  preconditions: z.array(z.string().max(1000)).max(20).default([]),
  /** The shape of the step's output, checked before the run moves on. */
  expect: expectedShapeSchema,
  /** How to undo the step, in words, should a later step fail. */
  rollback: z.string().max(1000).optional(),
});

export const structuredPlanSchema = z
  .strictObject({ steps: z.array(planStepSchema).min(1).max(20) })
  .refine((plan) => new Set(plan.steps.map((step) => step.id)).size === plan.steps.length, { message: 'step ids must be unique' });

export type PlanStep = z.infer<typeof planStepSchema>;
export type StructuredPlan = z.infer<typeof structuredPlanSchema>;

/** Where one plan step stands: checkpointed before the run moves on. */
export interface PlanStepCheckpoint {
  id: string;
  /** `running` after a restart means the step was interrupted and runs again. */
  status: 'pending' | 'running' | 'done' | 'failed';
  /** Times the step was started. */
  attempts: number;
  /** Attempts whose output failed verification (or that ended without an output). */
  failures: number;
  /** The verified output (done), or null. */
  output: unknown;
  /** `ok`, or why the last attempt's output was refused. Null before any check. */
  verification: string | null;
  /** The step's tool calls of its verified attempt. */
  toolCalls: ToolCallRecord[];
  startedAt: number | null;
  finishedAt: number | null;
}

export type RunPlanStatus = 'running' | 'ok' | 'failed' | 'stopped';

/** A structured run's plan and checkpoints (Store.putRunPlan / getRunPlan). */
export interface RunPlanRecord {
  runId: string;
  plan: StructuredPlan;
  status: RunPlanStatus;
  /** Why the run failed or stopped; null otherwise. */
  reason: string | null;
  steps: PlanStepCheckpoint[];
  /** The stopped run this one continues (`hearth runs resume`), or null. */
  resumeOf: string | null;
  createdAt: number;
  updatedAt: number;
}
