import { z } from 'zod';
import type { CronJobSpec, CronJobState } from '../../contracts/automation.js';

/**
 * What a stored row with structure must look like to be loaded: cron jobs (their JSON spec and
 * state), pairing requests, approved senders and exec approval requests. A row that fails is marked in
 * `quarantined_rows` and skipped, never half-loaded; `status` and `hearth doctor` list it.
 */

const nullableNumber = z.number().nullable();

const cronScheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('at'), at: z.string().min(1) }),
  z.object({ kind: z.literal('every'), everyMs: z.number().positive(), anchorAt: z.number().optional() }),
  z.object({ kind: z.literal('cron'), expr: z.string().min(1), tz: z.string().min(1) }),
]);

const cronDeliverySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  z.object({ kind: z.literal('channel'), channel: z.string().min(1), accountId: z.string().min(1), to: z.string().min(1), threadId: z.string().optional() }),
  z.object({ kind: z.literal('webhook'), url: z.string().min(1) }),
]);

export const cronJobSpecSchema = z.object({
  name: z.string().min(1),
  agentId: z.string().min(1),
  schedule: cronScheduleSchema,
  message: z.string(),
  session: z.string().min(1),
  delivery: cronDeliverySchema,
  misfire: z.enum(['skip', 'run-once', 'catch-up']),
  catchUpWindowMs: z.number().nonnegative(),
  escalation: z.record(z.string(), z.unknown()).optional(),
  budget: z.object({ dailyTokens: z.number().optional(), dailyCostUsd: z.number().optional() }).optional(),
  model: z.string().optional(),
  loop: z.enum(['conversational', 'structured']).optional(),
});

export const cronJobStateSchema = z.object({
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
  nextRunAt: nullableNumber,
  nextScheduledAt: nullableNumber,
  retrying: z.boolean(),
  lastRunAt: nullableNumber,
  lastStatus: z.string().nullable(),
  lastSuccessAt: nullableNumber,
  lastError: z.string().nullable(),
  consecutiveErrors: z.number().int().nonnegative(),
  streakStartedAt: nullableNumber,
  finished: z.boolean(),
});

/** The problem with a stored text column as JSON of a schema, in one line; null when it is sound. */
function jsonProblem(column: string, text: string, schema: z.ZodType): string | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `${column} is not JSON (${error instanceof Error ? error.message : String(error)})`;
  }
  const result = schema.safeParse(value);
  if (result.success) return null;
  return `${column}: ${result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`)
    .join('; ')}`;
}

/** The problem with a text column that must hold a JSON object; null when it does. */
export function jsonObjectProblem(column: string, text: string): string | null {
  return jsonProblem(column, text, z.record(z.string(), z.unknown()));
}

/** A cron job row checked against its schema: the parsed spec and state, or the problem. */
export function checkCronJobRow(row: { spec: string; state: string }): { ok: true; spec: CronJobSpec; state: CronJobState } | { ok: false; problem: string } {
  const problem = jsonProblem('spec', row.spec, cronJobSpecSchema) ?? jsonProblem('state', row.state, cronJobStateSchema);
  if (problem !== null) return { ok: false, problem };
  return { ok: true, spec: JSON.parse(row.spec) as CronJobSpec, state: JSON.parse(row.state) as CronJobState };
}

const idText = z.string().min(1).max(512);

/** Pairing requests and approved senders: their text ids must be present, their times numbers. */
export const pairingRowSchema = z.object({
  code: z.string().regex(/^[A-Z0-9]{4,16}$/u),
  channel: idText,
  account_id: idText,
  sender_id: idText,
  chat_id: idText,
  created_at: z.number(),
  expires_at: z.number(),
});

export const approvedSenderRowSchema = z.object({ channel: idText, account_id: idText, sender_id: idText, approved_at: z.number() });

/** The problem with a row of plain columns, in one line; null when it is sound. */
export function rowProblem(row: unknown, schema: z.ZodType): string | null {
  const result = schema.safeParse(row);
  if (result.success) return null;
  return result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.')} ${issue.message}`)
    .join('; ');
}

/** An exec approval request: its ids and command present, its status one of four, its reply target (JSON) whole. */
export const approvalRowSchema = z.object({
  id: idText,
  run_id: idText,
  session_key: idText,
  agent_id: idText,
  tool: idText,
  command: z.string(),
  cwd: z.string(),
  can_always: z.union([z.literal(0), z.literal(1)]),
  reply_to: z.string().nullable(),
  status: z.enum(['pending', 'approved', 'denied', 'expired']),
  always: z.union([z.literal(0), z.literal(1)]),
  decided_by: z.string().nullable(),
  created_at: z.number(),
  expires_at: z.number(),
  decided_at: z.number().nullable(),
});

const replyToSchema = z.object({ channel: idText, target: idText });

/** The problem with a stored exec approval request, in one line; null when it is sound. */
export function approvalRowProblem(row: unknown): string | null {
  const plain = rowProblem(row, approvalRowSchema);
  if (plain !== null) return plain;
  const replyTo = (row as { reply_to: string | null }).reply_to;
  return replyTo === null ? null : jsonProblem('reply_to', replyTo, replyToSchema);
}
