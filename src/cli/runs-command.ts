import { withGateway } from './cli-context.js';
import type { CliRuntime } from './main.js';

interface RunSummary {
  runId: string;
  sessionKey: string;
  agentId: string;
  trigger: string;
  status: string;
  provider: string | null;
  model: string | null;
  usage: { inputTokens: number; outputTokens: number } | null;
  costUsd: number | null;
  error: { code: string; message: string } | null;
  attempts: number;
  createdAt: number;
  durationMs: number | null;
  toolCalls: number;
}

interface RunDetail extends Omit<RunSummary, 'toolCalls'> {
  reply: string | null;
  toolCalls: { name: string; arguments: unknown; result: string; durationMs: number; error?: string }[];
  steps: { seq: number; kind: string; name: string; input?: unknown; output?: unknown; error?: string; startedAt: number; durationMs: number; usage?: { inputTokens: number; outputTokens: number } }[];
}

const clip = (text: string, width: number) => {
  const flat = text.replace(/\s+/gu, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};
const ms = (value: number | null) => (value === null ? '-' : `${Math.round(value)} ms`);
const tokens = (usage: RunSummary['usage']) => (usage ? `${usage.inputTokens}→${usage.outputTokens} tokens` : 'no usage');
const cost = (usd: number | null) => (usd === null ? '' : ` ($${usd.toFixed(4)})`);

export async function runsList(runtime: CliRuntime, options: { json?: boolean; limit: string; session?: string }): Promise<void> {
  const { runs } = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ runs: RunSummary[] }>('runs.list', { limit: Math.min(1000, Math.max(1, Number(options.limit) || 20)), ...(options.session ? { sessionKey: options.session } : {}) }),
  );
  if (options.json) {
    runtime.io.out(`${JSON.stringify(runs, null, 2)}\n`);
    return;
  }
  if (runs.length === 0) {
    runtime.io.out('No runs yet.\n');
    return;
  }
  for (const run of runs) {
    const model = run.model ? `${run.provider ? `${run.provider}/` : ''}${run.model}` : 'no model';
    const problem = run.error ? `  ${run.error.code}: ${clip(run.error.message, 60)}` : '';
    runtime.io.out(
      `${run.runId}  ${new Date(run.createdAt).toISOString()}  ${run.status}  ${run.trigger}  ${run.sessionKey}  ${model}  ${ms(run.durationMs)}  ${tokens(run.usage)}${cost(run.costUsd)}  ${run.toolCalls} tool calls${problem}\n`,
    );
  }
}

export async function runsShow(runtime: CliRuntime, runId: string, options: { json?: boolean }): Promise<void> {
  const run = await withGateway(runtime.env, runtime.io, (client) => client.call<RunDetail>('runs.get', { runId }));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(run, null, 2)}\n`);
    return;
  }
  const lines = [
    `Run       ${run.runId} (${run.status}, attempt ${run.attempts})`,
    `Trigger   ${run.trigger} in ${run.sessionKey} (agent ${run.agentId})`,
    `Model     ${run.model ? `${run.model}${run.provider ? ` via ${run.provider}` : ''}` : 'none'}`,
    `Time      ${new Date(run.createdAt).toISOString()}, took ${ms(run.durationMs)}`,
    `Tokens    ${tokens(run.usage)}${cost(run.costUsd)}`,
  ];
  if (run.error) lines.push(`Error     ${run.error.code}: ${run.error.message}`);
  lines.push('Steps');
  for (const step of run.steps) {
    const detail =
      step.kind === 'tool'
        ? `${JSON.stringify(step.input ?? {})} → ${clip(typeof step.output === 'string' ? step.output : JSON.stringify(step.output ?? ''), 80)}`
        : clip(JSON.stringify(step.output ?? ''), 100);
    lines.push(`  ${step.seq}. ${step.kind} ${step.name}  ${ms(step.durationMs)}${step.usage ? `  ${tokens(step.usage)}` : ''}${step.error ? `  error: ${clip(step.error, 80)}` : ''}`);
    lines.push(`     ${detail}`);
  }
  if (run.reply) lines.push(`Reply     ${clip(run.reply, 200)}`);
  runtime.io.out(`${lines.join('\n')}\n`);
}
