import { randomInt } from 'node:crypto';
import { HearthError } from '../contracts/errors.js';
import type { ExecApproval, Store } from '../contracts/store.js';
import type { OperatorAnswer, OperatorQuestion } from '../contracts/tool.js';

/** Something that happened to an approval request: asked, or decided (approved, denied, expired). */
export interface ApprovalEvent {
  type: 'requested' | 'resolved';
  approval: ExecApproval;
}

export interface ApprovalAsk extends OperatorQuestion {
  runId: string;
  sessionKey: string;
  agentId: string;
  signal: AbortSignal;
}

export interface ApprovalService {
  /** Records the question (or finds the run's earlier one) and waits for its decision or expiry; an abort ends the wait (the request stays). */
  ask(question: ApprovalAsk): Promise<OperatorAnswer>;
  /** Decides a pending request; throws NOT_FOUND for an unknown id and CONFLICT for one already decided. */
  decide(id: string, decision: { approve: boolean; always?: boolean; by: string }): Promise<ExecApproval>;
  list(options?: { all?: boolean; limit?: number }): Promise<ExecApproval[]>;
  /** Commands the operator allowed for good for this agent ("allow always"). */
  allowedCommands(agentId: string): readonly string[];
  subscribe(listener: (event: ApprovalEvent) => void): () => void;
  /** Loads the allowed commands and the pending requests, and starts expiring them. */
  start(): Promise<void>;
  stop(): void;
}

interface Deps {
  store: Pick<Store, 'requestApproval' | 'decideApproval' | 'getApproval' | 'listApprovals' | 'listAllowedCommands' | 'getRun'>;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  now?: () => number;
  /** The most requests waiting at once; more are denied at once, visibly. */
  maxPending?: number;
}

/** Six characters without look-alikes (no 0/O, 1/I/L): easy to type in `/approve <id>`. */
const ID_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
const DEFAULT_MAX_PENDING = 64;
/** The longest one expiry timer is set for; a later expiry is re-checked then. */
const MAX_TIMER_MS = 60_000;

const newApprovalId = () => Array.from({ length: 6 }, () => ID_ALPHABET[randomInt(ID_ALPHABET.length)]).join('');

/**
 * Exec approvals (docs/tools.md, "Approvals"): a command the policy leaves to the operator waits
 * here. The request is written to the store before anyone is asked, so it survives a restart; the
 * turn that asked runs again after a restart, asks again, and gets the same request back. Every
 * request ends as approved, denied or expired (counted as denied), and each change is an event
 * (the chat where the turn runs, WebChat, metrics).
 */
