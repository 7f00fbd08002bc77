import type { ToolProfile } from '../contracts/tool-groups.js';
import type { ExecPolicy } from '../tools/exec-policy.js';
import { refusingRule } from '../tools/tool-registry.js';
import type { PackedMessages } from '../contracts/packed-messages.js';
import type { DailyBudget } from '../contracts/automation.js';
import type { HeartbeatConfig, MemoryConfig } from '../config/schema.js';
import { HearthError, toHearthError } from '../contracts/errors.js';
import type { ChatMessage, ToolCall, ToolCallRecord, Usage } from '../contracts/messages.js';
import type { ModelRouter, ToolSpec } from '../contracts/model-provider.js';
import type { RunStepInput } from '../contracts/store.js';
import type { OperatorAnswer, OperatorQuestion, RunTrust, Tool, ToolContext, ToolResult } from '../contracts/tool.js';
import { createRunTrust } from './run-trust.js';
import { type Capability, parseCapability } from '../skills/capabilities.js';
import { missingCapability } from '../skills/capability-check.js';
import { instructionsOf, type SkillCatalog } from '../skills/skill-catalog.js';

/** The resolved settings of one agent for one turn. */
export interface AgentProfile {
  id: string;
  name: string;
  workspaceDir: string;
  /** Primary model first, then fallbacks. Empty when no model is configured anywhere. */
  modelRefs: string[];
  toolPolicy: { profile?: ToolProfile; allow?: string[]; deny?: string[]; withheld?: Record<string, string> };
  /** `tools.exec` (defaults overlaid with the agent's own, defaults filled in); absent: every command refused. */
  exec?: ExecPolicy;
  /** `tools.web`: the hosts web_fetch may reach although they are local or private. */
  web?: { allowHosts: string[] };
  maxSteps: number;
  turnTimeoutMs: number;
  contextTokens: number;
  maxOutputTokens: number;
  systemPrompt?: string;
  /** Daily token and cost limits for the agent's turns. */
  budget?: DailyBudget;
  heartbeat?: HeartbeatConfig;
  /** The agent's memory settings (`agents.defaults.memory` overlaid with the agent's own). */
  memory?: MemoryConfig;
  /** How the agent's long sessions are compacted (`agents.defaults.compaction` with the agent's own over it, defaults filled in; absent: the defaults). */
  compaction?: CompactionSettings;
  /** The skills the agent may use, by name (`agents.*.skills`); absent: every eligible skill. */
  skills?: string[];
  /** `structured`: the agent's turns run as checkpointed plans (`agents.*.loop`); absent: conversational. */
  loop?: 'structured';
}

export interface CompactionSettings {
  enabled: boolean;
  mode: 'safeguard' | 'default';
  triggerPercent: number;
  keepRecentTokens: number;
  memoryFlush: boolean;
  model?: string;
}

/** The tools an agent may see and call. */
export interface AgentTools {
  get(name: string): Tool | undefined;
  specs(policy: { allow?: string[]; deny?: string[] }): ToolSpec[];
  isAllowed(name: string, policy: { allow?: string[]; deny?: string[] }): boolean;
}

export interface AgentTurnInput {
  runId: string;
  sessionKey: string;
  agent: AgentProfile;
  system: string;
  /** The session's history within budget, packed; the model sees it before `messages`. */
  history?: PackedMessages;
  /**
   * Called once a turn when the provider refuses the context as too long: compacts the history
   * and returns the new one (the step is then tried again with it), or null.
   */
  onContextOverflow?: () => Promise<PackedMessages | null>;
  /** The new user message (or a stateless request's messages). */
  messages: ChatMessage[];
  /** Why this turn's input is not the owner's (TurnOptions.untrustedInput); memory it writes is then untrusted. */
  untrustedInput?: string;
  signal: AbortSignal;
  onDelta(text: string): void;
  recordStep(step: RunStepInput): Promise<void>;
}

export interface AgentTurnOutput {
  status: 'ok' | 'error' | 'aborted';
  reply: string;
  /** Messages this turn produced (assistant and tool messages), to be added to the transcript. */
  messages: ChatMessage[];
  toolCalls: ToolCallRecord[];
  usage: Usage;
  modelRef?: string;
  error?: HearthError;
}

