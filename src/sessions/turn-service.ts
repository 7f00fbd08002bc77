import { randomUUID } from 'node:crypto';
import type { AgentDirectory } from '../agent/agent-directory.js';
import { baseSystemPrompt } from '../agent/agent-directory.js';
import type { AgentLoop } from '../agent/agent-loop.js';
import { CHARS_PER_TOKEN, estimateStoredTokens, fitPacked, historyTokenBudget } from '../agent/token-budget.js';
import { compactionSettings } from '../agent/agent-directory.js';
import { joinPacked, type PackedMessages, packMessages } from '../contracts/packed-messages.js';
import { agentIdOfSessionKey } from '../routing/session-keys.js';
import { type CompactionOutcome, MAX_FOCUS_CHARS, type SessionCompactor } from './compaction.js';
import type { WorkspaceContext } from '../agent/workspace-context.js';
import { HearthError, toHearthError } from '../contracts/errors.js';
import type { ChatMessage, ToolCallRecord, Usage } from '../contracts/messages.js';
import type { AcceptedTurn, AcceptTurnInput, InboxEntry, OutboxEntry, RunStepInput, StartedTurn, Store } from '../contracts/store.js';
import type { AgentProfile } from '../agent/agent-loop.js';
import type { StructuredLoop } from '../agent/structured/structured-loop.js';
import { type CachedHistory, createHistoryCache, type HistoryCache } from './history-cache.js';
import type { SessionLanes } from './session-lanes.js';
import type { Budgets } from '../automation/budgets.js';
import { NO_TRACING, type Tracer, type TurnTrace } from '../contracts/tracing.js';

/**
 * What a caller asks for: a message into a session (or a stateless request with its context).
 * `runId` may be chosen by the caller, so it can listen for the run's events before submitting.
 */
export type TurnRequest = Omit<AcceptTurnInput, 'runId' | 'now'> & { runId?: string };

/** How a turn ended, as waiting callers (the HTTP API) see it. */
export interface TurnOutcome {
  runId: string;
  sessionKey: string;
  status: 'ok' | 'error' | 'aborted';
  reply: string;
  toolCalls: ToolCallRecord[];
  usage: Usage | null;
  modelRef: string | null;
  /** What the turn cost from `models.pricing`; null when its model has no price. */
  costUsd: number | null;
  error: { code: string; message: string } | null;
}

/** Where a channel turn's reply goes (`channel` is `<platform>:<accountId>`). */
export type ReplyTarget = { channel: string; target: string };

export type TurnEvent =
  | { type: 'started'; runId: string; sessionKey: string; replyTo: ReplyTarget | null }
  | { type: 'delta'; runId: string; sessionKey: string; text: string }
  /** `outbox` is the reply queued for delivery to `replyTo`, already committed. */
  | { type: 'final'; runId: string; sessionKey: string; outcome: TurnOutcome; outbox: OutboxEntry | null };

export type TurnListener = (event: TurnEvent) => void;

export interface TurnServiceDeps {
  store: Store;
  lanes: SessionLanes;
  runTurn: AgentLoop;
  /** Runs turns whose loop is `structured` (the run's option, else the agent's); without it every turn is conversational. */
  runStructuredTurn?: StructuredLoop;
  workspaceContext: WorkspaceContext;
  /** Plugins' message_sending hooks: the reply as they rewrite it. */
  messageSending?: (payload: { channel: string; sessionKey: string; text: string }) => Promise<string>;
  /** The skills the agent can load, for its system prompt (empty when none). */
  skillsPrompt?: (profile: AgentProfile) => Promise<string>;
  agents: () => AgentDirectory;
  maxTurnAttempts: () => number;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  now?: () => number;
  newRunId?: () => string;
  /** At most this many transcript lines are read before fitting them to the token budget. */
  historyLimit?: number;
  /** Bytes (estimated) of recent history kept in memory for busy sessions; 0 keeps none. */
  historyCacheBytes?: number;
  /** Daily budgets: checked before a turn calls a model, charged when it finishes. */
  budgets?: Pick<Budgets, 'blocked' | 'afterTurn' | 'costOf' | 'day'>;
  /** Names of the tools that change something, hidden from read-only turns (replays). */
  sideEffectTools?: () => string[];
  /** Called when a session is reset (its background processes end with it). */
  onSessionReset?: (sessionKey: string) => void;
  /** Summarises long sessions' older turns; without it, the oldest turns that do not fit are left out. */
  compactor?: SessionCompactor;
  /** Where each turn's trace goes (docs/agents.md, Traces); without it, turns are not traced. */
  tracer?: Tracer;
  /**
   * Cluster mode: a lane's turns run here only once this node holds the lane (a session, or a
   * stateless run); a turn whose lane another node holds is left in the store for that node.
   */
  ownership?: LaneOwnership;
}

/** Which lanes this node may run (cluster mode; see cluster/session-ownership.ts). */
export interface LaneOwnership {
  claim(lane: string): Promise<boolean>;
  release(lane: string): void;
  /** Asks the other nodes to stop a run that is not running here. */
  abortElsewhere?(runId: string): void;
  /** A turn was accepted here for a lane another node holds: tell that node to take it up now. */
  tellHolder?(lane: string): void;
  /** The lanes other live nodes hold now (one read, so a sweep does not try for each). */
  heldElsewhere?(): Promise<Set<string>>;
}

/** A reply of exactly this is the agent saying there is nothing to tell: it is kept, not delivered. */
const SILENT_REPLY = /^\s*NO_REPLY\s*$/u;

