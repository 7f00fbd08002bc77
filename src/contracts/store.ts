import type { PackedMessages } from './packed-messages.js';
import type { CronJob, CronRunRecord, CronRunStats, CronRunStatus, OperatorAlert, OperatorAlertInput, SpendRecord } from './automation.js';
import type { ChatMessage, ToolCallRecord, TurnSource, Usage } from './messages.js';
import type { RunPlanRecord } from './structured-plan.js';
import type { TaskStore } from './tasks.js';

/**
 * The persistence port. SQLite implements it for one machine; a PostgreSQL adapter implements it
 * for cluster mode. Every method is atomic: it either happens completely or not at all. Methods
 * reject with a HearthError (code STORE_ERROR) when the database fails.
 */
/** The store's own view of its health, for `/readyz` and `status`. */
export interface StoreHealth {
  status: 'ok' | 'down';
  detail: string;
  /** The last failed statement, kept after recovery so `status` can show it. */
  lastError: { at: number; action: string; message: string; damaged: boolean } | null;
}

/** A stored row that failed its schema when loaded: skipped, kept as it was, and listed here. */
export interface QuarantinedRow {
  table: string;
  key: string;
  reason: string;
  at: number;
}

/** What reclaiming a database's free space did. */
export interface ReclaimedSpace {
  beforeBytes: number;
  afterBytes: number;
  durationMs: number;
}

