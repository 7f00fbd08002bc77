import { randomUUID } from 'node:crypto';
import type { AgentDirectory } from '../agent/agent-directory.js';
import { baseSystemPrompt } from '../agent/agent-directory.js';
import type { AgentLoop } from '../agent/agent-loop.js';
import { fitHistory } from '../agent/token-budget.js';
import type { WorkspaceContext } from '../agent/workspace-context.js';
import { HearthError, toHearthError } from '../contracts/errors.js';
import type { ChatMessage, ToolCallRecord, Usage } from '../contracts/messages.js';
import type { AcceptedTurn, AcceptTurnInput, OutboxEntry, RunStepInput, Store } from '../contracts/store.js';
import type { SessionLanes } from './session-lanes.js';
import type { Budgets } from '../automation/budgets.js';

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
  workspaceContext: WorkspaceContext;
  agents: () => AgentDirectory;
  maxTurnAttempts: () => number;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  now?: () => number;
  newRunId?: () => string;
  /** How many transcript entries are read before fitting them to the token budget. */
  historyLimit?: number;
  /** How many sessions keep their recent transcript in memory between turns. */
  historyCacheSessions?: number;
  /** Daily budgets: checked before a turn calls a model, charged when it finishes. */
  budgets?: Pick<Budgets, 'blocked' | 'afterTurn' | 'costOf' | 'day'>;
  /** Names of the tools that change something, hidden from read-only turns (replays). */
  sideEffectTools?: () => string[];
}

/** A reply of exactly this is the agent saying there is nothing to tell: it is kept, not delivered. */
const SILENT_REPLY = /^\s*NO_REPLY\s*$/u;

interface ActiveRun {
  controller: AbortController;
  sessionKey: string;
  /** Set when the gateway stops the turn to shut down: the turn is requeued, not finished. */
  checkpoint: boolean;
}

/**
 * Owns the life of a turn: persisted in the inbox on accept, run on its session's lane, recorded
 * step by step, finished in one transaction with its reply in the outbox, then delivered. On
 * start, `recover()` re-runs what a crash interrupted; the outbox dispatcher re-delivers replies.
 */
