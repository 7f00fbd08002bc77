import { HearthError } from '../../contracts/errors.js';
import type { ChatMessage, ToolCallRecord, Usage } from '../../contracts/messages.js';
import type { Store } from '../../contracts/store.js';
import type { PlanStep, PlanStepCheckpoint, RunPlanRecord, StructuredPlan } from '../../contracts/structured-plan.js';
import type { AgentLoop, AgentProfile, AgentTools, AgentTurnInput, AgentTurnOutput } from '../agent-loop.js';
import { parsePlan, planningInstructions } from './plan-parsing.js';
import { describeShape, verifyStepOutput } from './plan-shapes.js';

export interface StructuredLoopDeps {
  /** The conversational loop: each plan step runs as one bounded segment of it. */
  runTurn: AgentLoop;
  tools: Pick<AgentTools, 'specs'>;
  store: Pick<Store, 'getRunPlan' | 'putRunPlan' | 'listRunSteps'>;
  /** Names of the tools that change something: an interrupted step is told which of them already ran. */
  sideEffectTools?: () => string[];
  /** Retries of a step whose output fails verification before the run stops (default 2). */
  maxStepRetries?: number;
  now?: () => number;
}

export interface StructuredTurnInput extends AgentTurnInput {
  /** The stopped structured run this one continues (its finished steps are not run again). */
  resumeOf?: string;
}

/** Whatever the segments of one structured turn produced, added up. */
interface Tally {
  usage: Usage;
  toolCalls: ToolCallRecord[];
  modelRef?: string;
}

const MAX_OUTPUT_IN_PROMPT = 2000;

/**
 * The structured loop: plan (a JSON plan checked against its schema, asked again once), then each
 * step as its own agent-loop segment restricted to the step's tools, its output verified against
 * the step's declared shape (retried, then the run stops with the reason), every step
 * checkpointed in the store before the next one starts; a run that starts again (after a crash,
 * or through `resumeOf`) goes on at its first unfinished step. Like the agent loop, it never
 * throws: failures come back as `status: 'error'`.
 */
