/**
 * Values of scheduled work (cron jobs and their run ledger), operator alerts and daily spend,
 * shared by the scheduler, the store and the control plane.
 */

/** When a job runs: once at a time, at a fixed interval, or on a cron expression in a time zone. */
export type CronSchedule =
  | { kind: 'at'; at: string }
  | { kind: 'every'; everyMs: number; anchorAt?: number }
  | { kind: 'cron'; expr: string; tz: string };

/** Where a job's reply goes: a chat on a channel account, a webhook (POST), or nowhere. */
export type CronDelivery =
  | { kind: 'none' }
  | { kind: 'channel'; channel: string; accountId: string; to: string; threadId?: string }
  | { kind: 'webhook'; url: string };

/** What happens to occurrences that fell while the gateway was not running. */
export type MisfirePolicy = 'skip' | 'run-once' | 'catch-up';

export interface EscalationPolicy {
  alertAfterConsecutiveErrors: number;
  disableAfterConsecutiveErrors: number;
  /** `<platform>[:<account>]:<chat>[:<thread>]`, e.g. `telegram:default:12345`. */
  alertChannel?: string;
  alertWebhook?: string;
  backoffMaxMs: number;
}

export interface DailyBudget {
  dailyTokens?: number;
  dailyCostUsd?: number;
}

/** What a job is, as its owner defined it. */
export interface CronJobSpec {
  name: string;
  agentId: string;
  schedule: CronSchedule;
  /** The message the agent's turn starts with. */
  message: string;
  /** `isolated` (a fresh session per run), `main` (the agent's main session) or a session key. */
  session: string;
  delivery: CronDelivery;
  misfire: MisfirePolicy;
  /** With `catch-up`: occurrences older than this at start are recorded as missed, not run. */
  catchUpWindowMs: number;
  /** Overrides of `cron.escalation` for this job. */
  escalation?: Partial<EscalationPolicy>;
  budget?: DailyBudget;
  /** A model ref for this job's turns instead of the agent's. */
  model?: string;
  /** How this job's turns run, instead of the agent's `loop` (`structured`: as checkpointed plans). */
  loop?: 'conversational' | 'structured';
}

/** What the scheduler knows about a job between runs. */
export interface CronJobState {
  enabled: boolean;
  /** Why the job is disabled (by its owner or by the escalation policy). */
  disabledReason: string | null;
  nextRunAt: number | null;
  /** The occurrence `nextRunAt` stands for (differs from it while a retry is backing off). */
  nextScheduledAt: number | null;
  /** True when the next run is a retry after an error. */
  retrying: boolean;
  lastRunAt: number | null;
  lastStatus: CronRunStatus | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  consecutiveErrors: number;
  /** When the current run of errors began (alerts are sent once per such streak). */
  streakStartedAt: number | null;
  /** The schedule fired its last occurrence (`at` jobs after they ran). */
  finished: boolean;
}

export interface CronJob {
  id: string;
  spec: CronJobSpec;
  state: CronJobState;
  createdAt: number;
  updatedAt: number;
}

export type CronRunStatus = 'scheduled' | 'running' | 'ok' | 'error' | 'missed' | 'skipped';

/** One line of the run ledger: a run of a job, or an occurrence that did not run and why. */
export interface CronRunRecord {
  id: string;
  jobId: string;
  status: CronRunStatus;
  /** The occurrence this entry is for (the first one, for a `missed` entry covering several). */
  scheduledAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** How this run came about: the schedule, a retry, a catch-up at start, or `hearth cron run`. */
  trigger: 'schedule' | 'retry' | 'misfire' | 'manual';
  /** The agent turn's run id (`hearth runs show <id>`). */
  turnRunId: string | null;
  /** Why it was missed or skipped. */
  reason: string | null;
  error: string | null;
  /** For a `missed` entry: how many occurrences it covers. */
  count: number;
  createdAt: number;
}

/** A job's ledger summed over a window (`hearth cron audit`). */
export interface CronRunStats {
  jobId: string;
  ok: number;
  error: number;
  missed: number;
  skipped: number;
  /** `startedAt − scheduledAt` of runs the schedule started; null without any. */
  driftAvgMs: number | null;
  driftMaxMs: number | null;
}

/** An operator alert: persisted once per dedupe key, then delivered to a webhook until it answers. */
export interface OperatorAlertInput {
  dedupeKey: string;
  event: string;
  payload: Record<string, unknown>;
  webhook: string | null;
  now: number;
}

export interface OperatorAlert {
  id: number;
  dedupeKey: string;
  event: string;
  payload: Record<string, unknown>;
  webhook: string | null;
  status: 'pending' | 'delivered' | 'failed' | 'logged';
  attempts: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

/** Tokens and cost spent by one scope (`agent:<id>` or `cron:<jobId>`) on one day. */
export interface SpendRecord {
  day: string;
  scope: string;
  tokens: number;
  costUsd: number;
}