export interface Store extends TaskStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Down after a failed read or write until one succeeds, and for good once the file is found damaged. */
  health?(): StoreHealth;
  /** Rows skipped at load because they failed their schema (cron jobs, pairing requests, approved senders, alerts). */
  quarantinedRows?(): Promise<QuarantinedRow[]>;
  /** Applies pending migrations in version order; returns the versions applied now. */
  migrate(): Promise<number[]>;
  close(): Promise<void>;

  /**
   * Persists an accepted turn (inbox entry + queued run) before anyone is acknowledged. With an
   * idempotency key already seen in the same scope, nothing is written and the earlier run is
   * returned with `duplicate: true`.
   */
  acceptTurn(input: AcceptTurnInput): Promise<AcceptedTurn>;
  /**
   * Counts the attempt of a queued turn and remembers the transcript it belongs to, returning the
   * recent history (session turns). Nothing goes into the transcript before the turn finishes, so
   * an interrupted attempt leaves nothing to clean up. Returns null when the turn is finished or
   * unknown.
   */
  startTurn(runId: string, options: { now: number; historyLimit: number }): Promise<StartedTurn | null>;
  /**
   * The history a started session turn runs with: the newest lines of the transcript it started
   * in, oldest first, without `error` lines; at most `maxEntries` lines, and only the newest whose
   * stored text adds up to `maxChars` (plus the one line that crosses it). After a compaction the
   * history starts with its summary (a user message) followed by the lines from its `firstKeptId`. A read: it never waits
   * behind queued writes. Empty for a stateless or unknown run. Packed: the lines' stored JSON as
   * one string, never an object per line.
   */
  turnHistory(runId: string, bounds: { maxEntries: number; maxChars: number }): Promise<PackedMessages>;
  /** Turns accepted but not finished (pending or interrupted while running), oldest first. */
  unfinishedTurns(): Promise<InboxEntry[]>;
  /**
   * Puts a started turn back in the queue without counting the attempt (used when the gateway
   * stops before the turn finished).
   */
  requeueTurn(runId: string): Promise<void>;
  /** Appends one step of a run (a model call or a tool call) to the run record. */
  recordStep(runId: string, step: RunStepInput): Promise<void>;
  /**
   * Finishes a turn in one transaction: the user's message and the turn's lines in the
   * transcript the turn started in, the run result, and the reply in the outbox when one is to
   * be delivered.
   */
  completeTurn(runId: string, result: TurnResult): Promise<{ outboxId: number | null }>;

  /** Queues a message that belongs to no turn (a pairing code, `hearth message send`). */
  enqueueOutbox(input: EnqueueOutboxInput): Promise<OutboxEntry>;
  /** Messages neither delivered nor given up, oldest first. */
  undeliveredOutbox(limit: number): Promise<OutboxEntry[]>;
  /** Remembers that the first `chunksSent` pieces of a message reached the platform. */
  recordOutboxProgress(outboxId: number, chunksSent: number): Promise<void>;
  markDelivered(outboxId: number, now: number): Promise<void>;
  /**
   * Counts a failed delivery attempt. With `retryAt` the message stays queued until then; with
   * null it is given up (status `failed`, kept with its error for `hearth channels status`).
   */
  recordDeliveryFailure(outboxId: number, failure: { error: string; now: number; retryAt: number | null }): Promise<void>;
  /** Queued and given-up messages per channel (`<platform>:<accountId>`). */
  outboxCounts(): Promise<{ channel: string; pending: number; failed: number }[]>;

  /**
   * A channel account's resume point on its platform (e.g. Matrix's sync token), by a key the
   * adapter chooses; null when none was saved.
   */
  readChannelCursor(key: string): Promise<string | null>;
  /**
   * Saves a channel account's resume point, replacing the previous one. Adapters call it only
   * after the messages before that point are persisted, so a restart neither loses nor replays them.
   */
  writeChannelCursor(key: string, value: string, now: number): Promise<void>;

  /**
   * Records that an unknown sender asked to talk to the bot. A sender with a live request gets
   * it back (`pending`); a new request is made with `code` unless the account already has
   * `maxPending` live ones (`full`); an approved sender gets `approved`. Expired requests are
   * forgotten.
   */
  requestPairing(input: PairingRequestInput): Promise<PairingOutcome>;
  /** Live (unexpired, unapproved) pairing requests, oldest first. */
  listPairingRequests(now: number): Promise<PairingRequest[]>;
  /** Approves a live request by its code (case-insensitive); null when no live request has it. */
  approvePairing(code: string, now: number): Promise<PairingRequest | null>;
  /** Refuses a live request by its code (case-insensitive): it is removed and the sender is not approved; null when no live request has it. */
  denyPairing(code: string, now: number): Promise<PairingRequest | null>;
  isApprovedSender(channel: string, accountId: string, senderId: string): Promise<boolean>;
  /** Senders approved through pairing, newest first (rows that fail their schema are skipped). */
  listApprovedSenders(): Promise<ApprovedSender[]>;
  /** Takes an approval back: the sender must pair again. False when the sender was not approved. */
  revokeApprovedSender(channel: string, accountId: string, senderId: string): Promise<boolean>;

  /**
   * Records that a run asks the operator to allow a command. A run that asks again for the same
   * command in the same folder (its turn ran again after a restart) gets its earlier request back,
   * decided or not, instead of a new one.
   */
  requestApproval(input: ApprovalRequestInput): Promise<ExecApproval>;
  /** Decides a pending request; null when no request has this id. A request decided before is returned as it is. */
  decideApproval(id: string, decision: ApprovalDecisionInput): Promise<ExecApproval | null>;
  getApproval(id: string): Promise<ExecApproval | null>;
  /** Requests newest first; only the pending ones with `pending: true`. */
  listApprovals(options: { pending?: boolean; limit: number }): Promise<ExecApproval[]>;
  /** Command patterns an operator allowed for good ("allow always"), per agent, oldest first. */
  listAllowedCommands(): Promise<{ agentId: string; pattern: string; approvalId: string | null; createdAt: number }[]>;

  readTranscript(sessionKey: string, limit: number): Promise<TranscriptEntry[]>;
  /** The transcript a run started from: the lines of its session before its own, newest last. */
  transcriptBeforeRun(runId: string, limit: number): Promise<TranscriptEntry[]>;
  listSessions(options: { limit: number; agentId?: string }): Promise<SessionSummary[]>;
  /** Starts a fresh transcript for the session (the old one is kept, not shown). */
  resetSession(sessionKey: string, now: number): Promise<boolean>;
  /**
   * The session's current transcript from its last compaction on (see ActiveTranscript): the
   * newest `maxEntries` lines. Null for an unknown session.
   */
  activeTranscript(sessionKey: string, options: { maxEntries: number }): Promise<ActiveTranscript | null>;
  /**
   * Appends a compaction line to the session's transcript; returns its id, or null when the
   * session was reset (or is unknown) since `input.generation`.
   */
  appendCompaction(sessionKey: string, input: CompactionInput): Promise<number | null>;

  getRun(runId: string): Promise<RunRecord | null>;
  /** Saves a structured run's plan and checkpoints, replacing what was saved for the run before. */
  putRunPlan(record: RunPlanRecord): Promise<void>;
  /** A structured run's plan and checkpoints; null for a run without one. Deleted with its run. */
  getRunPlan(runId: string): Promise<RunPlanRecord | null>;
  listRunSteps(runId: string): Promise<RunStep[]>;
  listRuns(options: { limit: number; sessionKey?: string }): Promise<RunRecord[]>;
  /** Forgets idempotency keys older than the cutoff; returns how many were removed. */
  pruneIdempotencyKeys(olderThan: number): Promise<number>;

  /** Sessions with no turn since `before`, longest idle first, at most `limit`. */
  idleSessions(before: number, limit: number): Promise<IdleSession[]>;
  /** Every transcript line of a session, every generation, oldest first (what its archive holds). */
  sessionLines(sessionKey: string): Promise<ArchivedLine[]>;
  /** Deletes a session and its transcript if it is still idle since `before`; returns the lines removed, or null when a turn since kept it. */
  deleteIdleSession(sessionKey: string, before: number): Promise<number | null>;
  /** Deletes finished runs (and their steps) finished before the cutoff, then the oldest past `maxRows`; at most `limit` each. */
  pruneRunRecords(options: { finishedBefore: number; maxRows: number; limit: number }): Promise<number>;
  /** Deletes delivered or given-up outbox entries created before the cutoff, at most `limit`. */
  pruneFinishedOutbox(before: number, limit: number): Promise<number>;
  /** The media hashes (`media/<sha256>`) the transcripts still refer to. */
  mediaReferences(): Promise<Set<string>>;
  /**
   * Gives free space back to the file system when at least `minFreeRatio` of the database is free
   * pages and at least `minFreeBytes` (SQLite: `VACUUM`); null when not worth it. Stores that
   * reclaim space themselves (PostgreSQL's autovacuum) leave it out.
   */
  reclaimSpace?(options: { minFreeRatio: number; minFreeBytes: number }): Promise<ReclaimedSpace | null>;

  /**
   * The import ledger: what an item of another gateway's state (`source` such as `openclaw`,
   * `sourceId` such as `session:<agentId>:<key>`) was imported as, or null when it never was.
   */
  findImported(source: string, sourceId: string): Promise<string | null>;
  /** Records imported items, so a later import of the same source skips them (an id recorded twice keeps its first target). */
  recordImported(source: string, items: { sourceId: string; target: string }[], now: number): Promise<void>;
  /** Adds or replaces a cron job (definition and state). */
  putCronJob(job: CronJob): Promise<void>;
  getCronJob(id: string): Promise<CronJob | null>;
  /** Every job, oldest first. */
  listCronJobs(): Promise<CronJob[]>;
  /** Removes a job; its ledger entries stay for the audit. */
  deleteCronJob(id: string): Promise<boolean>;
  /**
   * Adds or updates a ledger entry (by id) and, when given, the job's new state in the same
   * transaction, so the ledger and the job never disagree after a crash.
   */
  putCronRun(run: CronRunRecord, job?: CronJob): Promise<void>;
  /** Ledger entries, newest first. */
  listCronRuns(options: { jobId?: string; status?: CronRunStatus; since?: number; limit: number }): Promise<CronRunRecord[]>;
  /**
   * Per job, the ledger since a time: how many occurrences ended in each status (a `missed` or
   * `skipped` entry counts all it covers) and how late scheduled runs started (average, max).
   */
  cronRunStats(since: number): Promise<CronRunStats[]>;
  /**
   * Forgets finished ledger entries created before the cutoff, then, with `maxRows`, the oldest
   * finished ones while the ledger holds more than that; entries still scheduled or running are
   * never removed (and still count). Returns how many were removed.
   */
  pruneCronRuns(olderThan: number, maxRows?: number): Promise<number>;

  /**
   * Records an operator alert once per dedupe key (a repeat returns the first with `created:
   * false`) and, with `message`, queues it for a channel in the same transaction.
   */
  raiseAlert(input: OperatorAlertInput, message?: EnqueueOutboxInput): Promise<{ alert: OperatorAlert; created: boolean; outbox: OutboxEntry | null }>;
  /** Alerts whose webhook has not answered yet and are due by `now`, oldest first. */
  pendingAlerts(now: number, limit: number): Promise<OperatorAlert[]>;
  /** With `retryAt` the alert stays pending until then; with null it is given up. */
  recordAlertDelivery(id: number, outcome: { delivered: boolean; error?: string; now: number; retryAt: number | null }): Promise<void>;
  /** Newest first. */
  listAlerts(limit: number): Promise<OperatorAlert[]>;
  /** Deletes alerts raised before the cutoff whose delivery is over (delivered, given up or only logged), at most `limit`; pending ones stay. */
  pruneAlerts(before: number, limit: number): Promise<number>;

  /** Tokens and cost spent on `day` by each of the scopes (scopes with no spend are left out). */
  readSpend(day: string, scopes: readonly string[]): Promise<SpendRecord[]>;

  /**
   * Tokens and cost of the runs that finished in `[since, until)` and recorded usage, summed per
   * local calendar day (the gateway's time zone, as budgets count), per agent and per model ref
   * (`null` for runs without one). Each list is sorted by its key; days with no usage are left out.
   */
  usageSummary(options: { since: number; until: number }): Promise<UsageSummary>;
}