interface ActiveRun {
  controller: AbortController;
  sessionKey: string;
  /** Set when the gateway stops the turn to shut down: the turn is requeued, not finished. */
  checkpoint: boolean;
}

/** Everything one turn service owns; the functions below take it as their first argument. */
interface TurnServiceState {
  deps: TurnServiceDeps;
  now: () => number;
  newRunId: () => string;
  historyLimit: number;
  history: HistoryCache;
  /** Where turns' histories came from since the start: the cache, or a store read. */
  historyReads: { memory: number; store: number };
  /** Drops quiet sessions' history every HISTORY_SWEEP_MS; stopped by `drain`. */
  historySweep: NodeJS.Timeout;
  listeners: Set<TurnListener>;
  /** Listeners of this node's own turns only (metrics, the idle compactor): not told of relayed ones. */
  localListeners: Set<TurnListener>;
  active: Map<string, ActiveRun>;
  /** Runs queued or running on this node's lanes, by run id, with their lane. */
  scheduled: Map<string, string>;
  /** How many of this node's scheduled runs each lane has; a lane leaves when it has none. */
  laneRuns: Map<string, number>;
  waiters: Map<string, Set<(outcome: TurnOutcome) => void>>;
  accepting: boolean;
  stopping: boolean;
}

/** One started turn on its way to its result. */
interface TurnInProgress {
  runId: string;
  sessionKey: string;
  started: StartedTurn;
  /** Budget scopes charged for the turn. */
  scopes: string[];
  /** Steps written with the turn's result instead of on their own. */
  pendingSteps: RunStepInput[];
  trace: TurnTrace;
}

type TurnResultFields = Omit<TurnOutcome, 'runId' | 'sessionKey' | 'costUsd'>;

export interface HistoryCacheStats {
  sessions: number;
  bytes: number;
  maxBytes: number;
  reads: { memory: number; store: number };
}

/**
 * Default bound of the history kept in memory, whatever the number of sessions: about 1,300 busy
 * sessions' windows of 400 short lines, or a few dozen full 128k-token windows. Histories are kept
 * packed, their long texts in the cache's arena outside the V8 heap (see TextArena), so what they
 * cost is their bytes: with every session of the 1,000-session bench kept (about 26 MB), its peak
 * RSS stays near 125 MB (bench/sessions.ts). Sessions quiet for 20 s leave the cache, and the idle
 * compactor empties it (giving the arena's memory back) once the whole gateway has been quiet for
 * a few seconds, so memory goes back down after a burst. The gateway takes its bound from
 * `session.historyCacheMb`, whose default is this.
 */
const DEFAULT_HISTORY_CACHE_BYTES = 32 * 1024 * 1024;
const HISTORY_SWEEP_MS = 5000;

/**
 * Owns the life of a turn: persisted in the inbox on accept, run on its session's lane, recorded
 * step by step, finished in one transaction with its reply in the outbox, then delivered. On
 * start, `recover()` re-runs what a crash interrupted; the outbox dispatcher re-delivers replies.
 */
export function createTurnService(deps: TurnServiceDeps) {
  const history = createHistoryCache({ maxBytes: deps.historyCacheBytes ?? DEFAULT_HISTORY_CACHE_BYTES });
  const state: TurnServiceState = {
    deps,
    now: deps.now ?? Date.now,
    newRunId: deps.newRunId ?? (() => `run_${randomUUID()}`),
    historyLimit: deps.historyLimit ?? 400,
    history,
    historyReads: { memory: 0, store: 0 },
    historySweep: setInterval(() => history.sweep(), HISTORY_SWEEP_MS).unref(),
    listeners: new Set(),
    localListeners: new Set(),
    active: new Map(),
    scheduled: new Map(),
    laneRuns: new Map(),
    waiters: new Map(),
    accepting: true,
    stopping: false,
  };
  return {
    /** Persists the request, then queues it. Resolves once it is safe to acknowledge the sender. */
    submit: (request: TurnRequest): Promise<AcceptedTurn> => submitTurn(state, request),

    /**
     * Resolves when a run this caller is about to submit (with its own `runId`) finishes. Register
     * before submitting; no store read is needed.
     */
    awaitRun: (runId: string): Promise<TurnOutcome> => addWaiter(state, runId),

    /** Drops the waiters of a run that was never started (its submit failed or was a duplicate). */
    forgetRun(runId: string): void {
      state.waiters.delete(runId);
    },

    /** Resolves when the run finishes (at once if it already has). */
    waitFor: (runId: string): Promise<TurnOutcome> => waitForRun(state, runId),

    /** Stops a running turn; returns false when the run is not running here (in a cluster, the node running it is asked to stop it). */
    abort(runId: string, options: { here?: boolean } = {}): boolean {
      const run = state.active.get(runId);
      if (!run) {
        if (!options.here) deps.ownership?.abortElsewhere?.(runId);
        return false;
      }
      run.controller.abort();
      return true;
    },

    /** `localOnly`: only this node's own turns, not those relayed from other nodes. */
    subscribe(listener: TurnListener, options: { localOnly?: boolean } = {}): () => void {
      const set = options.localOnly ? state.localListeners : state.listeners;
      set.add(listener);
      return () => set.delete(listener);
    },

    /**
     * An event of a turn running on another node (cluster mode): told to this node's listeners
     * (WebSocket clients, channel delivery) and, when final, to whoever waits for the run here.
     */
    relay(event: TurnEvent): void {
      emitTo(state, state.listeners, event);
      if (event.type === 'final') settle(state, event.outcome);
    },

    /**
     * Re-queues turns a crash interrupted (undelivered replies are the outbox dispatcher's). In
     * cluster mode, also how this node takes the turns of lanes no live node holds.
     */
    recover: (): Promise<{ requeued: number }> => recoverTurns(state),

    /** Whether the run is queued or running on this node. */
    isScheduledHere: (runId: string): boolean => state.scheduled.has(runId),

    /**
     * Cluster mode: answers the waiters of runs another node ran whose end this node was not told
     * of (its event bus was reconnecting), from the store.
     */
    settleFinishedElsewhere: (): Promise<void> => settleFromStore(state),

    /**
     * Summarises the session's older turns now (on its lane, after the turns queued before),
     * keeping what `focus` names. Throws a HearthError when the summary cannot be written.
     */
    compactSession: (sessionKey: string, options: { focus?: string } = {}): Promise<CompactionOutcome> => compactOnLane(state, sessionKey, options.focus),

    /** Starts the session afresh; the old transcript stays on disk. */
    async resetSession(sessionKey: string): Promise<boolean> {
      state.history.delete(sessionKey);
      deps.onSessionReset?.(sessionKey);
      return deps.store.resetSession(sessionKey, state.now());
    },

    activeRuns(): { runId: string; sessionKey: string }[] {
      return [...state.active.entries()].map(([runId, run]) => ({ runId, sessionKey: run.sessionKey }));
    },

    /**
     * Stops taking new turns, lets running ones finish for up to `timeoutMs`, then checkpoints
     * the rest (they run again at the next start). Queued turns stay in the inbox.
     */
    drain: (timeoutMs: number): Promise<{ checkpointed: number }> => drainTurns(state, timeoutMs),

    /** Sessions and estimated bytes of history held in memory, and where turns' histories came from. */
    historyCacheStats: (): HistoryCacheStats => ({ ...state.history.stats(), reads: { ...state.historyReads } }),
    /** Forgets every kept history (the next turn of each session reads its own from the store). */
    releaseHistory: () => state.history.clear(),
  };
}

