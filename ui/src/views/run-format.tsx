import { Status } from '../parts';

/** What runs.list and runs.get say about a run (docs/api.md). */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface RunSummary {
  runId: string;
  sessionKey: string;
  agentId: string;
  trigger: string;
  status: string;
  provider: string | null;
  model: string | null;
  usage: Usage | null;
  costUsd: number | null;
  error: { code: string; message: string } | string | null;
  attempts: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  durationMs: number | null;
}

export const runLight = (status: string) => <Status status={status === 'ok' ? 'ok' : status === 'error' ? 'down' : status === 'running' || status === 'queued' ? 'starting' : 'degraded'} label={status} />;
export const errorText = (error: RunSummary['error']) => (error === null ? null : typeof error === 'string' ? error : `${error.code}: ${error.message}`);
export const duration = (ms: number | null | undefined) => (ms === null || ms === undefined ? '—' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);
export const money = (usd: number | null) => (usd === null ? '—' : `$${usd.toFixed(4)}`);
export const tokens = (usage: Usage | null | undefined) => (usage ? `${usage.inputTokens} in, ${usage.outputTokens} out` : '—');

