import { type Attributes, type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, TraceFlags, trace, type Tracer as ApiTracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, type SpanExporter, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config/schema.js';
import type { RunStepInput } from '../contracts/store.js';
import type { DeliveryTrace, TraceContext, Tracer, TurnTrace, TurnTraceStart } from '../contracts/tracing.js';

/** Turns whose replies wait for delivery, remembered so their "delivery" span joins their trace. */
const MAX_AWAITING_DELIVERY = 10_000;

export interface OtelTracerOptions {
  settings: TracingConfig;
  version: string;
  /** Where spans go; by default OTLP/HTTP (JSON) to `settings.endpoint`. */
  exporter?: SpanExporter;
  /** How long finished spans wait to be sent in one batch. */
  batchDelayMs?: number;
  logger: { warn(obj: object, msg?: string): void };
}

export interface OtelTracer extends Tracer {
  /** Sends every finished span now. */
  flush(): Promise<void>;
  /** Sends every finished span, then stops the exporter. */
  shutdown(): Promise<void>;
  /** Spans sent and export requests that failed since the start. */
  stats(): { exportedSpans: number; failedExports: number; lastError: string | null; failing: boolean };
}

/**
 * The tracer of a gateway with `tracing.enabled`: one trace per turn through the OpenTelemetry
 * SDK, batched to an OTLP/HTTP receiver. Nothing is registered globally: the provider belongs to
 * this object and is released by `shutdown`.
 */
export function createOtelTracer(options: OtelTracerOptions): OtelTracer {
  const { settings } = options;
  const counting = countingExporter(
    options.exporter ?? new OTLPTraceExporter({ url: settings.endpoint, headers: settings.headers, timeoutMillis: settings.exportTimeoutMs }),
    options.logger,
  );
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName, [ATTR_SERVICE_VERSION]: options.version }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(counting.exporter, { scheduledDelayMillis: options.batchDelayMs ?? 2000, exportTimeoutMillis: settings.exportTimeoutMs })],
  });
  const tracer = provider.getTracer('hearth', options.version);
  /** Trace ids of the turns running here, for their log lines; removed when the turn ends. */
  const running = new Map<string, string>();
  /** The root span context of finished turns whose reply is queued for delivery (capped, oldest dropped). */
  const awaitingDelivery = new Map<string, Context>();

  return {
    enabled: true,
    startTurn(start: TurnTraceStart): TurnTrace {
      const parent = start.parent ? trace.setSpanContext(ROOT_CONTEXT, { ...start.parent, traceFlags: TraceFlags.SAMPLED, isRemote: true }) : ROOT_CONTEXT;
      const root = tracer.startSpan(
        'turn',
        {
          kind: SpanKind.INTERNAL,
          startTime: start.startedAt,
          attributes: { 'hearth.run_id': start.runId, 'hearth.session_key': start.sessionKey, 'hearth.agent_id': start.agentId, 'hearth.channel': start.channel },
        },
        parent,
      );
      const sampled = root.isRecording();
      const context: TraceContext | null = sampled ? { traceId: root.spanContext().traceId, spanId: root.spanContext().spanId } : null;
      if (context) running.set(start.runId, context.traceId);
      return turnTrace(tracer, root, context, (outbox) => {
        running.delete(start.runId);
        if (!outbox || !context) return;
        if (awaitingDelivery.size >= MAX_AWAITING_DELIVERY) awaitingDelivery.delete(awaitingDelivery.keys().next().value as string);
        awaitingDelivery.set(start.runId, trace.setSpan(ROOT_CONTEXT, root));
      });
    },
    delivery(delivery: DeliveryTrace): void {
      const parent = awaitingDelivery.get(delivery.runId);
      awaitingDelivery.delete(delivery.runId);
      const span = tracer.startSpan(
        'delivery',
        {
          kind: SpanKind.PRODUCER,
          startTime: delivery.queuedAt,
          attributes: {
            'hearth.run_id': delivery.runId,
            'hearth.outbox_id': delivery.outboxId,
            'hearth.channel': delivery.channel,
            'hearth.delivery.attempts': delivery.attempts,
            'hearth.delivery.pieces': delivery.pieces,
            'hearth.delivery.outcome': delivery.delivered ? 'delivered' : 'given-up',
          },
        },
        parent ?? ROOT_CONTEXT,
      );
      if (!delivery.delivered) span.setStatus({ code: SpanStatusCode.ERROR, message: delivery.error ?? 'not delivered' });
      span.end(delivery.endedAt);
    },
    traceIdOf: (runId) => running.get(runId),
    flush: () => provider.forceFlush(),
    async shutdown() {
      running.clear();
      awaitingDelivery.clear();
      await provider.shutdown();
    },
    stats: () => counting.stats(),
  };
}