/** One group of `Store.usageSummary`. */
export interface UsageTotals {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  runs: number;
}

/** What `Store.usageSummary` answers. */
export interface UsageSummary {
  days: Array<UsageTotals & { day: string }>;
  agents: Array<UsageTotals & { agentId: string }>;
  models: Array<UsageTotals & { model: string | null }>;
}

/** How a turn runs differently from its agent's defaults; kept with the run so a re-run after a crash is the same. */
export interface TurnOptions {
  /** A model ref used instead of the agent's (a cheaper heartbeat model, a cron job's model). */
  model?: string;
  /** Tools that change anything (write, edit, exec…) are not offered to the model. */
  readOnly?: boolean;
  /** The run this one replays (`hearth runs replay`). */
  replayOf?: string;
  /** Budget scopes the turn counts against besides its agent's (`cron:<jobId>`). */
  budgetScopes?: string[];
  /**
   * Why the turn's input is not the owner's (a group chat message, a sender not named in
   * `allowFrom`): what the run writes to memory is marked `untrusted`. Absent: the owner's.
   */
  untrustedInput?: string;
  /** How the turn runs: one conversational loop (default) or a checkpointed plan (`structured`); absent: the agent's `loop`. */
  loop?: 'conversational' | 'structured';
  /** The stopped structured run this one continues from its first unfinished step (`hearth runs resume`). */
  resumeOf?: string;
  /** The ids of the turn's root span when it is traced (`tracing`; docs/agents.md, Traces). */
  trace?: { traceId: string; spanId: string };
}