export type TurnService = ReturnType<typeof createTurnService>;

// ------------------------------------------------------------------ accepting and waiting

async function submitTurn(state: TurnServiceState, request: TurnRequest): Promise<AcceptedTurn> {
  if (!state.accepting) throw new HearthError('SHUTTING_DOWN', 'The gateway is shutting down and takes no new messages. Send again once it is back.', { retryable: true });
  const runId = request.runId ?? state.newRunId();
  const acceptedAt = state.now();
  const trace = (state.deps.tracer ?? NO_TRACING).startTurn({ runId, sessionKey: request.sessionKey, agentId: request.agentId, channel: request.replyTo?.channel ?? request.source, startedAt: acceptedAt });
  const options = trace.context ? { ...request.options, trace: trace.context } : request.options;
  const queued: QueuedTrace = { trace, queuedAt: acceptedAt };
  const acceptance = state.deps.store.acceptTurn({
    runId,
    sessionKey: request.sessionKey,
    agentId: request.agentId,
    source: request.source,
    text: request.text,
    ...(request.context ? { context: request.context } : {}),
    replyTo: request.replyTo ?? null,
    ...(request.idempotency ? { idempotency: request.idempotency } : {}),
    ...(options ? { options } : {}),
    now: acceptedAt,
  });
  const provider = providerOf(state, request.agentId, request.options?.model);
  if (state.deps.ownership) {
    // Cluster mode: the turn runs here only if this node holds (or now takes) its lane; else the holder runs it.
    const accepted = await acceptance;
    const stateless = request.context !== undefined;
    if (!(await claimAndSchedule(state, runId, request.sessionKey, stateless, provider, queued))) state.deps.ownership.tellHolder?.(laneOf(runId, request.sessionKey, stateless));
    return accepted;
  }
  // Scheduled before the accept is committed: when the session's lane is free, the turn's
  // start is written in the same commit. A start cannot overtake its accept (writes run in
  // order), and a duplicate or failed accept leaves nothing to start, so the start is a no-op.
  scheduleTurn(state, runId, request.sessionKey, request.context !== undefined, provider, queued);
  return acceptance;
}

const laneOf = (runId: string, sessionKey: string, stateless: boolean) => (stateless ? `stateless:${runId}` : sessionKey);

/**
 * Cluster mode: schedules the run when this node holds its lane or takes it now; false when another
 * node holds it. A run not scheduled here drops its trace (the node that runs it starts its own).
 */
async function claimAndSchedule(state: TurnServiceState, runId: string, sessionKey: string, stateless: boolean, provider: string | undefined, queued: QueuedTrace): Promise<boolean> {
  if (state.scheduled.has(runId)) {
    queued.trace.discard();
    return true;
  }
  const lane = laneOf(runId, sessionKey, stateless);
  const claimed = await (state.deps.ownership?.claim(lane) ?? Promise.resolve(true)).catch((error: unknown) => {
    state.deps.logger.warn({ runId, err: error }, 'could not take the session\'s lane; the turn stays queued for the next try');
    return false;
  });
  if (!claimed || state.scheduled.has(runId) || state.stopping) {
    queued.trace.discard();
    return claimed;
  }
  scheduleTurn(state, runId, sessionKey, stateless, provider, queued);
  return true;
}

/** The provider of the turn's first model: the lanes give each provider a share of the slots. */
function providerOf(state: TurnServiceState, agentId: string, model?: string): string | undefined {
  return (model ?? state.deps.agents().get(agentId)?.modelRefs[0])?.split('/')[0];
}