export function createStructuredLoop(deps: StructuredLoopDeps) {
  const now = deps.now ?? Date.now;
  const maxRetries = deps.maxStepRetries ?? 2;

  const save = (record: RunPlanRecord): Promise<void> => deps.store.putRunPlan({ ...record, updatedAt: now() });

  function absorb(tally: Tally, output: AgentTurnOutput): void {
    tally.usage.inputTokens += output.usage.inputTokens;
    tally.usage.outputTokens += output.usage.outputTokens;
    tally.toolCalls.push(...output.toolCalls);
    if (output.modelRef) tally.modelRef = output.modelRef;
  }

  function finish(tally: Tally, status: AgentTurnOutput['status'], reply: string, error?: HearthError): AgentTurnOutput {
    return {
      status,
      reply,
      messages: reply === '' ? [] : [{ role: 'assistant', content: reply }],
      toolCalls: tally.toolCalls,
      usage: tally.usage,
      ...(tally.modelRef ? { modelRef: tally.modelRef } : {}),
      ...(error ? { error } : {}),
    };
  }

  /** The agent with every tool but `allowed` withheld, saying why. */
  function restricted(agent: AgentProfile, available: readonly string[], allowed: readonly string[], why: string): AgentProfile {
    const withheld: Record<string, string> = { ...agent.toolPolicy.withheld };
    for (const name of available) if (!allowed.includes(name)) withheld[name] = why;
    return { ...agent, toolPolicy: { ...agent.toolPolicy, withheld } };
  }

  function segment(input: StructuredTurnInput, agent: AgentProfile, system: string, messages: ChatMessage[]): AgentTurnInput {
    return {
      runId: input.runId,
      sessionKey: input.sessionKey,
      agent,
      system,
      ...(input.history ? { history: input.history } : {}),
      ...(input.onContextOverflow ? { onContextOverflow: input.onContextOverflow } : {}),
      messages,
      ...(input.untrustedInput ? { untrustedInput: input.untrustedInput } : {}),
      signal: input.signal,
      onDelta: () => {},
      recordStep: input.recordStep,
    };
  }

  /** Asks the model for a plan; an invalid one is asked again once with what was wrong. */
  async function makePlan(input: StructuredTurnInput, available: string[], tally: Tally): Promise<{ plan: StructuredPlan } | { output: AgentTurnOutput }> {
    const agent = restricted(input.agent, available, [], 'planning (no tool runs while the plan is made)');
    const system = `${input.system}\n\n${planningInstructions(available)}`;
    const messages: ChatMessage[] = [...input.messages];
    let reason = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      const output = await deps.runTurn(segment(input, agent, system, [...messages]));
      absorb(tally, output);
      if (output.status !== 'ok') return { output: finish(tally, output.status, '', output.error) };
      const parsed = parsePlan(output.reply, available);
      if (parsed.ok) return { plan: parsed.plan };
      reason = parsed.reason;
      messages.push({ role: 'assistant', content: output.reply }, { role: 'user', content: `That plan is not valid: ${reason}. Reply with the corrected plan as JSON only.` });
    }
    const message = `The model did not give a valid plan after 2 tries (${reason}), so nothing was done. Send the request again, or use an agent with loop "conversational".`;
    return { output: finish(tally, 'error', message, new HearthError('PLAN_INVALID', message)) };
  }

  /** A fresh record for a new plan, or one continuing a stopped run's plan at its first unfinished step. */
  function freshRecord(runId: string, plan: StructuredPlan, previous: RunPlanRecord | null): RunPlanRecord {
    const at = now();
    const pending = (id: string): PlanStepCheckpoint => ({ id, status: 'pending', attempts: 0, failures: 0, output: null, verification: null, toolCalls: [], startedAt: null, finishedAt: null });
    const steps = plan.steps.map((step, index) => {
      const before = previous?.steps[index];
      return before?.status === 'done' ? before : pending(step.id);
    });
    return { runId, plan, status: 'running', reason: null, steps, resumeOf: previous?.runId ?? null, createdAt: at, updatedAt: at };
  }

  /** Side-effect tool calls an interrupted attempt of the step already made (from the run's recorded steps). */
  async function alreadyRan(runId: string, checkpoint: PlanStepCheckpoint): Promise<string[]> {
    if (checkpoint.status !== 'running' || checkpoint.startedAt === null) return [];
    const effects = new Set(deps.sideEffectTools?.() ?? []);
    const steps = await deps.store.listRunSteps(runId);
    return steps
      .filter((step) => step.kind === 'tool' && !step.error && step.startedAt >= checkpoint.startedAt! && effects.has(step.name))
      .map((step) => `${step.name} ${JSON.stringify(step.input)}`);
  }

  function stepPrompt(task: string, record: RunPlanRecord, index: number, notes: string[]): string {
    const { plan } = record;
    const step = plan.steps[index]!;
    const done = record.steps
      .map((checkpoint, at) => (checkpoint.status === 'done' ? `${at + 1}. ${plan.steps[at]!.id}: ${clip(JSON.stringify(checkpoint.output))}` : null))
      .filter((line) => line !== null);
    return [
      `The task: ${task}`,
      `The plan:\n${plan.steps.map((item, at) => `${at + 1}. ${item.id}: ${item.goal}`).join('\n')}`,
      ...(done.length > 0 ? [`Outputs of the finished steps:\n${done.join('\n')}`] : []),
      `Now do step ${index + 1} of ${plan.steps.length}, "${step.id}": ${step.goal}`,
      ...(step.preconditions.length > 0 ? [`Preconditions: ${step.preconditions.join('; ')}`] : []),
      step.tools.length > 0 ? `You may use only these tools: ${step.tools.join(', ')}.` : 'Use no tools in this step.',
      ...notes,
      `When the step is done, reply with only its output: ${describeShape(step.expect)}.`,
    ].join('\n\n');
  }

  /** Runs one step until its output passes verification, or it has failed too often (then null with the record updated). */
  async function runStep(input: StructuredTurnInput, record: RunPlanRecord, index: number, task: string, available: string[], tally: Tally): Promise<AgentTurnOutput | null> {
    const step: PlanStep = record.plan.steps[index]!;
    const agent = restricted(input.agent, available, step.tools, `plan step "${step.id}" (its tools: ${step.tools.join(', ') || 'none'})`);
    for (;;) {
      const before = record.steps[index]!;
      const notes: string[] = [];
      const ran = await alreadyRan(input.runId, before);
      if (ran.length > 0) notes.push(`An earlier attempt of this step was interrupted after these calls had already run: ${ran.join('; ')}. Do not run them again; check their effect if you need to.`);
      if (before.failures > 0 && before.verification) notes.push(`Your previous output for this step was refused: ${before.verification}.`);
      record.steps[index] = { ...before, status: 'running', attempts: before.attempts + 1, startedAt: now() };
      await save(record);
      const output = await deps.runTurn(segment(input, agent, input.system, [{ role: 'user', content: stepPrompt(task, record, index, notes) }]));
      absorb(tally, output);
      if (output.status === 'aborted' || input.signal.aborted) {
        record.status = 'stopped';
        record.reason = `Stopped during step ${index + 1} ("${step.id}").`;
        await save(record);
        return finish(tally, 'aborted', '', output.error ?? new HearthError('ABORTED', 'The turn was stopped before it finished.'));
      }
      const verdict = output.status === 'ok' ? verifyStepOutput(step.expect, output.reply) : { ok: false as const, reason: `the step ended without an output (${output.error?.code ?? 'ERROR'}: ${output.error?.message ?? 'no answer'})` };
      const current = record.steps[index]!;
      if (verdict.ok) {
        record.steps[index] = { ...current, status: 'done', output: verdict.output, verification: 'ok', toolCalls: output.toolCalls, finishedAt: now() };
        await save(record);
        return null;
      }
      const failures = current.failures + 1;
      if (failures <= maxRetries) {
        record.steps[index] = { ...current, status: 'pending', failures, verification: verdict.reason };
        await save(record);
        continue;
      }
      const message =
        `Stopped at step ${index + 1} of ${record.plan.steps.length} ("${step.id}"): its output failed verification ${failures} times: ${verdict.reason}.` +
        (index > 0 ? ` Steps 1–${index} are done and will not run again.` : '') +
        ` \`hearth runs resume ${input.runId}\` continues from step ${index + 1}.`;
      record.steps[index] = { ...current, status: 'failed', failures, verification: verdict.reason, finishedAt: now() };
      record.status = 'failed';
      record.reason = message;
      await save(record);
      return finish(tally, 'error', message, new HearthError('STEP_FAILED', message));
    }
  }

  return async function runStructuredTurn(input: StructuredTurnInput): Promise<AgentTurnOutput> {
    const tally: Tally = { usage: { inputTokens: 0, outputTokens: 0 }, toolCalls: [] };
    try {
      const available = deps.tools.specs(input.agent.toolPolicy).map((spec) => spec.name);
      let record = await deps.store.getRunPlan(input.runId);
      // Steps this run finished before a restart: their calls are the run's too (a resumed run's earlier steps belong to the run it continues).
      if (record) for (const step of record.steps) if (step.status === 'done') tally.toolCalls.push(...step.toolCalls);
      if (!record && input.resumeOf) {
        const previous = await deps.store.getRunPlan(input.resumeOf);
        if (!previous) throw new HearthError('NOT_FOUND', `Run ${input.resumeOf} has no plan to continue.`);
        record = freshRecord(input.runId, previous.plan, previous);
        await save(record);
      }
      if (!record) {
        const planned = await makePlan(input, available, tally);
        if ('output' in planned) return planned.output;
        record = freshRecord(input.runId, planned.plan, null);
        await save(record);
      } else if (record.status !== 'running') {
        record = { ...record, status: 'running', reason: null };
        await save(record);
      }
      const task = [...input.messages].reverse().find((message) => message.role === 'user')?.content ?? '';
      for (let index = 0; index < record.plan.steps.length; index++) {
        if (record.steps[index]?.status === 'done') continue;
        const stopped = await runStep(input, record, index, task, available, tally);
        if (stopped) return stopped;
      }
      record.status = 'ok';
      await save(record);
      const reply = summary(record);
      input.onDelta(reply);
      return finish(tally, 'ok', reply);
    } catch (error) {
      const failure = error instanceof HearthError ? error : new HearthError('TURN_FAILED', `The structured run failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      return finish(tally, 'error', '', failure);
    }
  };
}

export type StructuredLoop = ReturnType<typeof createStructuredLoop>;

function clip(text: string): string {
  return text.length > MAX_OUTPUT_IN_PROMPT ? `${text.slice(0, MAX_OUTPUT_IN_PROMPT)}…` : text;
}

/** The reply of a finished plan: each step's goal and verified output. */
function summary(record: RunPlanRecord): string {
  const lines = record.plan.steps.map((step, index) => {
    const output = record.steps[index]?.output;
    const text = typeof output === 'string' ? output : JSON.stringify(output);
    return `${index + 1}. ${step.goal}: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`;
  });
  return `Done: all ${record.plan.steps.length} steps of the plan.\n${lines.join('\n')}`;
}