export type RunStatus = 'queued' | 'running' | 'ok' | 'error' | 'aborted';

export interface AcceptTurnInput {
  runId: string;
  sessionKey: string;
  agentId: string;
  source: TurnSource;
  text: string;
  /** Stateless turns (OpenAI API without `user`) carry their whole context; no transcript. */
  context?: StatelessContext;
  /** Where the reply goes: a channel name and target. Null when the caller collects it itself. */
  replyTo?: { channel: string; target: string } | null;
  idempotency?: { scope: string; key: string };
  options?: TurnOptions;
  now: number;
}

/** The whole context of a stateless turn: the caller's messages and extra system instructions. */
export interface StatelessContext {
  system?: string;
  messages: ChatMessage[];
}

export interface AcceptedTurn {
  runId: string;
  sessionKey: string;
  duplicate: boolean;
  status: RunStatus;
}

export interface InboxEntry {
  runId: string;
  sessionKey: string;
  agentId: string;
  source: TurnSource;
  text: string;
  context: StatelessContext | null;
  replyTo: { channel: string; target: string } | null;
  options: TurnOptions | null;
  status: 'pending' | 'done';
  attempts: number;
  createdAt: number;
}

export interface StartedTurn extends InboxEntry {
  /** The transcript before this turn's user message (newest last), at most `historyLimit` items. */
  history: TranscriptEntry[];
}