/** A queued turn's trace, and when it was queued (its lane wait starts there). */
interface QueuedTrace {
  trace: TurnTrace;
  queuedAt: number;
}

function scheduleTurn(state: TurnServiceState, runId: string, sessionKey: string, stateless: boolean, provider: string | undefined, queued: QueuedTrace): void {
  // Stateless requests share no transcript, so they get a lane of their own.
  const lane = laneOf(runId, sessionKey, stateless);
  state.scheduled.set(runId, lane);
  state.laneRuns.set(lane, (state.laneRuns.get(lane) ?? 0) + 1);
  void state.deps.lanes
    .run(lane, () => executeTurn(state, runId, sessionKey, queued), { provider })
    .catch((error) => {
      state.deps.logger.error({ runId, err: error }, 'turn scheduling failed');
    })
    .finally(() => unschedule(state, runId, lane));
}

/** The run left this node's lane; a lane with no run left here is let go (cluster mode). */
function unschedule(state: TurnServiceState, runId: string, lane: string): void {
  state.scheduled.delete(runId);
  const left = (state.laneRuns.get(lane) ?? 1) - 1;
  if (left > 0) {
    state.laneRuns.set(lane, left);
    return;
  }
  state.laneRuns.delete(lane);
  state.deps.ownership?.release(lane);
}

function addWaiter(state: TurnServiceState, runId: string): Promise<TurnOutcome> {
  return new Promise((resolve) => {
    let pending = state.waiters.get(runId);
    if (!pending) {
      pending = new Set();
      state.waiters.set(runId, pending);
    }
    pending.add(resolve);
  });
}

function settle(state: TurnServiceState, outcome: TurnOutcome): void {
  const pending = state.waiters.get(outcome.runId);
  if (!pending) return;
  state.waiters.delete(outcome.runId);
  for (const resolve of pending) resolve(outcome);
}

function emit(state: TurnServiceState, event: TurnEvent): void {
  emitTo(state, state.localListeners, event);
  emitTo(state, state.listeners, event);
}

function emitTo(state: TurnServiceState, listeners: Set<TurnListener>, event: TurnEvent): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (error) {
      state.deps.logger.error({ err: error }, 'a turn event listener failed');
    }
  }
}

async function waitForRun(state: TurnServiceState, runId: string): Promise<TurnOutcome> {
  const record = await state.deps.store.getRun(runId);
  if (!record) throw new HearthError('NOT_FOUND', `No run ${runId}.`);
  if (record.status === 'ok' || record.status === 'error' || record.status === 'aborted') {
    return {
      runId,
      sessionKey: record.sessionKey,
      status: record.status,
      reply: record.reply ?? '',
      toolCalls: record.toolCalls,
      usage: record.usage,
      modelRef: record.modelRef,
      costUsd: record.costUsd,
      error: record.error,
    };
  }
  return addWaiter(state, runId);
}

async function settleFromStore(state: TurnServiceState): Promise<void> {
  for (const runId of [...state.waiters.keys()].slice(0, 1000)) {
    if (state.scheduled.has(runId)) continue;
    const record = await state.deps.store.getRun(runId);
    if (record && (record.status === 'ok' || record.status === 'error' || record.status === 'aborted')) settle(state, await waitForRun(state, runId));
  }
}

/** The trace of a turn run again (after a restart, or on another node): it joins the trace its first attempt began. */
function recoveredTrace(state: TurnServiceState, entry: InboxEntry): QueuedTrace {
  const queuedAt = state.now();
  const parent = entry.options?.trace;
  const trace = (state.deps.tracer ?? NO_TRACING).startTurn({ runId: entry.runId, sessionKey: entry.sessionKey, agentId: entry.agentId, channel: entry.replyTo?.channel ?? entry.source, startedAt: queuedAt, ...(parent ? { parent } : {}) });
  return { trace, queuedAt };
}

async function recoverTurns(state: TurnServiceState): Promise<{ requeued: number }> {
  if (state.stopping) return { requeued: 0 };
  const elsewhere = (await state.deps.ownership?.heldElsewhere?.()) ?? new Set<string>();
  const unfinished = (await state.deps.store.unfinishedTurns()).filter((entry) => !state.scheduled.has(entry.runId) && !elsewhere.has(laneOf(entry.runId, entry.sessionKey, entry.context !== null)));
  let requeued = 0;
  for (const entry of unfinished) {
    const stateless = entry.context !== null;
    const provider = providerOf(state, entry.agentId, entry.options?.model);
    const queued = recoveredTrace(state, entry);
    if (state.deps.ownership) {
      if (!(await claimAndSchedule(state, entry.runId, entry.sessionKey, stateless, provider, queued))) continue;
    } else scheduleTurn(state, entry.runId, entry.sessionKey, stateless, provider, queued);
    requeued++;
    const why = state.deps.ownership ? 'turn taken up: left unfinished by a stopped node, or queued for a session this node holds' : 'turn recovered after the gateway stopped mid-turn; running it again';
    state.deps.logger.info({ runId: entry.runId, sessionKey: entry.sessionKey, resumed: stateless }, why);
  }
  if (requeued > 0) state.deps.logger.info({ requeued }, 'recovered turns left unfinished by the last run');
  return { requeued };
}

