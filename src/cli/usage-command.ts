import { CliFailure, type CliRuntime, withGateway } from './cli-context.js';

interface Totals {
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  runs: number;
}

interface UsageReport {
  totals: Totals;
  days: Array<Totals & { day: string }>;
  agents: Array<Totals & { agentId: string }>;
  models: Array<Totals & { model: string | null }>;
}

const number = (value: number) => value.toLocaleString('en-US');
const usd = (value: number) => `$${value.toFixed(value > 0 && value < 1 ? 4 : 2)}`;

function table(title: string, rows: Array<[string, Totals]>): string {
  const width = Math.max(title.length, ...rows.map(([name]) => name.length));
  const lines = [`${title.padEnd(width)}  ${'tokens'.padStart(12)}  ${'cost'.padStart(10)}  ${'runs'.padStart(6)}`];
  for (const [name, totals] of rows) lines.push(`${name.padEnd(width)}  ${number(totals.tokens).padStart(12)}  ${usd(totals.costUsd).padStart(10)}  ${String(totals.runs).padStart(6)}`);
  return lines.join('\n');
}

/** `hearth usage`: tokens and cost per day, agent and model (`usage.summary`). */
export async function showUsage(runtime: CliRuntime, options: { json?: boolean; days: string }): Promise<void> {
  const days = Number(options.days);
  if (!Number.isInteger(days) || days < 1 || days > 90) throw new CliFailure('--days takes a whole number from 1 to 90.');
  const report = await withGateway(runtime.env, runtime.io, (client) => client.call<UsageReport>('usage.summary', { days }));
  if (options.json) {
    runtime.io.out(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const sections = [
    table('day', report.days.map((row) => [row.day, row])),
    table('agent', report.agents.map((row) => [row.agentId, row])),
    table('model', report.models.map((row) => [row.model ?? '(none)', row])),
    `total: ${number(report.totals.tokens)} tokens (${number(report.totals.inputTokens)} in, ${number(report.totals.outputTokens)} out), ${usd(report.totals.costUsd)}, ${report.totals.runs} runs`,
  ];
  runtime.io.out(`${sections.join('\n\n')}\n`);
}
