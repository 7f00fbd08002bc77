import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { z } from 'zod';
import { tracingSchema } from '../config/schema.js';
import { createOtelTracer } from './otel-tracer.js';

const quiet = { warn() {} };
const started: { shutdown(): Promise<void> }[] = [];
after(() => Promise.all(started.map((tracer) => tracer.shutdown())));

function tracerWith(settings: Partial<z.output<ReturnType<typeof tracingSchema>>> = {}) {
  const exporter = new InMemorySpanExporter();
  const tracer = createOtelTracer({ settings: tracingSchema().parse({ enabled: true, ...settings }), version: '9.9.9', exporter, batchDelayMs: 10, logger: quiet });
  started.push(tracer);
  return { exporter, tracer };
}

/** Resolves once `check` holds, checking every few milliseconds; fails with `what` after 5 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const millis = (span: ReadableSpan, at: 'startTime' | 'endTime') => span[at][0] * 1000 + span[at][1] / 1e6;
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId ?? '';

test('a turn is one trace: its root span and the lane wait, model and tool spans under it, with their real times', async () => {
  const { exporter, tracer } = tracerWith();
  const turn = tracer.startTurn({ runId: 'run_1', sessionKey: 'agent:main:main', agentId: 'main', channel: 'webchat', startedAt: 1_000_000 });
  assert.match(turn.context?.traceId ?? '', /^[0-9a-f]{32}$/u);
  assert.equal(tracer.traceIdOf('run_1'), turn.context?.traceId, 'the running turn\'s trace id is known for its log lines');
  turn.laneWait(1_000_000, 1_000_040);
  turn.step({ kind: 'model', name: 'local/qwen3:8b', output: { text: '', toolCalls: [{}], finishReason: 'tool_calls' }, startedAt: 1_000_050, durationMs: 200, usage: { inputTokens: 120, outputTokens: 8 } });
  turn.step({ kind: 'tool', name: 'exec', input: {}, output: { content: 'refused', refusedBy: 'tools.deny' }, error: 'refused', startedAt: 1_000_260, durationMs: 1 });
  turn.end({ status: 'ok', endedAt: 1_000_500 });
  assert.equal(tracer.traceIdOf('run_1'), undefined, 'forgotten once the turn ended');
  await tracer.flush();

  const spans = exporter.getFinishedSpans();
  const root = spans.find((span) => span.name === 'turn')!;
  assert.deepEqual(root.attributes, { 'hearth.run_id': 'run_1', 'hearth.session_key': 'agent:main:main', 'hearth.agent_id': 'main', 'hearth.channel': 'webchat', 'hearth.status': 'ok' });
  assert.equal(millis(root, 'startTime'), 1_000_000);
  assert.equal(millis(root, 'endTime'), 1_000_500);
  assert.equal(root.resource.attributes['service.name'], 'hearth');
  assert.equal(root.resource.attributes['service.version'], '9.9.9');
  const children = spans.filter((span) => span !== root);
  assert.deepEqual(children.map((span) => span.name), ['lane.wait', 'model.call', 'tool.call']);
  for (const child of children) {
    assert.equal(parentOf(child), root.spanContext().spanId);
    assert.equal(child.spanContext().traceId, root.spanContext().traceId);
  }
  const [wait, model, tool] = children as [ReadableSpan, ReadableSpan, ReadableSpan];
  assert.equal(millis(wait, 'endTime') - millis(wait, 'startTime'), 40);
  assert.equal(millis(model, 'endTime') - millis(model, 'startTime'), 200);
  assert.equal(model.attributes['gen_ai.system'], 'local');
  assert.equal(model.attributes['gen_ai.request.model'], 'qwen3:8b');
  assert.equal(model.attributes['gen_ai.usage.input_tokens'], 120);
  assert.equal(model.attributes['gen_ai.usage.output_tokens'], 8);
  assert.equal(model.attributes['hearth.model.tool_calls'], 1);
  assert.equal(tool.attributes['hearth.tool.name'], 'exec');
  assert.equal(tool.attributes['hearth.tool.outcome'], 'refused');
  assert.equal(tool.status.code, 2, 'a failed tool call is an error span');
});

test('a failed turn is an error span; end and later steps after it are ignored', async () => {
  const { exporter, tracer } = tracerWith();
  const turn = tracer.startTurn({ runId: 'run_2', sessionKey: 's', agentId: 'main', channel: 'openai', startedAt: Date.now() });
  turn.end({ status: 'error', error: { code: 'PROVIDER_ERROR', message: 'the model refused' } });
  turn.end({ status: 'ok' });
  turn.step({ kind: 'tool', name: 'read', output: 'x', startedAt: Date.now(), durationMs: 1 });
  await tracer.flush();
  const spans = exporter.getFinishedSpans();
  assert.deepEqual(spans.map((span) => span.name), ['turn']);
  assert.equal(spans[0]!.status.code, 2);
  assert.equal(spans[0]!.status.message, 'PROVIDER_ERROR: the model refused');
  assert.equal(spans[0]!.attributes['hearth.error.code'], 'PROVIDER_ERROR');
});

test('a delivery joins its turn\'s trace while the gateway knows it, and is a trace of its own otherwise', async () => {
  const { exporter, tracer } = tracerWith();
  const turn = tracer.startTurn({ runId: 'run_3', sessionKey: 's', agentId: 'main', channel: 'telegram:default', startedAt: Date.now() });
  turn.end({ status: 'ok', awaitingDelivery: true });
  const delivery = { outboxId: 7, channel: 'telegram:default', queuedAt: Date.now(), endedAt: Date.now() + 5, delivered: true, attempts: 1, pieces: 2, error: null };
  tracer.delivery({ ...delivery, runId: 'run_3' });
  tracer.delivery({ ...delivery, runId: 'run_from_before_a_restart', delivered: false, error: 'chat not found' });
  await tracer.flush();
  const spans = exporter.getFinishedSpans();
  const root = spans.find((span) => span.name === 'turn')!;
  const [joined, alone] = spans.filter((span) => span.name === 'delivery') as [ReadableSpan, ReadableSpan];
  assert.equal(joined.spanContext().traceId, root.spanContext().traceId);
  assert.equal(parentOf(joined), root.spanContext().spanId);
  assert.equal(joined.attributes['hearth.delivery.pieces'], 2);
  assert.notEqual(alone.spanContext().traceId, root.spanContext().traceId);
  assert.equal(parentOf(alone), '');
  assert.equal(alone.attributes['hearth.run_id'], 'run_from_before_a_restart');
  assert.equal(alone.status.code, 2);
});

test('a turn run again after a restart continues the trace its first attempt began', async () => {
  const { exporter, tracer } = tracerWith();
  const parent = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };
  const turn = tracer.startTurn({ runId: 'run_4', sessionKey: 's', agentId: 'main', channel: 'cron', startedAt: Date.now(), parent });
  assert.equal(turn.context?.traceId, parent.traceId);
  turn.end({ status: 'ok' });
  await tracer.flush();
  const [root] = exporter.getFinishedSpans();
  assert.equal(root?.spanContext().traceId, parent.traceId);
  assert.equal(root && parentOf(root), parent.spanId);
});

test('sampleRatio 0 traces nothing: no context for the run record, no spans; a discarded turn sends nothing either', async () => {
  const { exporter, tracer } = tracerWith({ sampleRatio: 0 });
  const unsampled = tracer.startTurn({ runId: 'run_5', sessionKey: 's', agentId: 'main', channel: 'webchat', startedAt: Date.now() });
  assert.equal(unsampled.context, null);
  assert.equal(tracer.traceIdOf('run_5'), undefined);
  unsampled.step({ kind: 'model', name: 'a/b', output: {}, startedAt: Date.now(), durationMs: 1 });
  unsampled.end({ status: 'ok' });
  const sampled = tracerWith();
  const duplicate = sampled.tracer.startTurn({ runId: 'run_6', sessionKey: 's', agentId: 'main', channel: 'webchat', startedAt: Date.now() });
  duplicate.discard();
  duplicate.end({ status: 'ok' });
  assert.equal(sampled.tracer.traceIdOf('run_6'), undefined);
  await tracer.flush();
  await sampled.tracer.flush();
  assert.equal(exporter.getFinishedSpans().length, 0);
  assert.equal(sampled.exporter.getFinishedSpans().length, 0);
});

test('a failing endpoint is counted and logged once per failure streak', async () => {
  const warnings: string[] = [];
  const failing = new InMemorySpanExporter();
  failing.export = (_spans, done) => done({ code: 1, error: new Error('connect ECONNREFUSED 127.0.0.1:4318') });
  const tracer = createOtelTracer({ settings: tracingSchema().parse({ enabled: true }), version: '1', exporter: failing, batchDelayMs: 10, logger: { warn: (_details, message) => warnings.push(String(message)) } });
  for (const [index, runId] of ['run_a', 'run_b'].entries()) {
    tracer.startTurn({ runId, sessionKey: 's', agentId: 'main', channel: 'webchat', startedAt: Date.now() }).end({ status: 'ok' });
    await until(() => tracer.stats().failedExports > index, `the export of ${runId} to fail`);
  }
  const stats = tracer.stats();
  await tracer.shutdown();
  assert.equal(stats.failing, true);
  assert.equal(stats.exportedSpans, 0);
  assert.ok(stats.failedExports >= 2, `two exports failed (${stats.failedExports})`);
  assert.match(stats.lastError ?? '', /ECONNREFUSED/u);
  assert.equal(warnings.length, 1, 'logged once, not once per export');
});