async function drainTurns(state: TurnServiceState, timeoutMs: number): Promise<{ checkpointed: number }> {
  state.accepting = false;
  state.stopping = true;
  const finished = await state.deps.lanes.idle(timeoutMs);
  let checkpointed = 0;
  if (!finished) {
    for (const run of state.active.values()) {
      run.checkpoint = true;
      run.controller.abort();
      checkpointed++;
    }
    await state.deps.lanes.idle(5000);
  }
  for (const pending of state.waiters.values()) pending.clear();
  state.waiters.clear();
  clearInterval(state.historySweep);
  state.history.clear();
  return { checkpointed };
}

// ------------------------------------------------------------------ running a turn

/** Runs one queued turn on its lane: start, checks, the agent loop, then the result. */
async function executeTurn(state: TurnServiceState, runId: string, laneSessionKey: string, { trace, queuedAt }: QueuedTrace): Promise<void> {
  try {
    await startAndRunTurn(state, runId, laneSessionKey, trace, queuedAt);
  } finally {
    // Ended with the result when it was recorded; this only closes a trace the turn left open.
    trace.end({ status: 'error' });
  }
}

async function startAndRunTurn(state: TurnServiceState, runId: string, laneSessionKey: string, trace: TurnTrace, queuedAt: number): Promise<void> {
  if (state.stopping) return trace.discard();
  const started = await state.deps.store.startTurn(runId, { now: state.now(), historyLimit: 0 }).catch((error: unknown) => {
    startFailed(state, runId, laneSessionKey, error);
    return null;
  });
  if (!started) return trace.discard();
  trace.laneWait(queuedAt, state.now());
  const turn: TurnInProgress = {
    runId,
    sessionKey: started.sessionKey,
    started,
    scopes: [`agent:${started.agentId}`, ...(started.options?.budgetScopes ?? [])],
    pendingSteps: [],
    trace,
  };
  const agent = state.deps.agents().get(started.agentId);
  const refusal = await refusalOf(state, turn, agent);
  if (refusal) {
    await failTurn(state, turn, refusal.code, refusal.message);
    return;
  }
  await runAgentTurn(state, turn, turnProfile(state, turn.started, agent!));
}

/**
 * Cluster mode: a store error in a turn (the database restarting, connections dropped) leaves the
 * turn unfinished instead of failing it; a node takes it up again at a sweep once the store
 * answers, and whoever waits gets its reply then. Each try counts as an attempt, so a turn the
 * store keeps refusing still ends, visibly, after `maxTurnAttempts`.
 */
function storeWentAway(state: TurnServiceState, failure: HearthError): boolean {
  return state.deps.ownership !== undefined && failure.code === 'STORE_ERROR';
}

/** The store failed to start the turn (a damaged file, a full disk): answer whoever waits instead of leaving them hanging. */
function startFailed(state: TurnServiceState, runId: string, sessionKey: string, error: unknown): void {
  const failure = toHearthError(error, 'STORE_ERROR');
  if (storeWentAway(state, failure)) {
    state.deps.logger.warn({ runId, err: failure }, 'a turn could not start: the store failed; it is tried again once the store answers');
    return;
  }
  state.deps.logger.error({ runId, err: failure }, 'a turn could not start');
  answerUnrecorded(state, runId, sessionKey, failure);
}

/** Tells listeners and waiters how a turn failed when the store could not record it. */
function answerUnrecorded(state: TurnServiceState, runId: string, sessionKey: string, failure: HearthError): void {
  const outcome: TurnOutcome = { runId, sessionKey, status: 'error', reply: '', toolCalls: [], usage: null, modelRef: null, costUsd: null, error: { code: failure.code, message: failure.message } };
  emit(state, { type: 'final', runId, sessionKey, outcome, outbox: null });
  settle(state, outcome);
}

/** Why a started turn must not run (given up, agent gone, budget spent), or null. */
async function refusalOf(state: TurnServiceState, turn: TurnInProgress, agent: AgentProfile | undefined): Promise<{ code: string; message: string } | null> {
  const { attempts, agentId } = turn.started;
  if (attempts > state.deps.maxTurnAttempts()) {
    return {
      code: 'TURN_FAILED',
      message: `This message was interrupted ${attempts - 1} times (the gateway stopped while answering it) and was given up. Send it again to retry.`,
    };
  }
  if (!agent) return { code: 'NOT_FOUND', message: `The agent "${agentId}" is no longer configured. Add it back to agents.entries or use another agent.` };
  const blocked = state.deps.budgets ? await state.deps.budgets.blocked(turn.scopes) : null;
  return blocked ? { code: 'BUDGET_EXCEEDED', message: blocked } : null;
}

/** The agent as this turn runs it: a model override, and no side-effect tools when read-only. */
function turnProfile(state: TurnServiceState, started: StartedTurn, agent: AgentProfile): AgentProfile {
  const options = started.options ?? {};
  let profile = options.model ? { ...agent, modelRefs: [options.model] } : agent;
  if (options.readOnly) {
    const deny = [...(profile.toolPolicy.deny ?? []), ...(state.deps.sideEffectTools?.() ?? [])];
    profile = { ...profile, toolPolicy: { ...profile.toolPolicy, deny } };
  }
  return profile;
}