export function createApprovalService(deps: Deps): ApprovalService {
  const now = deps.now ?? Date.now;
  const maxPending = deps.maxPending ?? DEFAULT_MAX_PENDING;
  const waiters = new Map<string, Set<(approval: ExecApproval) => void>>();
  const listeners = new Set<(event: ApprovalEvent) => void>();
  const allowed = new Map<string, string[]>();
  /** Pending requests' expiry times, by id (owned here; entries leave when decided). */
  const expiries = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const emit = (event: ApprovalEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        deps.logger.error({ err: error }, 'an approval listener failed');
      }
    }
  };

  const settled = (approval: ExecApproval) => {
    expiries.delete(approval.id);
    if (approval.always) allowed.set(approval.agentId, [...new Set([...(allowed.get(approval.agentId) ?? []), approval.command])]);
    const waiting = waiters.get(approval.id);
    waiters.delete(approval.id);
    for (const resolve of waiting ?? []) resolve(approval);
    emit({ type: 'resolved', approval });
    deps.logger.info({ approvalId: approval.id, runId: approval.runId, status: approval.status, by: approval.decidedBy, always: approval.always }, `approval ${approval.id} ${approval.status}`);
  };

  const expireDue = async () => {
    timer = undefined;
    const at = now();
    for (const [id, expiresAt] of [...expiries]) {
      if (expiresAt > at) continue;
      const approval = await deps.store.decideApproval(id, { status: 'expired', by: 'expiry', now: at }).catch((error: unknown) => {
        deps.logger.error({ approvalId: id, err: error }, 'an approval could not be marked expired; trying again');
        return undefined;
      });
      if (approval === null) expiries.delete(id);
      else if (approval) settled(approval);
    }
    schedule();
  };

  const schedule = () => {
    if (stopped || timer) return;
    if (expiries.size === 0) return;
    const next = Math.min(...expiries.values());
    timer = setTimeout(() => void expireDue(), Math.min(MAX_TIMER_MS, Math.max(0, next - now())));
  };

  const track = (approval: ExecApproval) => {
    expiries.set(approval.id, approval.expiresAt);
    if (timer && approval.expiresAt < now() + MAX_TIMER_MS) {
      clearTimeout(timer);
      timer = undefined;
    }
    schedule();
  };

  const waitFor = (approval: ExecApproval, signal: AbortSignal) =>
    new Promise<ExecApproval | null>((resolve) => {
      const set = waiters.get(approval.id) ?? new Set<(approval: ExecApproval) => void>();
      waiters.set(approval.id, set);
      const done = (value: ExecApproval | null) => {
        set.delete(finish);
        if (set.size === 0 && waiters.get(approval.id) === set) waiters.delete(approval.id);
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const finish = (decided: ExecApproval) => done(decided);
      const onAbort = () => done(null);
      set.add(finish);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
    });

  const answerOf = (approval: ExecApproval): OperatorAnswer => ({
    id: approval.id,
    decision: approval.status === 'pending' ? 'denied' : approval.status,
    always: approval.always,
    by: approval.decidedBy,
  });

  return {
    async ask(question) {
      if (stopped) throw new HearthError('SHUTTING_DOWN', 'The gateway is stopping; the command was not run.');
      if (expiries.size >= maxPending) {
        deps.logger.warn({ runId: question.runId, pending: expiries.size }, 'approval refused: too many requests are waiting');
        return { id: '', decision: 'denied', always: false, by: `too many approvals waiting (${maxPending}); answer some with hearth approvals` };
      }
      const run = await deps.store.getRun(question.runId);
      const replyTo = run?.replyTo ?? null;
      const approval = await deps.store.requestApproval({
        id: newApprovalId(),
        runId: question.runId,
        sessionKey: question.sessionKey,
        agentId: question.agentId,
        tool: question.tool,
        command: question.command,
        cwd: question.cwd,
        canAlways: question.canAlways,
        replyTo,
        now: now(),
        ttlMs: question.waitMs,
      });
      if (approval.status !== 'pending') return answerOf(approval);
      const waiting = waitFor(approval, question.signal);
      if (!expiries.has(approval.id)) {
        track(approval);
        emit({ type: 'requested', approval });
        deps.logger.info({ approvalId: approval.id, runId: approval.runId, command: approval.command }, `approval ${approval.id} requested: ${approval.command}`);
      }
      const decided = await waiting;
      if (!decided) throw new HearthError('ABORTED', `The turn was stopped while approval ${approval.id} was waiting; the request stays until it is answered or expires.`);
      return answerOf(decided);
    },
    async decide(id, decision) {
      const at = now();
      const status = decision.approve ? 'approved' : 'denied';
      const approval = await deps.store.decideApproval(id.trim().toLowerCase(), { status, always: decision.always === true, by: decision.by, now: at });
      if (!approval) throw new HearthError('NOT_FOUND', `No approval request ${JSON.stringify(id)}. See the waiting ones with \`hearth approvals list\`.`);
      const decidedHere = approval.status === status && approval.decidedAt === at && approval.decidedBy === decision.by;
      if (!decidedHere) throw new HearthError('CONFLICT', `Approval ${approval.id} was already ${approval.status}${approval.decidedBy ? ` (by ${approval.decidedBy})` : ''}.`);
      settled(approval);
      return approval;
    },
    list: ({ all, limit } = {}) => deps.store.listApprovals({ pending: all !== true, limit: limit ?? 100 }),
    allowedCommands: (agentId) => allowed.get(agentId) ?? [],
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async start() {
      for (const entry of await deps.store.listAllowedCommands()) allowed.set(entry.agentId, [...(allowed.get(entry.agentId) ?? []), entry.pattern]);
      for (const approval of await deps.store.listApprovals({ pending: true, limit: maxPending })) expiries.set(approval.id, approval.expiresAt);
      schedule();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
