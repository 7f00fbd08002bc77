import { type CliRuntime, withGateway } from './cli-context.js';
import type { RunPlanRecord } from '../contracts/structured-plan.js';
import { describePlan } from './run-plan-view.js';

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
  /** The OpenTelemetry trace id of a traced turn; null otherwise. */
  traceId?: string | null;
}

interface RunDetail extends Omit<RunSummary, 'toolCalls'> {
  costUsd: number | null;
  reply: string | null;
  toolCalls: { name: string; arguments: unknown; result: string; durationMs: number; error?: string }[];
  steps: { seq: number; kind: string; name: string; input?: unknown; output?: unknown; error?: string; startedAt: number; durationMs: number; usage?: { inputTokens: number; outputTokens: number } }[];
  /** A structured run's plan and checkpoints; null for a conversational run. */
  plan?: RunPlanRecord | null;
}

const clip = (text: string, width: number) => {
  const flat = text.replace(/\s+/gu, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};
const ms = (value: number | null) => (value === null ? '-' : `${Math.round(value)} ms`);
const tokens = (usage: RunSummary['usage']) => (usage ? `${usage.inputTokens}→${usage.outputTokens} tokens` : 'no usage');
const cost = (usd: number | null) => (usd === null ? '' : ` ($${usd.toFixed(4)})`);

interface Retrieval {
  query?: string;
  queryHash?: string;
  backend: string;
  provider: { providerId: string; model: string } | null;
  results: { citation: string; score: number; provenance: string }[];
  citationsInPrompt: boolean;
  warning?: string;
}

/** A memory retrieval of a run: the query, how it searched (and through which provider), what it found. */
function describeRetrieval(retrieval: Retrieval): string {
  const query = retrieval.query !== undefined ? JSON.stringify(retrieval.query) : `query sha256 ${retrieval.queryHash?.slice(0, 12)}…`;
  const how = `${retrieval.backend}${retrieval.provider ? ` via ${retrieval.provider.providerId}/${retrieval.provider.model}` : ''}`;
  const found = retrieval.results.length === 0 ? 'no results' : retrieval.results.map((hit) => `${hit.citation} ${hit.score} ${hit.provenance}`).join(', ');
  return `     memory ${query} (${how}) → ${found}${retrieval.citationsInPrompt ? '; citations given to the model' : ''}${retrieval.warning ? `; warning: ${clip(retrieval.warning, 80)}` : ''}`;
}

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
  if (run.plan) lines.push(...describePlan(run.plan));
  if (run.traceId) lines.push(`Trace     ${run.traceId}`);
  lines.push('Steps');
  for (const step of run.steps) {
    const detail =
      step.kind === 'tool'
        ? `${JSON.stringify(step.input ?? {})} → ${clip(typeof step.output === 'string' ? step.output : JSON.stringify(step.output ?? ''), 80)}`
        : clip(JSON.stringify(step.output ?? ''), 100);
    lines.push(`  ${step.seq}. ${step.kind} ${step.name}  ${ms(step.durationMs)}${step.usage ? `  ${tokens(step.usage)}` : ''}${step.error ? `  error: ${clip(step.error, 80)}` : ''}`);
    const retrieval = (step.output as { retrieval?: Retrieval } | undefined)?.retrieval;
    lines.push(retrieval ? describeRetrieval(retrieval) : `     ${detail}`);
  }
  if (run.reply) lines.push(`Reply     ${clip(run.reply, 200)}`);
  runtime.io.out(`${lines.join('\n')}\n`);
}