async function runAgentTurn(state: TurnServiceState, turn: TurnInProgress, configured: AgentProfile): Promise<void> {
  const { runId, sessionKey, started } = turn;
  const skills = (await state.deps.skillsPrompt?.(configured)) ?? '';
  // The skill tool is offered only to an agent that has a skill to load.
  const profile = skills === '' ? withoutSkillTool(configured) : configured;
  const run: ActiveRun = { controller: new AbortController(), sessionKey, checkpoint: false };
  state.active.set(runId, run);
  try {
    emit(state, { type: 'started', runId, sessionKey, replyTo: started.replyTo });
    const system = await systemPrompt(state, profile, started.context?.system, skills);
    const focus = started.context ? null : compactCommand(started.text);
    if (focus !== null) {
      await runCompactCommand(state, turn, profile, system, focus, run.controller.signal);
      return;
    }
    let history = started.context ? null : await sessionHistory(state, turn, profile);
    if (history?.crowded) history = (await compactForTurn(state, turn, profile, system, 'threshold', run.controller.signal)) ?? history;
    const messages: ChatMessage[] = started.context ? started.context.messages : [{ role: 'user', content: started.text }];
    const onContextOverflow = async (): Promise<PackedMessages | null> => {
      const fresh = await compactForTurn(state, turn, profile, system, 'overflow', run.controller.signal);
      if (fresh) history = fresh;
      return fresh?.window ?? null;
    };
    const runLoop = structuredLoopOf(state, started, profile) ?? state.deps.runTurn;
    const output = await runLoop({
      runId,
      sessionKey,
      agent: profile,
      system,
      ...(history ? { history: history.window, onContextOverflow } : {}),
      messages,
      ...untrustedOf(turn),
      signal: run.controller.signal,
      onDelta: (text) => emit(state, { type: 'delta', runId, sessionKey, text }),
      recordStep: (step) => recordStep(state, turn, step),
    });
    if (history) rememberExchange(state, turn, history, output.messages);
    if (run.checkpoint) {
      state.history.delete(sessionKey);
      await state.deps.store.requeueTurn(runId);
      turn.trace.end({ status: 'checkpointed' });
      state.deps.logger.info({ runId, sessionKey }, 'turn checkpointed for shutdown; it will run again at the next start');
      return;
    }
    const error = output.error ? { code: output.error.code, message: output.error.message } : null;
    const result = { status: output.status, reply: output.reply, toolCalls: output.toolCalls, usage: output.usage, modelRef: output.modelRef ?? null, error };
    await finishTurn(state, turn, result, output.messages);
  } catch (error) {
    const failure = toHearthError(error);
    if (storeWentAway(state, failure)) {
      state.deps.logger.warn({ runId, sessionKey, err: failure }, 'the store failed during the turn; it runs again once the store answers (counted as an attempt)');
      return;
    }
    state.deps.logger.error({ runId, sessionKey, err: failure }, 'turn failed unexpectedly');
    await failTurn(state, turn, failure.code, failure.message).catch((inner) => {
      state.deps.logger.error({ runId, err: inner }, 'could not record the failed turn');
      answerUnrecorded(state, runId, sessionKey, failure);
    });
  } finally {
    state.active.delete(runId);
  }
}

/** The structured loop when this turn runs as a plan (its option, else its agent's `loop`), or null. */
function structuredLoopOf(state: TurnServiceState, started: StartedTurn, profile: AgentProfile): AgentLoop | null {
  const run = state.deps.runStructuredTurn;
  if (!run || (started.options?.loop ?? profile.loop) !== 'structured') return null;
  const resumeOf = started.options?.resumeOf;
  return (input) => run(resumeOf ? { ...input, resumeOf } : input);
}

/** The turn's untrusted-input reason, as the agent loop and compaction's memory flush take it. */
function untrustedOf(turn: TurnInProgress): { untrustedInput?: string } {
  const reason = turn.started.options?.untrustedInput;
  return reason ? { untrustedInput: reason } : {};
}

function withoutSkillTool(profile: AgentProfile): AgentProfile {
  return { ...profile, toolPolicy: { ...profile.toolPolicy, withheld: { ...profile.toolPolicy.withheld, skill: 'skills (the agent has no usable skill)' } } };
}

/** Base prompt, the agent's own prompt, its workspace files, its skills and a stateless request's system text. */
async function systemPrompt(state: TurnServiceState, profile: AgentProfile, requestSystem: string | undefined, skills = ''): Promise<string> {
  const workspace = await state.deps.workspaceContext.load(profile.workspaceDir);
  return [baseSystemPrompt(profile), profile.systemPrompt, workspace, skills, requestSystem].filter((part) => part && part.length > 0).join('\n\n');
}

/**
 * A model call that asked for no tools is the turn's last step: it is written with the turn's
 * result. Steps before a tool runs are written at once.
 */
function recordStep(state: TurnServiceState, turn: TurnInProgress, step: RunStepInput): Promise<void> {
  turn.trace.step(step);
  const final = step.kind === 'model' && ((step.output as { toolCalls?: unknown[] } | undefined)?.toolCalls?.length ?? 0) === 0;
  if (final) {
    turn.pendingSteps.push(step);
    return Promise.resolve();
  }
  return state.deps.store.recordStep(turn.runId, step);
}

// ------------------------------------------------------------------ history

/** Segments an entry gathers (one a turn) before they are joined into one. */
const MAX_HISTORY_SEGMENTS = 32;

/** A turn's history: the cache entry it came from and the window fitted to the turn's budget. */
interface TurnHistory {
  entry: CachedHistory;
  window: PackedMessages;
  /** The history nears the budget, or lines were left out of the window: time to compact. */
  crowded: boolean;
}

/**
 * The session's history fitted to this turn's budget: from memory when the session's last turn
 * left it there, otherwise read from the store bounded by the same budget (never the whole tail).
 * The entry is cached before the turn runs, so a reset while it runs (which drops it) is seen.
 */
