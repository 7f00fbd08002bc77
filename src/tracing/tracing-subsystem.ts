import { NO_TRACING, type Tracer } from '../contracts/tracing.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';

type TracingDeps = Pick<GatewayBase, 'config' | 'logger' | 'version' | 'addLogFields'>;

/**
 * OpenTelemetry traces of turns (`tracing` in the config, docs/agents.md). Off, it hands out
 * `NO_TRACING` and loads nothing; on, it loads the SDK and the OTLP exporter, adds each traced
 * turn's `traceId` to the log lines that name its run, and on stop sends what is left and shuts
 * the exporter down. `tracing` is read at start only.
 */
export const tracingSubsystem = defineSubsystem({
  name: 'tracing',
  async start({ config, logger, version, addLogFields }: TracingDeps) {
    const settings = config.current().tracing;
    if (!settings.enabled) return { api: NO_TRACING as Tracer };
    const { createOtelTracer } = await import('./otel-tracer.js');
    const tracer = createOtelTracer({ settings, version, logger });
    const removeLogFields = addLogFields((line) => {
      const runId = (line as { runId?: unknown }).runId;
      const traceId = typeof runId === 'string' ? tracer.traceIdOf(runId) : undefined;
      return traceId ? { traceId } : undefined;
    });
    logger.info({ endpoint: settings.endpoint, sampleRatio: settings.sampleRatio }, 'tracing turns to the OTLP endpoint');
    return {
      api: tracer as Tracer,
      health() {
        const stats = tracer.stats();
        if (stats.failing) return { status: 'degraded' as const, detail: `${settings.endpoint}: ${stats.exportedSpans} spans sent, ${stats.failedExports} exports failed (last: ${stats.lastError})` };
        return { status: 'ok' as const, detail: `${settings.endpoint}: ${stats.exportedSpans} spans sent` };
      },
      async stop() {
        removeLogFields();
        await tracer.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'the last traces could not be sent'));
      },
    };
  },
});