export interface RunStepInput {
  /** A model call, a tool call, or the session's older history being summarised (compaction). */
  kind: 'model' | 'tool' | 'compaction';
  name: string;
  input?: unknown;
  output?: unknown;
  error?: string;
  startedAt: number;
  durationMs: number;
  usage?: Usage;
}

export interface RunStep extends RunStepInput {
  seq: number;
}

export interface TurnResult {
  status: 'ok' | 'error' | 'aborted';
  /** Messages this turn adds to the transcript after the user's message. */
  messages: ChatMessage[];
  reply: string;
  modelRef?: string;
  usage?: Usage;
  toolCalls: ToolCallRecord[];
  error?: { code: string; message: string };
  /** Where to deliver the reply; null when nobody is to be sent anything. */
  deliverTo: { channel: string; target: string } | null;
  /** Run steps not recorded yet (the final model call), written in the same transaction. */
  steps?: RunStepInput[];
  /** What the turn cost, from the price table (null when its model has no price). */
  costUsd?: number | null;
  /** Adds the turn's tokens and cost to these scopes' spend on `day`, in the same transaction. */
  spend?: { day: string; scopes: string[] };
  now: number;
}

export interface OutboxEntry {
  id: number;
  runId: string;
  sessionKey: string;
  /** The account that sends it, `<platform>:<accountId>`. */
  channel: string;
  /** The adapter's target, JSON of a ChannelTarget. */
  target: string;
  text: string;
  attempts: number;
  /** Pieces of a split message already delivered; a resend starts after them. */
  chunksSent: number;
  /** Not before this time (after a failure); null when due now. */
  nextAttemptAt: number | null;
  lastError: string | null;
  createdAt: number;
}

export interface EnqueueOutboxInput {
  channel: string;
  target: string;
  text: string;
  sessionKey: string;
  /** A run id when the message belongs to a run; otherwise a fresh id naming its origin. */
  runId: string;
  now: number;
}

export interface PairingRequestInput {
  channel: string;
  accountId: string;
  senderId: string;
  senderName: string | null;
  chatId: string;
  /** The code to use if a new request is made. */
  code: string;
  now: number;
  ttlMs: number;
  maxPending: number;
}

export interface PairingRequest {
  code: string;
  channel: string;
  accountId: string;
  senderId: string;
  senderName: string | null;
  chatId: string;
  createdAt: number;
  expiresAt: number;
}

/** Someone the owner let in through pairing. */
export interface ApprovedSender {
  channel: string;
  accountId: string;
  senderId: string;
  senderName: string | null;
  approvedAt: number;
}

export type PairingOutcome =
  | { status: 'created' | 'pending'; request: PairingRequest }
  | { status: 'full' }
  | { status: 'approved' };

/** What a run asks the operator: the request's own fields, and how long it may wait. */
export type ApprovalRequestInput = Pick<ExecApproval, 'id' | 'runId' | 'sessionKey' | 'agentId' | 'tool' | 'command' | 'cwd' | 'canAlways' | 'replyTo'> & {
  now: number;
  ttlMs: number;
};