async function sessionHistory(state: TurnServiceState, turn: TurnInProgress, profile: AgentProfile): Promise<TurnHistory> {
  const budget = historyTokenBudget(profile);
  const cached = state.history.get(turn.sessionKey);
  if (cached && cached.budget === budget) {
    state.historyReads.memory += 1;
    const joined = joinPacked(cached.segments, cached.from);
    const window = fitPacked(joined, budget, state.historyLimit);
    return { entry: cached, window, crowded: isCrowded(state, profile, joined, window) };
  }
  state.historyReads.store += 1;
  const read = await state.deps.store.turnHistory(turn.runId, { maxEntries: state.historyLimit, maxChars: budget * CHARS_PER_TOKEN });
  const window = fitPacked(read, budget, state.historyLimit);
  const given: CachedHistory = { segments: [window], from: 0, budget };
  const entry = state.history.set(turn.sessionKey, given) ?? given;
  return { entry, window, crowded: isCrowded(state, profile, read, window) };
}

/**
 * Whether the session's history should be compacted before the turn: the window fills the
 * agent's trigger share of the budget, or lines had to be left out of it (too many tokens, or
 * as many lines as are ever read).
 */
function isCrowded(state: TurnServiceState, profile: AgentProfile, source: PackedMessages, window: PackedMessages): boolean {
  const settings = profile.compaction ?? compactionSettings({});
  if (!settings.enabled || !state.deps.compactor) return false;
  if (window.ends.length < source.ends.length || source.ends.length >= state.historyLimit) return true;
  // The window's JSON length stands for its messages' lengths (one separator each), so no walk over them.
  return estimateStoredTokens(window.json.length) >= (historyTokenBudget(profile) * settings.triggerPercent) / 100;
}

// ------------------------------------------------------------------ compaction

/** `/compact [focus]`: the focus (possibly empty), or null when the text is not the command. */
function compactCommand(text: string): string | null {
  const match = /^\/compact(?:\s+([\s\S]*))?$/u.exec(text.trim());
  return match ? (match[1] ?? '').trim().slice(0, MAX_FOCUS_CHARS) : null;
}

/**
 * Compacts the session inside a turn (nearing the budget, or after the provider refused the
 * context as too long) and reads its history again. A failure is recorded in the run and logged;
 * the turn then goes on with the window it had (null).
 */
async function compactForTurn(
  state: TurnServiceState,
  turn: TurnInProgress,
  profile: AgentProfile,
  system: string,
  reason: 'threshold' | 'overflow',
  signal: AbortSignal,
): Promise<TurnHistory | null> {
  const { compactor } = state.deps;
  if (!compactor || !(profile.compaction ?? compactionSettings({})).enabled) return null;
  const startedAt = state.now();
  try {
    const outcome = await compactor.compact({ sessionKey: turn.sessionKey, profile, reason, runId: turn.runId, ...untrustedOf(turn), system, signal, recordStep: (step) => recordStep(state, turn, step) });
    if (outcome.status === 'skipped') return null;
  } catch (error) {
    const failure = toHearthError(error, 'COMPACTION_FAILED');
    state.deps.logger.warn({ runId: turn.runId, sessionKey: turn.sessionKey, code: failure.code }, failure.message);
    await recordStep(state, turn, { kind: 'compaction', name: reason, error: `${failure.code}: ${failure.message}`, startedAt, durationMs: state.now() - startedAt });
    return null;
  }
  state.history.delete(turn.sessionKey);
  return sessionHistory(state, turn, profile);
}

/** Runs `/compact [focus]` as the turn: the reply says what was summarised, or why nothing was. */
async function runCompactCommand(state: TurnServiceState, turn: TurnInProgress, profile: AgentProfile, system: string, focus: string, signal: AbortSignal): Promise<void> {
  const { compactor } = state.deps;
  if (!compactor) {
    await failTurn(state, turn, 'COMPACTION_FAILED', 'This gateway cannot compact sessions.');
    return;
  }
  try {
    const outcome = await compactor.compact({ sessionKey: turn.sessionKey, profile, reason: 'manual', ...(focus ? { focus } : {}), runId: turn.runId, ...untrustedOf(turn), system, signal, recordStep: (step) => recordStep(state, turn, step) });
    state.history.delete(turn.sessionKey);
    await finishTurn(state, turn, { status: 'ok', reply: describeCompaction(outcome), toolCalls: [], usage: outcome.status === 'compacted' ? outcome.usage : null, modelRef: null, error: null }, []);
  } catch (error) {
    const failure = toHearthError(error, 'COMPACTION_FAILED');
    await failTurn(state, turn, failure.code, failure.message);
  }
}

/** What a compaction did, in a sentence for the chat. */
export function describeCompaction(outcome: CompactionOutcome): string {
  if (outcome.status === 'skipped') return `Nothing to compact: ${outcome.why}.`;
  const count = (n: number, what: string) => `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`;
  return (
    `Compacted ${count(outcome.compactedLines, 'earlier message')} into a summary (about ${count(outcome.tokensBefore, 'token')} of history → ${outcome.tokensAfter.toLocaleString('en-US')}); ` +
    `the newest ${count(outcome.keptLines, 'message')} stay as they are${outcome.flushed ? ', and notes worth keeping went to memory first' : ''}. The full history is kept (hearth sessions history).`
  );
}