export function createTurnService(deps: TurnServiceDeps) {
  const now = deps.now ?? Date.now;
  const newRunId = deps.newRunId ?? (() => `run_${randomUUID()}`);
  const historyLimit = deps.historyLimit ?? 400;
  const listeners = new Set<TurnListener>();
  const active = new Map<string, ActiveRun>();
  const waiters = new Map<string, Set<(outcome: TurnOutcome) => void>>();
  /**
   * The recent transcript of busy sessions (model-visible messages, oldest first), so a turn does
   * not re-read and re-parse its history. Least recently used sessions are dropped past the
   * bound; a reset drops the session. A turn appends to the entry it started from only if that
   * entry is still the cached one, so a reset while it ran is never undone.
   */
  const historyCache = new Map<string, ChatMessage[]>();
  const historyCacheSessions = deps.historyCacheSessions ?? 64;
  const cacheHistory = (sessionKey: string, messages: ChatMessage[]) => {
    historyCache.delete(sessionKey);
    historyCache.set(sessionKey, messages);
    if (historyCache.size > historyCacheSessions) historyCache.delete(historyCache.keys().next().value as string);
  };
  let accepting = true;
  let stopping = false;

  const emit = (event: TurnEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        deps.logger.error({ err: error }, 'a turn event listener failed');
      }
    }
  };

  const addWaiter = (runId: string): Promise<TurnOutcome> =>
    new Promise((resolve) => {
      let pending = waiters.get(runId);
      if (!pending) {
        pending = new Set();
        waiters.set(runId, pending);
      }
      pending.add(resolve);
    });

  const settle = (outcome: TurnOutcome) => {
    const pending = waiters.get(outcome.runId);
    if (!pending) return;
    waiters.delete(outcome.runId);
    for (const resolve of pending) resolve(outcome);
  };

  async function execute(runId: string, laneSessionKey: string): Promise<void> {
    if (stopping) return;
    const cached = historyCache.get(laneSessionKey);
    const started = await deps.store.startTurn(runId, { now: now(), historyLimit: cached ? 0 : historyLimit }).catch((error: unknown) => {
      // The store failed (a damaged file, a full disk): answer whoever waits instead of leaving them hanging.
      const failure = toHearthError(error, 'STORE_ERROR');
      deps.logger.error({ runId, err: failure }, 'a turn could not start');
      const outcome: TurnOutcome = { runId, sessionKey: laneSessionKey, status: 'error', reply: '', toolCalls: [], usage: null, modelRef: null, costUsd: null, error: { code: failure.code, message: failure.message } };
      emit({ type: 'final', runId, sessionKey: laneSessionKey, outcome, outbox: null });
      settle(outcome);
      return null;
    });
    if (!started) return;
    const { sessionKey } = started;
    const base = { runId, sessionKey };
    const directory = deps.agents();
    const agent = directory.get(started.agentId);
    const options = started.options ?? {};
    const scopes = [`agent:${started.agentId}`, ...(options.budgetScopes ?? [])];
    const finishWith = async (result: Omit<TurnOutcome, 'runId' | 'sessionKey' | 'costUsd'>, messages: ChatMessage[]) => {
      const at = now();
      const outcome = { ...result, costUsd: deps.budgets?.costOf(result.modelRef, result.usage) ?? null };
      const full: TurnOutcome = { ...base, ...outcome };
      const deliverTo = outcome.status === 'ok' && SILENT_REPLY.test(outcome.reply) ? null : started.replyTo;
      const { outboxId } = await deps.store.completeTurn(runId, {
        costUsd: outcome.costUsd,
        ...(deps.budgets ? { spend: { day: deps.budgets.day(at), scopes } } : {}),
        steps: pendingSteps.splice(0),
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
      const outbox: OutboxEntry | null =
        outboxId !== null && deliverTo
          ? {
              id: outboxId,
              runId,
              sessionKey,
              channel: deliverTo.channel,
              target: deliverTo.target,
              text: outcome.reply !== '' ? outcome.reply : (outcome.error?.message ?? ''),
              attempts: 0,
              chunksSent: 0,
              nextAttemptAt: null,
              lastError: null,
              createdAt: now(),
            }
          : null;
      emit({ type: 'final', ...base, outcome: full, outbox });
      settle(full);
    };
    const pendingSteps: RunStepInput[] = [];
    const failed = (code: string, message: string) => {
      historyCache.delete(sessionKey);
      return finishWith({ status: 'error', reply: '', toolCalls: [], usage: null, modelRef: null, error: { code, message } }, []);
    };

    if (started.attempts > deps.maxTurnAttempts()) {
      await failed(
        'TURN_FAILED',
        `This message was interrupted ${started.attempts - 1} times (the gateway stopped while answering it) and was given up. Send it again to retry.`,
      );
      return;
    }
    if (!agent) {
      await failed('NOT_FOUND', `The agent "${started.agentId}" is no longer configured. Add it back to agents.entries or use another agent.`);
      return;
    }

    const blocked = deps.budgets ? await deps.budgets.blocked(scopes) : null;
    if (blocked) {
      await failed('BUDGET_EXCEEDED', blocked);
      return;
    }
    let profile = options.model ? { ...agent, modelRefs: [options.model] } : agent;
    if (options.readOnly) {
      profile = { ...profile, toolPolicy: { ...profile.toolPolicy, deny: [...(profile.toolPolicy.deny ?? []), ...(deps.sideEffectTools?.() ?? [])] } };
    }

    const run: ActiveRun = { controller: new AbortController(), sessionKey, checkpoint: false };
    let history: ChatMessage[] | undefined;
    active.set(runId, run);
    try {
      emit({ type: 'started', ...base, replyTo: started.replyTo });
      let messages: ChatMessage[];
      if (started.context) {
        messages = started.context.messages;
      } else {
        history = historyCache.get(sessionKey);
        if (!history) {
          history = [];
          for (const entry of started.history) if (entry.message.role !== 'error') history.push(entry.message as ChatMessage);
        }
        cacheHistory(sessionKey, history);
        const budget = Math.max(0, profile.contextTokens - profile.maxOutputTokens - 2000);
        messages = [...fitHistory(history, budget), { role: 'user', content: started.text }];
      }
      const workspace = await deps.workspaceContext.load(profile.workspaceDir);
      const system = [baseSystemPrompt(profile), profile.systemPrompt, workspace, started.context?.system].filter((part) => part && part.length > 0).join('\n\n');
      const output = await deps.runTurn({
        runId,
        sessionKey,
        agent: profile,
        system,
        messages,
        signal: run.controller.signal,
        onDelta: (text) => emit({ type: 'delta', ...base, text }),
        recordStep: (step) => {
          // A model call that asked for no tools is the turn's last step: it is written with the
          // turn's result. Steps before a tool runs are written at once.
          const final = step.kind === 'model' && ((step.output as { toolCalls?: unknown[] } | undefined)?.toolCalls?.length ?? 0) === 0;
          if (final) {
            pendingSteps.push(step);
            return Promise.resolve();
          }
          return deps.store.recordStep(runId, step);
        },
      });
      if (history && historyCache.get(sessionKey) === history) {
        history.push({ role: 'user', content: started.text }, ...output.messages);
        if (history.length > historyLimit) history.splice(0, history.length - historyLimit);
      }
      if (run.checkpoint) {
        historyCache.delete(sessionKey);
        await deps.store.requeueTurn(runId);
        deps.logger.info({ runId, sessionKey }, 'turn checkpointed for shutdown; it will run again at the next start');
        return;
      }
      await finishWith(
        {
          status: output.status,
          reply: output.reply,
          toolCalls: output.toolCalls,
          usage: output.usage,
          modelRef: output.modelRef ?? null,
          error: output.error ? { code: output.error.code, message: output.error.message } : null,
        },
        output.messages,
      );
    } catch (error) {
      historyCache.delete(sessionKey);
      const failure = toHearthError(error);
      deps.logger.error({ runId, sessionKey, err: failure }, 'turn failed unexpectedly');
      await failed(failure.code, failure.message).catch((inner) => deps.logger.error({ runId, err: inner }, 'could not record the failed turn'));
    } finally {
      active.delete(runId);
    }
  }

  /** The provider of the turn's first model: the lanes give each provider a share of the slots. */
  const providerOf = (agentId: string, model?: string) => (model ?? deps.agents().get(agentId)?.modelRefs[0])?.split('/')[0];

  const schedule = (runId: string, sessionKey: string, stateless: boolean, provider?: string) => {
    // Stateless requests share no transcript, so they get a lane of their own.
    void deps.lanes.run(stateless ? `stateless:${runId}` : sessionKey, () => execute(runId, sessionKey), { provider }).catch((error) => {
      deps.logger.error({ runId, err: error }, 'turn scheduling failed');
    });
  };

  return {
    /** Persists the request, then queues it. Resolves once it is safe to acknowledge the sender. */
    async submit(request: TurnRequest): Promise<AcceptedTurn> {
      if (!accepting) throw new HearthError('SHUTTING_DOWN', 'The gateway is shutting down and takes no new messages. Send again once it is back.', { retryable: true });
      const runId = request.runId ?? newRunId();
      const acceptance = deps.store.acceptTurn({
        runId,
        sessionKey: request.sessionKey,
        agentId: request.agentId,
        source: request.source,
        text: request.text,
        ...(request.context ? { context: request.context } : {}),
        replyTo: request.replyTo ?? null,
        ...(request.idempotency ? { idempotency: request.idempotency } : {}),
        ...(request.options ? { options: request.options } : {}),
        now: now(),
      });
      // Scheduled before the accept is committed: when the session's lane is free, the turn's
      // start is written in the same commit. A start cannot overtake its accept (writes run in
      // order), and a duplicate or failed accept leaves nothing to start, so the start is a no-op.
      schedule(runId, request.sessionKey, request.context !== undefined, providerOf(request.agentId, request.options?.model));
      return acceptance;
    },

    /**
     * Resolves when a run this caller is about to submit (with its own `runId`) finishes. Register
     * before submitting; no store read is needed.
     */
    awaitRun(runId: string): Promise<TurnOutcome> {
      return addWaiter(runId);
    },

    /** Drops the waiters of a run that was never started (its submit failed or was a duplicate). */
    forgetRun(runId: string): void {
      waiters.delete(runId);
    },

    /** Resolves when the run finishes (at once if it already has). */
    async waitFor(runId: string): Promise<TurnOutcome> {
      const record = await deps.store.getRun(runId);
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
      return addWaiter(runId);
    },

    /** Stops a running turn; returns false when the run is not running here. */
    abort(runId: string): boolean {
      const run = active.get(runId);
      if (!run) return false;
      run.controller.abort();
      return true;
    },

    subscribe(listener: TurnListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** Re-queues turns a crash interrupted (undelivered replies are the outbox dispatcher's). */
    async recover(): Promise<{ requeued: number }> {
      const unfinished = await deps.store.unfinishedTurns();
      for (const entry of unfinished) {
        deps.logger.info({ runId: entry.runId, sessionKey: entry.sessionKey, resumed: entry.context !== null }, 'turn recovered after the gateway stopped mid-turn; running it again');
        schedule(entry.runId, entry.sessionKey, entry.context !== null, providerOf(entry.agentId, entry.options?.model));
      }
      if (unfinished.length > 0) deps.logger.info({ requeued: unfinished.length }, 'recovered turns left unfinished by the last run');
      return { requeued: unfinished.length };
    },

    /** Starts the session afresh; the old transcript stays on disk. */
    async resetSession(sessionKey: string): Promise<boolean> {
      historyCache.delete(sessionKey);
      return deps.store.resetSession(sessionKey, now());
    },

    activeRuns(): { runId: string; sessionKey: string }[] {
      return [...active.entries()].map(([runId, run]) => ({ runId, sessionKey: run.sessionKey }));
    },

    /**
     * Stops taking new turns, lets running ones finish for up to `timeoutMs`, then checkpoints
     * the rest (they run again at the next start). Queued turns stay in the inbox.
     */
    async drain(timeoutMs: number): Promise<{ checkpointed: number }> {
      accepting = false;
      stopping = true;
      const finished = await deps.lanes.idle(timeoutMs);
      let checkpointed = 0;
      if (!finished) {
        for (const run of active.values()) {
          run.checkpoint = true;
          run.controller.abort();
          checkpointed++;
        }
        await deps.lanes.idle(5000);
      }
      for (const pending of waiters.values()) pending.clear();
      waiters.clear();
      return { checkpointed };
    },
  };
}

export type TurnService = ReturnType<typeof createTurnService>;
