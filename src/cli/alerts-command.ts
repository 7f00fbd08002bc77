import { type CliRuntime, withGateway } from './cli-context.js';

interface AlertShown {
  id: number;
  event: string;
  payload: Record<string, unknown>;
  status: string;
  lastError: string | null;
  createdAt: number;
}

/** `hearth alerts [--event <e>] [--limit <n>] [--json]` */
export async function alertsList(runtime: CliRuntime, options: { event?: string; limit?: number; json?: boolean }): Promise<void> {
  const params = { ...(options.event ? { event: options.event } : {}), ...(options.limit ? { limit: options.limit } : {}) };
  const { alerts } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ alerts: AlertShown[] }>('alerts.list', params));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(alerts, null, 2)}\n`);
    return;
  }
  if (alerts.length === 0) {
    runtime.io.out(options.event ? `No ${options.event} alerts.\n` : 'No alerts have been raised.\n');
    return;
  }
  for (const alert of alerts) {
    const text = typeof alert.payload.text === 'string' ? alert.payload.text : alertSummary(alert.payload);
    runtime.io.out(`${new Date(alert.createdAt).toISOString()}  ${alert.event}  ${alert.status}${alert.lastError ? ` (${alert.lastError})` : ''}\n  ${text}\n`);
  }
}

function alertSummary(payload: Record<string, unknown>): string {
  const where = [payload.channel, payload.account].filter((part) => typeof part === 'string').join(':');
  const what = [payload.dimension, payload.status].filter((part) => typeof part === 'string').join(' ');
  return [where, what, typeof payload.detail === 'string' ? payload.detail : ''].filter(Boolean).join(' — ') || JSON.stringify(payload);
}