export async function runsReplay(runtime: CliRuntime, runId: string, options: { json?: boolean; timeout: string }): Promise<void> {
  const timeoutMs = Math.max(1, Number(options.timeout) || 600) * 1000;
  const result = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ replayOf: string; runId: string; finished: boolean; status: string; reply: string | null; error: { code: string; message: string } | null }>(
      'runs.replay',
      { runId, timeoutMs },
      timeoutMs + 5000,
    ),
  );
  if (options.json) {
    runtime.io.out(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const lines = [
    `Replayed ${result.replayOf} as ${result.runId} (side-effecting tools withheld): ${result.status}`,
    ...(result.error ? [`Error     ${result.error.code}: ${result.error.message}`] : []),
    ...(result.reply ? [`Reply     ${clip(result.reply, 400)}`] : []),
    `Compare: hearth runs diff ${result.replayOf} ${result.runId}`,
  ];
  runtime.io.out(`${lines.join('\n')}\n`);
}

/** Lines of `before` and `after` as a minimal line diff (` `, `-`, `+`), from their longest common subsequence. */
export function diffLines(before: string[], after: string[]): string[] {
  const rows = before.length;
  const cols = after.length;
  if (rows * cols > 4_000_000) return [...before.map((line) => `- ${line}`), ...after.map((line) => `+ ${line}`)];
  const table = Array.from({ length: rows + 1 }, () => new Array<number>(cols + 1).fill(0));
  for (let i = rows - 1; i >= 0; i--) {
    for (let j = cols - 1; j >= 0; j--) {
      table[i]![j] = before[i] === after[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < rows && j < cols) {
    if (before[i] === after[j]) {
      out.push(`  ${before[i]}`);
      i++;
      j++;
    } else if (table[i + 1]![j]! >= table[i]![j + 1]!) {
      out.push(`- ${before[i++]}`);
    } else {
      out.push(`+ ${after[j++]}`);
    }
  }
  while (i < rows) out.push(`- ${before[i++]}`);
  while (j < cols) out.push(`+ ${after[j++]}`);
  return out;
}

export async function runsDiff(runtime: CliRuntime, a: string, b: string, options: { json?: boolean }): Promise<void> {
  const [left, right] = await withGateway(runtime.env, runtime.io, (client) => Promise.all([client.call<RunDetail>('runs.get', { runId: a }), client.call<RunDetail>('runs.get', { runId: b })]));
  const model = (run: RunDetail) => (run.model ? `${run.provider ? `${run.provider}/` : ''}${run.model}` : 'none');
  const calls = (run: RunDetail) => run.toolCalls.map((call) => `${call.name} ${JSON.stringify(call.arguments)}${call.error ? ` (error: ${call.error})` : ''}`);
  const fields: [string, string, string][] = [
    ['status', left.status, right.status],
    ['trigger', left.trigger, right.trigger],
    ['model', model(left), model(right)],
    ['tokens', tokens(left.usage), tokens(right.usage)],
    ['cost', left.costUsd === null ? '-' : `$${left.costUsd.toFixed(4)}`, right.costUsd === null ? '-' : `$${right.costUsd.toFixed(4)}`],
    ['duration', ms(left.durationMs), ms(right.durationMs)],
    ['steps', String(left.steps.length), String(right.steps.length)],
    ['error', left.error ? left.error.code : '-', right.error ? right.error.code : '-'],
  ];
  const toolDiff = diffLines(calls(left), calls(right));
  const replyDiff = diffLines((left.reply ?? '').split('\n'), (right.reply ?? '').split('\n'));
  if (options.json) {
    runtime.io.out(
      `${JSON.stringify(
        {
          a: left.runId,
          b: right.runId,
          fields: Object.fromEntries(fields.map(([name, x, y]) => [name, { a: x, b: y, same: x === y }])),
          toolCalls: toolDiff,
          reply: replyDiff,
          sameReply: (left.reply ?? '') === (right.reply ?? ''),
        },
        null,
        2,
      )}\n`,
    );
    return;
  }
  const lines = [`a = ${left.runId}`, `b = ${right.runId}`];
  for (const [name, x, y] of fields) lines.push(`${name.padEnd(9)} ${x === y ? `${x} (same)` : `${x} → ${y}`}`);
  lines.push('Tool calls', ...(toolDiff.length > 0 ? toolDiff.map((line) => `  ${line}`) : ['  (none)']));
  lines.push((left.reply ?? '') === (right.reply ?? '') ? 'Reply     (same)' : 'Reply', ...((left.reply ?? '') === (right.reply ?? '') ? [] : replyDiff.map((line) => `  ${line}`)));
  runtime.io.out(`${lines.join('\n')}\n`);
}
