import type { RunPlanRecord } from '../contracts/structured-plan.js';
import { describeShape } from '../agent/structured/plan-shapes.js';
import { CliFailure, type CliRuntime, withGateway } from './cli-context.js';

const clip = (text: string, width: number) => {
  const flat = text.replace(/\s+/gu, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};

/** A structured run's plan for `hearth runs show`: each step's goal, status, attempts and verification. */
export function describePlan(record: RunPlanRecord): string[] {
  const lines = [`Plan      ${record.status}${record.resumeOf ? `, continuing ${record.resumeOf}` : ''}${record.reason ? `: ${record.reason}` : ''}`];
  record.plan.steps.forEach((step, index) => {
    const checkpoint = record.steps[index];
    const status = checkpoint?.status ?? 'pending';
    const attempts = checkpoint?.attempts ?? 0;
    lines.push(`  ${index + 1}. [${status}] ${step.id}: ${clip(step.goal, 80)}  (${attempts} attempt${attempts === 1 ? '' : 's'})`);
    lines.push(`     tools: ${step.tools.join(', ') || 'none'}; expects ${describeShape(step.expect)}`);
    if (step.preconditions.length > 0) lines.push(`     preconditions: ${clip(step.preconditions.join('; '), 100)}`);
    if (checkpoint?.verification) lines.push(`     verification: ${checkpoint.verification === 'ok' ? 'passed' : `failed: ${clip(checkpoint.verification, 120)}`}`);
    if (status === 'done') lines.push(`     output: ${clip(typeof checkpoint?.output === 'string' ? checkpoint.output : JSON.stringify(checkpoint?.output), 120)}`);
    if (step.rollback) lines.push(`     rollback: ${clip(step.rollback, 100)}`);
  });
  return lines;
}

/** `hearth runs resume <runId>`: continues a failed or stopped structured run from its first unfinished step. */
export async function runsResume(runtime: CliRuntime, runId: string, options: { json?: boolean; timeout: string }): Promise<void> {
  const timeoutMs = Math.max(1, Number(options.timeout) || 600) * 1000;
  const result = await withGateway(runtime.env, runtime.io, (client) =>
    client.call<{ resumeOf: string; runId: string; finished: boolean; status: string; reply: string | null; error: { code: string; message: string } | null }>('runs.resume', { runId, timeoutMs }, timeoutMs + 5000),
  );
  if (options.json) {
    runtime.io.out(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const lines = [
      `Resumed ${result.resumeOf} as ${result.runId}: ${result.status}${result.finished ? '' : ' (still running; hearth runs show shows it)'}`,
      ...(result.error ? [`Error     ${result.error.code}: ${result.error.message}`] : []),
    ...(result.reply ? [`Reply     ${clip(result.reply, 400)}`] : []),
  ];
  if (result.finished && result.status !== 'ok') throw new CliFailure(lines.join('\n'));
  runtime.io.out(`${lines.join('\n')}\n`);
}