/** `compactSession`: on the session's lane, with the agent the session belongs to. */
function compactOnLane(state: TurnServiceState, sessionKey: string, focus: string | undefined): Promise<CompactionOutcome> {
  const { compactor } = state.deps;
  const agentId = agentIdOfSessionKey(sessionKey);
  const profile = agentId ? state.deps.agents().get(agentId) : undefined;
  if (!compactor) return Promise.reject(new HearthError('COMPACTION_FAILED', 'This gateway cannot compact sessions.'));
  if (!profile) return Promise.reject(new HearthError('NOT_FOUND', `No configured agent owns the session ${sessionKey}.`));
  return state.deps.lanes.run(sessionKey, async () => {
    const system = await systemPrompt(state, profile, undefined);
    const outcome = await compactor.compact({ sessionKey, profile, reason: 'manual', ...(focus ? { focus: focus.slice(0, MAX_FOCUS_CHARS) } : {}), runId: null, system, signal: AbortSignal.timeout(profile.turnTimeoutMs) });
    state.history.delete(sessionKey);
    return outcome;
  });
}

/**
 * Adds the turn's exchange to the cached history, unless the entry was dropped meanwhile (reset,
 * eviction), and drops the messages that no longer fitted this turn's window.
 */
function rememberExchange(state: TurnServiceState, turn: TurnInProgress, used: TurnHistory, produced: ChatMessage[]): void {
  const { entry, window } = used;
  if (state.history.get(turn.sessionKey) !== entry) return;
  let kept = -entry.from;
  for (const segment of entry.segments) kept += segment.ends.length;
  let segments = [...entry.segments];
  let from = entry.from + kept - window.ends.length;
  while (segments.length > 0 && from >= segments[0]!.ends.length) from -= segments.shift()!.ends.length;
  segments.push(packMessages([{ role: 'user', content: turn.started.text }, ...produced]));
  if (segments.length > MAX_HISTORY_SEGMENTS) {
    segments = [joinPacked(segments, from)];
    from = 0;
  }
  state.history.set(turn.sessionKey, { segments, from, budget: entry.budget });
}

// ------------------------------------------------------------------ finishing

function failTurn(state: TurnServiceState, turn: TurnInProgress, code: string, message: string): Promise<void> {
  state.history.delete(turn.sessionKey);
  return finishTurn(state, turn, { status: 'error', reply: '', toolCalls: [], usage: null, modelRef: null, error: { code, message } }, []);
}

/** The reply as the plugins' message_sending hooks leave it (before it is written, so what is sent is what is kept). */
async function rewrittenReply(state: TurnServiceState, turn: TurnInProgress, result: TurnResultFields): Promise<TurnResultFields> {
  const hook = state.deps.messageSending;
  if (!hook || result.reply === '') return result;
  const channel = turn.started.replyTo?.channel ?? turn.started.source;
  const reply = await hook({ channel, sessionKey: turn.sessionKey, text: result.reply }).catch((error: unknown) => {
    state.deps.logger.error({ runId: turn.runId, err: error }, 'the message_sending hooks failed; the reply goes out as written');
    return result.reply;
  });
  return reply === result.reply ? result : { ...result, reply };
}

/** Writes the result, the transcript lines and the outbox entry in one commit, then tells listeners and waiters. */
async function finishTurn(state: TurnServiceState, turn: TurnInProgress, given: TurnResultFields, messages: ChatMessage[]): Promise<void> {
  const { deps } = state;
  const { runId, sessionKey, scopes } = turn;
  const result = await rewrittenReply(state, turn, given);
  const at = state.now();
  const outcome: TurnOutcome = { runId, sessionKey, ...result, costUsd: deps.budgets?.costOf(result.modelRef, result.usage) ?? null };
  const deliverTo = outcome.status === 'ok' && SILENT_REPLY.test(outcome.reply) ? null : turn.started.replyTo;
  const { outboxId } = await deps.store.completeTurn(runId, {
    costUsd: outcome.costUsd,
    ...(deps.budgets ? { spend: { day: deps.budgets.day(at), scopes } } : {}),
    steps: turn.pendingSteps.splice(0),
    status: outcome.status,
    messages,
    reply: outcome.reply,
    ...(outcome.modelRef ? { modelRef: outcome.modelRef } : {}),
    ...(outcome.usage ? { usage: outcome.usage } : {}),
    toolCalls: outcome.toolCalls,
    ...(outcome.error ? { error: outcome.error } : {}),
    deliverTo,
    now: at,
  });
  if (deps.budgets && outcome.usage) {
    deps.budgets.afterTurn(scopes).catch((error) => deps.logger.error({ runId, err: error }, 'checking the budget after a turn failed'));
  }
  if (outcome.error) deps.logger.warn({ runId, sessionKey, code: outcome.error.code }, outcome.error.message);
  const outbox = outboxId !== null && deliverTo ? outboxEntry(state, turn, outboxId, deliverTo, outcome) : null;
  turn.trace.end({ status: outcome.status, error: outcome.error, endedAt: at, awaitingDelivery: outbox !== null });
  emit(state, { type: 'final', runId, sessionKey, outcome, outbox });
  settle(state, outcome);
}

function outboxEntry(state: TurnServiceState, turn: TurnInProgress, id: number, deliverTo: ReplyTarget, outcome: TurnOutcome): OutboxEntry {
  return {
    id,
    runId: turn.runId,
    sessionKey: turn.sessionKey,
    channel: deliverTo.channel,
    target: deliverTo.target,
    text: outcome.reply !== '' ? outcome.reply : (outcome.error?.message ?? ''),
    attempts: 0,
    chunksSent: 0,
    nextAttemptAt: null,
    lastError: null,
    createdAt: state.now(),
  };
}
