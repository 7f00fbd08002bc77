import type { RunStepInput } from './store.js';

/**
 * The W3C ids of a turn's root span ("turn"), as 32 and 16 lowercase hex digits. Kept in the run
 * record (`options.trace`) so the run can be found in a trace viewer, and so a turn run again
 * after a restart joins the trace its first attempt began.
 */
export interface TraceContext {
  traceId: string;
  spanId: string;
}

/** What a turn's trace is started with: the attributes of its root span. */
export interface TurnTraceStart {
  runId: string;
  sessionKey: string;
  agentId: string;
  /** Where the message came from: a channel account (`telegram:default`) or the source (`webchat`, `openai`, `cron`). */
  channel: string;
  /** When the turn was accepted (epoch ms); the root span starts here. */
  startedAt: number;
  /** The trace an earlier attempt of this run began (a turn re-run after a restart). */
  parent?: TraceContext;
}

/**
 * One turn's trace. Spans are written when what they time has ended, with its real start and
 * end times, so the methods never wait and never throw. `end` may be called once; later calls,
 * and calls after it, are ignored.
 */
export interface TurnTrace {
  /** The root span's ids, or null when tracing is off or this turn was not sampled. */
  readonly context: TraceContext | null;
  /** Forgets a trace whose turn never started (a duplicate message): nothing is sent. */
  discard(): void;
  /** "lane.wait": the time between the accept and the turn's start on its session's lane. */
  laneWait(startedAt: number, endedAt: number): void;
  /** "model.call", "tool.call" or "compaction", from the step as the run record keeps it. */
  step(step: RunStepInput): void;
  /**
   * Ends the root span with the turn's status ("ok", "error", "aborted", "checkpointed");
   * `awaitingDelivery` says its reply was queued in the outbox (a "delivery" span follows).
   */
  end(outcome: { status: string; error?: { code: string; message: string } | null; endedAt?: number; awaitingDelivery?: boolean }): void;
}

/** One outbox entry's delivery, from the moment its reply was queued until it was sent or given up. */
export interface DeliveryTrace {
  runId: string;
  outboxId: number;
  channel: string;
  queuedAt: number;
  endedAt: number;
  delivered: boolean;
  attempts: number;
  pieces: number;
  error: string | null;
}

/**
 * Where turns' traces go (docs/agents.md, Traces). The gateway with `tracing.enabled: false`
 * holds `NO_TRACING`, which does nothing and loads nothing.
 */
export interface Tracer {
  readonly enabled: boolean;
  startTurn(start: TurnTraceStart): TurnTrace;
  /**
   * Writes a "delivery" span: a child of the run's "turn" span while this gateway still knows it,
   * otherwise (a reply re-delivered after a restart) the root of a trace of its own.
   */
  delivery(delivery: DeliveryTrace): void;
  /** The trace id of a turn in progress here, for its log lines; undefined otherwise. */
  traceIdOf(runId: string): string | undefined;
}

const NO_TURN_TRACE: TurnTrace = Object.freeze({
  context: null,
  discard() {},
  laneWait() {},
  step() {},
  end() {},
});

/** The tracer of a gateway with tracing off: every call returns at once. */
export const NO_TRACING: Tracer = Object.freeze({
  enabled: false,
  startTurn: () => NO_TURN_TRACE,
  delivery() {},
  traceIdOf: () => undefined,
});