export interface ToolHookPayload {
  tool: string;
  args: unknown;
  agentId: string;
  sessionKey: string;
  runId: string;
}

export interface AgentLoopDeps {
  models: ModelRouter;
  tools: AgentTools;
  /** Plugins' hooks around every tool call (docs/plugins.md): `before` may refuse it. */
  toolHooks?: {
    before(payload: ToolHookPayload): Promise<{ refuse: string; plugin: string } | null>;
    after(payload: ToolHookPayload & { result: { content: string; isError: boolean } }): Promise<void>;
  };
  /** Skills the user can invoke with `/<skill-name>` (docs/skills.md). */
  skills?: Pick<SkillCatalog, 'load'>;
  /** Where tools ask the operator (exec approvals); without it, nothing can be approved. */
  approvals?: { ask(question: OperatorQuestion & { runId: string; sessionKey: string; agentId: string; signal: AbortSignal }): Promise<OperatorAnswer> };
  now?: () => number;
}

const MAX_TOOL_RESULT_CHARS = 64_000;

function parseArguments(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: `The arguments are not valid JSON (${(error as Error).message}). Send a JSON object.` };
  }
}

/**
 * Runs one agent turn: model call, tool calls, model call… until the model answers without
 * asking for tools, the step limit is reached, the turn is aborted or times out. It never throws:
 * every failure comes back as `status: 'error'` with a classified HearthError, and every step is
 * handed to `recordStep` as it completes.
 */