export interface ApprovalDecisionInput {
  status: 'approved' | 'denied' | 'expired';
  /** Approved for good: the command's words are added to the agent's allowed commands in the same commit. */
  always?: boolean;
  /** Who decided (`cli`, `webchat`, `telegram:default:1234`, `expiry`). */
  by: string;
  now: number;
}

/** A command waiting for (or given) the operator's decision (docs/tools.md, "Approvals"). */
export interface ExecApproval {
  id: string;
  runId: string;
  sessionKey: string;
  agentId: string;
  tool: string;
  command: string;
  /** The folder it runs in, as the agent gave it. */
  cwd: string;
  /** Whether "allow always" may be offered (the command is plain words under an allowlist). */
  canAlways: boolean;
  /** Where the turn's reply goes, so the question is asked in the same conversation. */
  replyTo: { channel: string; target: string } | null;
  status: 'pending' | 'approved' | 'denied' | 'expired';
  always: boolean;
  decidedBy: string | null;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
}

/** A transcript line. `error` lines are shown to people but never sent to a model. */
export interface TranscriptEntry {
  id: number;
  runId: string | null;
  createdAt: number;
  message: ChatMessage | { role: 'error'; content: string; code: string } | CompactionMessage;
}

/**
 * Where a session's older history was summarised: from here on the model sees `content` (the
 * summary) instead of the lines before `firstKeptId`. Those lines stay in the transcript.
 */
export interface CompactionMessage {
  role: 'compaction';
  /** The summary of the lines before `firstKeptId` (and of the compaction before them). */
  content: string;
  /** The first transcript line still given to the model as it is. */
  firstKeptId: number;
  /** Lines the summary replaced (since the previous compaction). */
  compactedLines: number;
  /** Estimated tokens of the history before and after (summary plus kept lines). */
  tokensBefore: number;
  tokensAfter: number;
  /** Why: the history neared the context budget, the provider refused it as too long, or someone asked. */
  reason: CompactionReason;
  /** What the summary was asked to keep (`/compact <focus>`). */
  focus?: string;
}

export type CompactionReason = 'threshold' | 'overflow' | 'manual';

/** A compaction to append to a session's transcript (see CompactionMessage). */
export interface CompactionInput extends Omit<CompactionMessage, 'role'> {
  /** The transcript (generation) the summarised lines belong to: nothing is written when the session was reset since. */
  generation: number;
  runId: string | null;
  now: number;
}

/** The part of a session's transcript its model context is built from: the last compaction and the lines after it. */
export interface ActiveTranscript {
  generation: number;
  compaction: (TranscriptEntry & { message: CompactionMessage }) | null;
  /** Lines from the compaction's `firstKeptId` on (all lines without one), oldest first, compactions left out. */
  entries: TranscriptEntry[];
  /** Lines left out because there were more than `maxEntries`. */
  omitted: number;
}

export interface SessionSummary {
  sessionKey: string;
  agentId: string;
  createdAt: number;
  updatedAt: number;
  messageCount: number;
  lastMessage: string | null;
}

export interface RunRecord {
  runId: string;
  sessionKey: string;
  agentId: string;
  source: TurnSource;
  status: RunStatus;
  modelRef: string | null;
  reply: string | null;
  toolCalls: ToolCallRecord[];
  usage: Usage | null;
  costUsd: number | null;
  options: TurnOptions | null;
  /** Where the run's reply goes (a channel account and its target), or null. */
  replyTo: { channel: string; target: string } | null;
  /** The user's message (or the scheduled job's) that started the run. */
  text: string;
  /** A stateless run's whole context; null for a run in a session. */
  context: StatelessContext | null;
  error: { code: string; message: string } | null;
  attempts: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** A session retention may archive: no turn since `updatedAt`. */
export interface IdleSession {
  key: string;
  agentId: string;
  updatedAt: number;
}

/** A transcript line as an archive keeps it. */
export interface ArchivedLine {
  id: number;
  generation: number;
  runId: string | null;
  role: string;
  body: string;
  createdAt: number;
}
