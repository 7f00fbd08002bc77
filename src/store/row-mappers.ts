import type { CronRunRecord, OperatorAlert } from '../contracts/automation.js';
import type { ToolCallRecord, TurnSource } from '../contracts/messages.js';
import type {
  ApprovedSender,
  CompactionMessage,
  ExecApproval,
  InboxEntry,
  OutboxEntry,
  PairingRequest,
  RunRecord,
  RunStatus,
  RunStep,
  SessionSummary,
  StatelessContext,
  TranscriptEntry,
  TurnOptions,
  UsageTotals,
} from '../contracts/store.js';

/**
 * Stored rows to the Store port's objects, shared by the SQLite and PostgreSQL adapters: both keep
 * the same columns (JSON as text, times as epoch milliseconds), so a row reads the same from either.
 */

export interface InboxRow {
  generation?: number | null;
  started_at?: number | null;
  run_id: string;
  session_key: string;
  agent_id: string;
  source: string;
  text: string;
  context: string | null;
  reply_to: string | null;
  options: string | null;
  status: string;
  attempts: number;
  created_at: number;
}

export interface TranscriptRow {
  id: number;
  run_id: string | null;
  body: string;
  created_at: number;
}

export interface RunRow {
  id: string;
  session_key: string;
  agent_id: string;
  source: string;
  text: string;
  context: string | null;
  options: string | null;
  reply_to: string | null;
  cost_usd: number | null;
  status: string;
  model_ref: string | null;
  reply: string | null;
  tool_calls: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  error_code: string | null;
  error_message: string | null;
  attempts: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface StepRow {
  seq: number;
  kind: string;
  name: string;
  input: string | null;
  output: string | null;
  error: string | null;
  started_at: number;
  duration_ms: number;
  input_tokens: number | null;
  output_tokens: number | null;
}

export interface SessionRow {
  key: string;
  agent_id: string;
  created_at: number;
  updated_at: number;
  message_count: number;
  last_body: string | null;
}

export interface OutboxRow {
  id: number;
  run_id: string;
  session_key: string;
  channel: string;
  target: string;
  text: string;
  attempts: number;
  chunks_sent: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
}

export interface PairingRow {
  code: string;
  channel: string;
  account_id: string;
  sender_id: string;
  sender_name: string | null;
  chat_id: string;
  created_at: number;
  expires_at: number;
}

export interface ApprovalRow {
  id: string;
  run_id: string;
  session_key: string;
  agent_id: string;
  tool: string;
  command: string;
  cwd: string;
  can_always: number;
  reply_to: string | null;
  status: ExecApproval['status'];
  always: number;
  decided_by: string | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
}

export interface JobRow {
  id: string;
  spec: string;
  state: string;
  created_at: number;
  updated_at: number;
}

export interface CronRunRow {
  id: string;
  job_id: string;
  status: string;
  scheduled_at: number;
  started_at: number | null;
  finished_at: number | null;
  trigger: string;
  turn_run_id: string | null;
  reason: string | null;
  error: string | null;
  count: number;
  created_at: number;
}

export interface AlertRow {
  id: number;
  dedupe_key: string;
  event: string;
  payload: string;
  webhook: string | null;
  status: string;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

/** A run as an inbox entry: what was accepted, and whether it still waits to be answered. */
export const INBOX_COLUMNS = `id AS run_id, session_key, agent_id, source, text, context, reply_to, options,
  CASE status WHEN 'queued' THEN 'pending' ELSE 'done' END AS status, attempts, created_at, generation, started_at`;

export const OUTBOX_COLUMNS = 'id, run_id, session_key, channel, target, text, attempts, chunks_sent, next_attempt_at, last_error, created_at';

export function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function toInboxEntry(row: InboxRow): InboxEntry {
  return {
    runId: row.run_id,
    sessionKey: row.session_key,
    agentId: row.agent_id,
    source: row.source as TurnSource,
    text: row.text,
    context: parseJson<StatelessContext | null>(row.context, null),
    replyTo: parseJson<{ channel: string; target: string } | null>(row.reply_to, null),
    options: parseJson<TurnOptions | null>(row.options, null),
    status: row.status as InboxEntry['status'],
    attempts: row.attempts,
    createdAt: row.created_at,
  };
}

export function toTranscriptEntry(row: TranscriptRow): TranscriptEntry {
  return { id: row.id, runId: row.run_id, createdAt: row.created_at, message: JSON.parse(row.body) as TranscriptEntry['message'] };
}

export function toRunRecord(row: RunRow): RunRecord {
  return {
    runId: row.id,
    sessionKey: row.session_key,
    agentId: row.agent_id,
    source: row.source as TurnSource,
    status: row.status === 'queued' && row.started_at !== null ? 'running' : (row.status as RunStatus),
    modelRef: row.model_ref,
    reply: row.reply,
    toolCalls: parseJson<ToolCallRecord[]>(row.tool_calls, []),
    usage: row.input_tokens === null ? null : { inputTokens: row.input_tokens, outputTokens: row.output_tokens ?? 0 },
    costUsd: row.cost_usd,
    options: parseJson<TurnOptions | null>(row.options, null),
    replyTo: parseJson<{ channel: string; target: string } | null>(row.reply_to, null),
    text: row.text,
    context: parseJson<StatelessContext | null>(row.context, null),
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    attempts: row.attempts,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export function toRunStep(row: StepRow): RunStep {
  return {
    seq: row.seq,
    kind: row.kind as RunStep['kind'],
    name: row.name,
    input: parseJson<unknown>(row.input, undefined),
    output: parseJson<unknown>(row.output, undefined),
    ...(row.error === null ? {} : { error: row.error }),
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    ...(row.input_tokens === null ? {} : { usage: { inputTokens: row.input_tokens, outputTokens: row.output_tokens ?? 0 } }),
  };
}

export function toSessionSummary(row: SessionRow): SessionSummary {
  return {
    sessionKey: row.key,
    agentId: row.agent_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    messageCount: row.message_count,
    lastMessage: row.last_body === null ? null : (parseJson<{ content?: string }>(row.last_body, {}).content ?? null),
  };
}

export function toOutboxEntry(row: OutboxRow): OutboxEntry {
  return {
    id: row.id,
    runId: row.run_id,
    sessionKey: row.session_key,
    channel: row.channel,
    target: row.target,
    text: row.text,
    attempts: row.attempts,
    chunksSent: row.chunks_sent,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
  };
}

export function toPairingRequest(row: PairingRow): PairingRequest {
  return {
    code: row.code,
    channel: row.channel,
    accountId: row.account_id,
    senderId: row.sender_id,
    senderName: row.sender_name,
    chatId: row.chat_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export function toApprovedSender(row: Record<string, unknown>): ApprovedSender {
  return {
    channel: String(row.channel),
    accountId: String(row.account_id),
    senderId: String(row.sender_id),
    senderName: typeof row.sender_name === 'string' ? row.sender_name : null,
    approvedAt: Number(row.approved_at),
  };
}

function parseReplyTo(text: string | null): ExecApproval['replyTo'] {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as { channel?: unknown; target?: unknown };
    return typeof value.channel === 'string' && typeof value.target === 'string' ? { channel: value.channel, target: value.target } : null;
  } catch {
    return null;
  }
}

export function toApproval(row: ApprovalRow): ExecApproval {
  return {
    id: row.id,
    runId: row.run_id,
    sessionKey: row.session_key,
    agentId: row.agent_id,
    tool: row.tool,
    command: row.command,
    cwd: row.cwd,
    canAlways: row.can_always === 1,
    replyTo: parseReplyTo(row.reply_to),
    status: row.status,
    always: row.always === 1,
    decidedBy: row.decided_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    decidedAt: row.decided_at,
  };
}

export const toCronRun = (row: CronRunRow): CronRunRecord => ({
  id: row.id,
  jobId: row.job_id,
  status: row.status as CronRunRecord['status'],
  scheduledAt: row.scheduled_at,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  trigger: row.trigger as CronRunRecord['trigger'],
  turnRunId: row.turn_run_id,
  reason: row.reason,
  error: row.error,
  count: row.count,
  createdAt: row.created_at,
});

export const toAlert = (row: AlertRow): OperatorAlert => ({
  id: row.id,
  dedupeKey: row.dedupe_key,
  event: row.event,
  payload: JSON.parse(row.payload) as Record<string, unknown>,
  webhook: row.webhook,
  status: row.status as OperatorAlert['status'],
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  lastError: row.last_error,
  createdAt: row.created_at,
  deliveredAt: row.delivered_at,
});

/** The compaction a stored line describes, or null when it is missing or unreadable (then the whole transcript counts). */
export function readCompaction(row: { body: string } | undefined): CompactionMessage | null {
  if (!row) return null;
  try {
    const message = JSON.parse(row.body) as Partial<CompactionMessage>;
    return typeof message.content === 'string' && Number.isSafeInteger(message.firstKeptId) ? (message as CompactionMessage) : null;
  } catch {
    return null;
  }
}

/** A group of usageSummary: its key (day, agent or model) and sums. */
export interface UsageTotalsRow {
  key: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  runs: number;
}

/** The sums usageSummary selects per group. */
export const USAGE_SUMS = 'SUM(input_tokens) AS input_tokens, SUM(COALESCE(output_tokens, 0)) AS output_tokens, SUM(COALESCE(cost_usd, 0)) AS cost_usd, COUNT(*) AS runs';

export const toUsageTotals = (row: UsageTotalsRow): UsageTotals => ({ inputTokens: row.input_tokens, outputTokens: row.output_tokens, costUsd: row.cost_usd, runs: row.runs });