export function createAgentLoop(deps: AgentLoopDeps) {
  const now = deps.now ?? Date.now;

  /** Why a call may not run (no such tool, the agent's policy, bad arguments, the active skill's capabilities), or null. */
  function refusalOf(name: string, tool: Tool | undefined, parsed: ReturnType<typeof parseArguments>, args: unknown, input: AgentTurnInput, skill: ActiveSkill | null): ToolResult | null {
    if (!tool) return { content: `There is no tool named "${name}". Use one of the tools you were given.`, isError: true };
    if (!deps.tools.isAllowed(name, input.agent.toolPolicy)) {
      const rule = refusingRule(name, input.agent.toolPolicy) ?? 'tools.allow';
      return { content: `The tool "${name}" is not allowed for agent "${input.agent.id}": refused by ${rule}.`, isError: true, details: { refusedBy: rule } };
    }
    if (!parsed.ok) return { content: parsed.message, isError: true };
    const needs = skill ? missingCapability(skill.granted, name, args, { sandboxed: input.agent.exec?.sandbox === 'workspace' }) : null;
    if (!skill || needs === null) return null;
    return {
      content: `CAPABILITY_DENIED: the skill "${skill.name}" is active and did not declare ${needs}, so "${name}" was not run. Do the job within what the skill declares, or tell the user what it would need.`,
      isError: true,
      details: { refusedBy: `capabilities of skill "${skill.name}"`, capabilityDenied: { skill: skill.name, needs } },
    };
  }

  /** Runs an allowed call: the plugins' before_tool_call hooks first (any may refuse it), after_tool_call once it ran. */
  async function executeTool(tool: Tool, name: string, args: unknown, input: AgentTurnInput, signal: AbortSignal, trust: RunTrust, deadline: TurnDeadline): Promise<ToolResult> {
    const payload: ToolHookPayload = { tool: name, args, agentId: input.agent.id, sessionKey: input.sessionKey, runId: input.runId };
    const refusal = await deps.toolHooks?.before(payload);
    if (refusal) return { content: `Refused by the plugin "${refusal.plugin}": ${refusal.refuse}`, isError: true, details: { refusedBy: `plugin ${refusal.plugin}` } };
    let result: ToolResult;
    try {
      result = await tool.execute(args, {
        workspaceDir: input.agent.workspaceDir,
        agentId: input.agent.id,
        sessionKey: input.sessionKey,
        runId: input.runId,
        signal,
        now: () => new Date(now()),
        trust,
        askOperator: operatorAsker(input, signal, deadline),
      });
    } catch (error) {
      const failure = toHearthError(error, 'TOOL_ERROR');
      result = { content: `The tool "${name}" failed: ${failure.message}`, isError: true };
    }
    deps.toolHooks?.after({ ...payload, result: { content: result.content, isError: result.isError === true } }).catch(() => undefined);
    return result;
  }

  /** The operator's answer to a tool's question; the turn's timeout stands still meanwhile. */
  function operatorAsker(input: AgentTurnInput, signal: AbortSignal, deadline: TurnDeadline): ToolContext['askOperator'] {
    const approvals = deps.approvals;
    if (!approvals) return undefined;
    return async (question) => {
      deadline.pause();
      try {
        return await approvals.ask({ ...question, runId: input.runId, sessionKey: input.sessionKey, agentId: input.agent.id, signal });
      } finally {
        deadline.resume();
      }
    };
  }

  async function runTool(call: ToolCall, input: AgentTurnInput, signal: AbortSignal, trust: RunTrust, deadline: TurnDeadline, skill: ActiveSkill | null): Promise<{ result: ToolResult; record: ToolCallRecord }> {
    const started = now();
    const startedHr = performance.now();
    const parsed = parseArguments(call.arguments);
    const args = parsed.ok ? parsed.value : call.arguments;
    const tool = deps.tools.get(call.name);
    let result = refusalOf(call.name, tool, parsed, args, input, skill) ?? (await executeTool(tool!, call.name, args, input, signal, trust, deadline));
    if (result.content.length > MAX_TOOL_RESULT_CHARS) {
      result = { ...result, content: `${result.content.slice(0, MAX_TOOL_RESULT_CHARS)}\n[… result truncated at ${MAX_TOOL_RESULT_CHARS} characters]` };
    }
    const durationMs = performance.now() - startedHr;
    const record: ToolCallRecord = {
      name: call.name,
      arguments: args,
      result: result.content,
      durationMs: Math.round(durationMs * 1000) / 1000,
      ...(result.isError ? { error: result.content } : {}),
      ...outcomeOf(result),
    };
    await input.recordStep({
      kind: 'tool',
      name: call.name,
      input: args,
      output: result.details ? { content: result.content, ...result.details } : result.content,
      ...(result.isError ? { error: result.content } : {}),
      startedAt: started,
      durationMs,
    });
    return { result, record };
  }

  /**
   * A turn whose message starts with `/<skill-name>` loads that skill first: the model gets its
   * instructions with the rest of the message, and the skill is active from the start.
   */
  async function invokedSkill(input: AgentTurnInput): Promise<{ messages: ChatMessage[]; skill: ActiveSkill } | null> {
    const last = input.messages.at(-1);
    // Anchored at the start: a message that does not begin with "/" is rejected at once, without a copy of it.
    const match = deps.skills && last?.role === 'user' ? /^\s*\/([a-z0-9][a-z0-9_-]{0,63})(?:\s+([\s\S]*?))?\s*$/u.exec(last.content) : null;
    if (!match || !deps.skills) return null;
    const loaded = await deps.skills.load(input.agent, match[1]!);
    if (!loaded.ok || !loaded.entry.document.userInvocable) return null;
    const { entry } = loaded;
    const request = match[2]?.trim() || '(nothing more: do what the skill is for)';
    const content = `The user invoked the skill "${entry.name}". Its instructions:\n\n${instructionsOf(entry)}\n\nThe user's request: ${request}`;
    return { messages: [...input.messages.slice(0, -1), { role: 'user', content }], skill: activeSkillOf(entry.name, entry.document.capabilities ?? []) };
  }

  /** Runs a turn under its own abort controller, so the timeout timer is released when it ends. */
  return async function runTurn(input: AgentTurnInput): Promise<AgentTurnOutput> {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    input.signal.addEventListener('abort', onAbort, { once: true });
    if (input.signal.aborted) controller.abort();
    const deadline = turnDeadline(input.agent.turnTimeoutMs, () => controller.abort());
    try {
      return await runTurnWith(input, controller.signal, deadline);
    } finally {
      deadline.clear();
      input.signal.removeEventListener('abort', onAbort);
    }
  };

  async function runTurnWith(input: AgentTurnInput, signal: AbortSignal, deadline: TurnDeadline): Promise<AgentTurnOutput> {
    const usage: Usage = { inputTokens: 0, outputTokens: 0 };
    const produced: ChatMessage[] = [];
    const toolCalls: ToolCallRecord[] = [];
    let modelRef: string | undefined;
    let lastText = '';

    const finish = (status: AgentTurnOutput['status'], error?: HearthError): AgentTurnOutput => ({
      status,
      reply: lastText,
      messages: produced,
      toolCalls,
      usage,
      ...(modelRef === undefined ? {} : { modelRef }),
      ...(error === undefined ? {} : { error }),
    });

    if (input.agent.modelRefs.length === 0) {
      return finish(
        'error',
        new HearthError(
          'NO_MODEL',
          'No model is configured, so there is nobody to answer. Add a provider to hearth.json5 ' +
            '(models.providers.local = { api: "openai-chat", baseUrl: "http://127.0.0.1:11434/v1" } and ' +
            'agents.defaults.model = "local/<model>"), or set OPENAI_API_KEY or ANTHROPIC_API_KEY, or start Ollama, then send again.',
        ),
      );
    }

    const stopReason = (): HearthError =>
      input.signal.aborted
        ? new HearthError('ABORTED', 'The turn was stopped before it finished.')
        : new HearthError('TURN_TIMEOUT', `The turn took longer than ${input.agent.turnTimeoutMs} ms and was stopped. Raise agents.defaults.turnTimeoutMs if that is expected.`);
    const tools = deps.tools.specs(input.agent.toolPolicy);
    const invoked = await invokedSkill(input);
    const context = invoked ? invoked.messages : [...input.messages];
    let skill: ActiveSkill | null = invoked?.skill ?? null;
    const trust = createRunTrust(input.untrustedInput);
    let history = input.history;
    let compacted = false;

    for (let step = 1; step <= input.agent.maxSteps; step++) {
      const started = now();
      const startedHr = performance.now();
      let text = '';
      const calls: ToolCall[] = [];
      let reason: string = 'error';
      let error: HearthError | undefined;
      let stepUsage: Usage | undefined;
      try {
        for await (const event of deps.models.stream(input.agent.modelRefs, {
          system: input.system,
          ...(history ? { history } : {}),
          messages: context,
          ...(tools.length > 0 ? { tools } : {}),
          maxTokens: input.agent.maxOutputTokens,
          signal,
        })) {
          if (event.type === 'text-delta') {
            text += event.text;
            input.onDelta(event.text);
          } else if (event.type === 'tool-call') {
            calls.push({ id: event.id, name: event.name, arguments: event.arguments });
          } else {
            reason = event.reason;
            error = event.error;
            stepUsage = event.usage;
            if (event.modelRef) modelRef = event.modelRef;
          }
        }
      } catch (thrown) {
        error = toHearthError(thrown, 'PROVIDER_ERROR');
      }
      if (stepUsage) {
        usage.inputTokens += stepUsage.inputTokens;
        usage.outputTokens += stepUsage.outputTokens;
      }
      await input.recordStep({
        kind: 'model',
        name: modelRef ?? input.agent.modelRefs[0]!,
        output: { text, toolCalls: calls, finishReason: reason },
        ...(error ? { error: `${error.code}: ${error.message}` } : {}),
        startedAt: started,
        durationMs: performance.now() - startedHr,
        ...(stepUsage ? { usage: stepUsage } : {}),
      });

      if (signal.aborted || reason === 'aborted') {
        if (text !== '') {
          produced.push({ role: 'assistant', content: text });
          lastText = text;
        }
        return finish(input.signal.aborted ? 'aborted' : 'error', stopReason());
      }
      if (error?.code === 'CONTEXT_OVERFLOW' && text === '' && calls.length === 0 && input.onContextOverflow && !compacted) {
        compacted = true;
        const fresh = await input.onContextOverflow();
        if (fresh) {
          history = fresh;
          step--;
          continue;
        }
      }
      if (reason === 'error' || error) {
        if (text !== '') {
          produced.push({ role: 'assistant', content: text });
          lastText = text;
        }
        return finish('error', error ?? new HearthError('PROVIDER_ERROR', 'The model stream ended without an answer.'));
      }

      const assistant: ChatMessage = calls.length > 0 ? { role: 'assistant', content: text, toolCalls: calls } : { role: 'assistant', content: text };
      produced.push(assistant);
      context.push(assistant);
      lastText = text;
      if (calls.length === 0) return finish('ok');

      for (const call of calls) {
        if (signal.aborted) return finish(input.signal.aborted ? 'aborted' : 'error', stopReason());
        const { result, record } = await runTool(call, input, signal, trust, deadline, skill);
        toolCalls.push(record);
        skill = activatedSkill(result) ?? skill;
        const message: ChatMessage = {
          role: 'tool',
          toolCallId: call.id,
          name: call.name,
          content: result.content,
          ...(result.isError ? { isError: true } : {}),
        };
        produced.push(message);
        context.push(message);
      }
    }
    return finish(
      'error',
      new HearthError('TURN_FAILED', `The agent used all ${input.agent.maxSteps} steps without a final answer. Raise agents.defaults.maxSteps or ask for less at once.`),
    );
  }
}