/** A turn's trace over its root span; `ended` is told whether a reply waits for delivery. */
function turnTrace(tracer: ApiTracer, root: Span, context: TraceContext | null, ended: (awaitingDelivery: boolean) => void): TurnTrace {
  const parent = trace.setSpan(ROOT_CONTEXT, root);
  let done = false;
  const child = (name: string, startTime: number, endTime: number, attributes: Attributes, error?: string) => {
    if (done || !context) return;
    const span = tracer.startSpan(name, { startTime, attributes }, parent);
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end(endTime);
  };
  return {
    context,
    discard() {
      if (done) return;
      done = true;
      ended(false);
    },
    laneWait(startedAt, endedAt) {
      child('lane.wait', startedAt, Math.max(startedAt, endedAt), {});
    },
    step(step: RunStepInput) {
      const endTime = step.startedAt + Math.max(0, step.durationMs);
      if (step.kind === 'model') child('model.call', step.startedAt, endTime, modelAttributes(step), step.error);
      else if (step.kind === 'tool') child('tool.call', step.startedAt, endTime, { 'hearth.tool.name': step.name, 'hearth.tool.outcome': toolOutcome(step) }, step.error);
      else child(step.kind, step.startedAt, endTime, { 'hearth.step.name': step.name }, step.error);
    },
    end(outcome) {
      if (done) return;
      done = true;
      root.setAttribute('hearth.status', outcome.status);
      if (outcome.error) {
        root.setAttribute('hearth.error.code', outcome.error.code);
        root.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome.error.code}: ${outcome.error.message}` });
      }
      root.end(outcome.endedAt);
      ended(outcome.awaitingDelivery === true);
    },
  };
}

/** A model step's provider, model and tokens, in the GenAI semantic conventions' names. */
function modelAttributes(step: RunStepInput): Attributes {
  const slash = step.name.indexOf('/');
  const output = step.output as { finishReason?: unknown; toolCalls?: unknown[] } | undefined;
  return {
    'gen_ai.operation.name': 'chat',
    'gen_ai.system': slash > 0 ? step.name.slice(0, slash) : step.name,
    'gen_ai.request.model': slash > 0 ? step.name.slice(slash + 1) : step.name,
    ...(step.usage ? { 'gen_ai.usage.input_tokens': step.usage.inputTokens, 'gen_ai.usage.output_tokens': step.usage.outputTokens } : {}),
    ...(typeof output?.finishReason === 'string' ? { 'gen_ai.response.finish_reasons': [output.finishReason] } : {}),
    'hearth.model.tool_calls': Array.isArray(output?.toolCalls) ? output.toolCalls.length : 0,
  };
}

/** How a tool step ended, as the run record's tool call outcome names it. */
function toolOutcome(step: RunStepInput): string {
  const details = typeof step.output === 'object' && step.output !== null ? (step.output as Record<string, unknown>) : {};
  if (typeof details.refusedBy === 'string') return 'refused';
  if (details.timedOut === true) return 'timeout';
  return step.error ? 'error' : 'ok';
}

/** Counts what the exporter sent and logs a failed export once per failure streak. */
function countingExporter(exporter: SpanExporter, logger: { warn(obj: object, msg?: string): void }) {
  const counts = { exportedSpans: 0, failedExports: 0, lastError: null as string | null };
  const state = { failing: false };
  const wrapped: SpanExporter = {
    export(spans, resultCallback) {
      exporter.export(spans, (result) => {
        if (result.code === 0) {
          counts.exportedSpans += spans.length;
          state.failing = false;
        } else {
          counts.failedExports += 1;
          counts.lastError = result.error?.message ?? 'export failed';
          if (!state.failing) logger.warn({ spans: spans.length, err: counts.lastError }, 'traces could not be sent to the OTLP endpoint; spans are dropped until it answers');
          state.failing = true;
        }
        resultCallback(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    ...(exporter.forceFlush ? { forceFlush: () => exporter.forceFlush!() } : {}),
  };
  return { exporter: wrapped, stats: () => ({ ...counts, failing: state.failing }) };
}