export type AgentLoop = ReturnType<typeof createAgentLoop>;

/** The skill loaded last in a turn: its capability tokens bound every later tool call. */
interface ActiveSkill {
  name: string;
  granted: Capability[];
}

function activeSkillOf(name: string, tokens: readonly string[]): ActiveSkill {
  const granted: Capability[] = [];
  for (const token of tokens) {
    const parsed = parseCapability(token);
    if (parsed.ok) granted.push(parsed.capability);
  }
  return { name, granted };
}

/** The skill a `skill` call loaded, from its result. */
function activatedSkill(result: ToolResult): ActiveSkill | null {
  const loaded = result.details?.skill as { name?: unknown; capabilities?: unknown } | undefined;
  if (result.isError || !loaded || typeof loaded.name !== 'string' || !Array.isArray(loaded.capabilities)) return null;
  return activeSkillOf(loaded.name, loaded.capabilities.filter((token): token is string => typeof token === 'string'));
}

/** A turn's timeout that stands still while the turn waits for the operator (`pause`/`resume` nest). */
interface TurnDeadline {
  pause(): void;
  resume(): void;
  clear(): void;
}

function turnDeadline(ms: number, expire: () => void): TurnDeadline {
  let remaining = ms;
  let since = performance.now();
  let timer: NodeJS.Timeout | undefined = setTimeout(expire, ms);
  let pauses = 0;
  let cleared = false;
  return {
    pause() {
      if (cleared || pauses++ > 0) return;
      clearTimeout(timer);
      timer = undefined;
      remaining -= performance.now() - since;
    },
    resume() {
      if (cleared || --pauses > 0) return;
      since = performance.now();
      timer = setTimeout(expire, Math.max(0, remaining));
    },
    clear() {
      cleared = true;
      clearTimeout(timer);
    },
  };
}

/** How a tool call ended, from its result: refused by a rule (which), past its time, failed, or done. */
function outcomeOf(result: ToolResult): Pick<ToolCallRecord, 'outcome' | 'refusedBy' | 'approval' | 'capabilityDenied'> {
  const denied = result.details?.capabilityDenied as ToolCallRecord['capabilityDenied'] | undefined;
  if (denied) return { outcome: 'refused', refusedBy: String(result.details?.refusedBy), capabilityDenied: denied };
  const approval = result.details?.approval as ToolCallRecord['approval'] | undefined;
  if (approval) {
    if (approval.decision !== 'approved') return { outcome: 'denied', approval };
    return { ...outcomeOf({ ...result, details: { ...result.details, approval: undefined } }), approval };
  }
  const refusedBy = result.details?.refusedBy;
  if (typeof refusedBy === 'string') return { outcome: 'refused', refusedBy };
  if (result.details?.timedOut === true) return { outcome: 'timeout' };
  return { outcome: result.isError ? 'error' : 'ok' };
}
