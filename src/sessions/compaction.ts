import type { AgentLoop, AgentProfile, AgentTools, CompactionSettings } from '../agent/agent-loop.js';
import { compactionSettings } from '../agent/agent-directory.js';
import { estimateStoredTokens, estimateTokens, historyTokenBudget } from '../agent/token-budget.js';
import { HearthError } from '../contracts/errors.js';
import type { ChatMessage, Usage } from '../contracts/messages.js';
import type { ModelRouter } from '../contracts/model-provider.js';
import { packMessages } from '../contracts/packed-messages.js';
import type { CompactionReason, RunStepInput, Store, TranscriptEntry } from '../contracts/store.js';

/** Lines since the last compaction read for one; older ones are named in the summary as left out. */
const MAX_COMPACTED_LINES = 5000;
/** A message's rendered text in the summary's input is cut to this (tool results to a quarter of it). */
const MAX_RENDERED_CHARS = 4000;
/** The summary's input is cut into at most this many parts, each summarised with the summary so far. */
const MAX_SUMMARY_PARTS = 8;
/** Identifiers of the replaced turns a safeguard summary is checked for (the newest distinct ones). */
const CHECKED_IDENTIFIERS = 12;
/** Lines kept as they are at most: half of what a turn reads, so the next turns do not compact again at once. */
const MAX_KEPT_LINES = 200;
/** Longest `/compact` focus, in characters. */
export const MAX_FOCUS_CHARS = 800;

export const SUMMARY_SECTIONS = ['## Goals', '## Decisions', '## Progress', '## Open items', '## Key details'] as const;

/** The tools the memory flush turn may use. */
const FLUSH_TOOLS = ['memory_write', 'memory_search', 'memory_get'];

const FLUSH_PROMPT =
  'This conversation is about to be compacted: its older turns will be replaced by a summary. ' +
  'If anything in it should outlive the summary (facts about the user, decisions, commitments, names, dates), ' +
  'save it now with memory_write, in short notes. Then reply with exactly NO_REPLY.';

export interface CompactRequest {
  sessionKey: string;
  profile: AgentProfile;
  reason: CompactionReason;
  focus?: string;
  /** The run the compaction happens in (its steps are recorded there), or null. */
  runId: string | null;
  /** The agent's system prompt, for the memory flush turn. */
  system: string;
  recordStep?: (step: RunStepInput) => Promise<void>;
  signal: AbortSignal;
  /** Why the turn that led to the compaction was not the owner's input (the flush then writes untrusted memory). */
  untrustedInput?: string;
}

export type CompactionOutcome =
  | {
      status: 'compacted';
      id: number;
      compactedLines: number;
      keptLines: number;
      tokensBefore: number;
      tokensAfter: number;
      summaryTokens: number;
      /** Whether the agent was given its memory flush turn first. */
      flushed: boolean;
      usage: Usage;
    }
  | { status: 'skipped'; why: string };

export interface SessionCompactorDeps {
  store: Pick<Store, 'activeTranscript' | 'appendCompaction'>;
  models: Pick<ModelRouter, 'stream'>;
  runTurn: AgentLoop;
  tools: Pick<AgentTools, 'isAllowed'>;
  now?: () => number;
  logger: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

interface Line {
  id: number;
  message: ChatMessage;
  tokens: number;
}

/**
 * Summarises a session's older turns into a compaction line of its transcript, so its history
 * fits the model's context without forgetting: the newest turns stay as they are (from a user
 * message on, so a tool result never loses its call), the agent first gets one silent turn to
 * save what matters to memory, and every line stays on disk. Throws a HearthError when the
 * summary cannot be written; returns `skipped` when there is nothing older to summarise.
 */
export function createSessionCompactor(deps: SessionCompactorDeps) {
  const now = deps.now ?? Date.now;
  return {
    async compact(request: CompactRequest): Promise<CompactionOutcome> {
      const started = now();
      const startedHr = performance.now();
      const settings = request.profile.compaction ?? compactionSettings({});
      const active = await deps.store.activeTranscript(request.sessionKey, { maxEntries: MAX_COMPACTED_LINES });
      if (!active) return { status: 'skipped', why: 'the session has no transcript yet' };
      const lines = activeLines(active.entries);
      const previous = active.compaction?.message.content ?? null;
      let split = splitPoint(lines, keepTokens(request, settings));
      // Asked for, or refused by the provider, with recent turns only: all but the newest exchange
      // go into the summary (after a refusal, all of it when there is only one).
      if (split === 0 && request.reason !== 'threshold') {
        split = lines.findLastIndex((line) => line.message.role === 'user');
        if (split <= 0) split = request.reason === 'overflow' ? lines.length : 0;
      }
      if (split === 0) return { status: 'skipped', why: 'everything in the history is recent turns, which stay as they are' };
      const older = lines.slice(0, split);
      const kept = lines.slice(split);
      const usage: Usage = { inputTokens: 0, outputTokens: 0 };
      const flushed = await flushMemory(deps, request, settings, lines);
      const summary = await writeSummary(deps, request, settings, { previous, older, omitted: active.omitted }, usage);
      const summaryTokens = estimateTokens(summary);
      const keptTokens = kept.reduce((sum, line) => sum + line.tokens, 0);
      const tokensBefore = keptTokens + older.reduce((sum, line) => sum + line.tokens, 0) + (previous ? estimateTokens(previous) : 0);
      const fields = {
        content: summary,
        firstKeptId: kept[0]?.id ?? older.at(-1)!.id + 1,
        compactedLines: older.length,
        tokensBefore,
        tokensAfter: summaryTokens + keptTokens,
        reason: request.reason,
        ...(request.focus ? { focus: request.focus } : {}),
      };
      const id = await deps.store.appendCompaction(request.sessionKey, { ...fields, generation: active.generation, runId: request.runId, now: now() });
      if (id === null) return { status: 'skipped', why: 'the session was reset while its summary was written' };
      const outcome = { status: 'compacted' as const, id, compactedLines: older.length, keptLines: kept.length, tokensBefore, tokensAfter: fields.tokensAfter, summaryTokens, flushed, usage };
      await request.recordStep?.({
        kind: 'compaction',
        name: request.reason,
        output: { compactedLines: older.length, keptLines: kept.length, tokensBefore, tokensAfter: fields.tokensAfter, flushed, ...(request.focus ? { focus: request.focus } : {}) },
        startedAt: started,
        durationMs: performance.now() - startedHr,
      });
      deps.logger.info({ sessionKey: request.sessionKey, runId: request.runId, reason: request.reason, compactedLines: older.length, keptLines: kept.length, tokensBefore, tokensAfter: fields.tokensAfter }, 'session history compacted');
      return outcome;
    },
  };
}

export type SessionCompactor = ReturnType<typeof createSessionCompactor>;

/** The lines a model would see (no error lines), with their token estimates. */
function activeLines(entries: readonly TranscriptEntry[]): Line[] {
  const lines: Line[] = [];
  for (const entry of entries) {
    const { message } = entry;
    if (message.role === 'error' || message.role === 'compaction') continue;
    lines.push({ id: entry.id, message, tokens: estimateStoredTokens(JSON.stringify(message).length) });
  }
  return lines;
}

/** Tokens of the newest turns kept as they are: the setting, at most half the history budget (a quarter after an overflow). */
function keepTokens(request: CompactRequest, settings: CompactionSettings): number {
  const budget = historyTokenBudget(request.profile);
  const cap = request.reason === 'overflow' ? Math.floor(budget / 4) : Math.floor(budget / 2);
  return Math.min(settings.keepRecentTokens, cap);
}

/**
 * Index of the first kept line: the newest lines within `keep` tokens and `maxLines`, moved forward to a user
 * message so an assistant's tool calls and their results stay together. 0 when nothing is older.
 */
export function splitPoint(lines: readonly { message: ChatMessage; tokens: number }[], keep: number, maxLines = MAX_KEPT_LINES): number {
  let used = 0;
  let split = lines.length;
  while (split > 0 && lines.length - split < maxLines && used + lines[split - 1]!.tokens <= keep) {
    used += lines[split - 1]!.tokens;
    split--;
  }
  while (split < lines.length && lines[split]!.message.role !== 'user') split++;
  return split;
}

/** Gives the agent one silent turn to save what matters with memory_write; true when it ran. */
async function flushMemory(deps: SessionCompactorDeps, request: CompactRequest, settings: CompactionSettings, lines: readonly Line[]): Promise<boolean> {
  const policy = { allow: FLUSH_TOOLS.filter((name) => deps.tools.isAllowed(name, request.profile.toolPolicy)) };
  if (!settings.memoryFlush || !policy.allow.includes('memory_write')) return false;
  const budget = historyTokenBudget(request.profile);
  let from = lines.length;
  let used = 0;
  while (from > 0 && used + lines[from - 1]!.tokens <= budget) used += lines[--from]!.tokens;
  while (from < lines.length && lines[from]!.message.role !== 'user') from++;
  const output = await deps.runTurn({
    runId: request.runId ?? `compaction-${request.sessionKey}`,
    sessionKey: request.sessionKey,
    agent: { ...request.profile, toolPolicy: policy, maxSteps: 4 },
    system: request.system,
    history: packMessages(lines.slice(from).map((line) => line.message)),
    messages: [{ role: 'user', content: FLUSH_PROMPT }],
    ...flushTrust(request),
    signal: request.signal,
    onDelta: () => {},
    recordStep: request.recordStep ?? (() => Promise.resolve()),
  });
  if (output.status !== 'ok') deps.logger.warn({ sessionKey: request.sessionKey, runId: request.runId, code: output.error?.code }, `the memory flush before a compaction failed: ${output.error?.message ?? output.status}`);
  return true;
}

/** A group conversation holds what other people wrote: what the flush saves from it is untrusted, like the turn's own input. */
export function flushTrust(request: Pick<CompactRequest, 'sessionKey' | 'untrustedInput'>): { untrustedInput?: string } {
  if (request.untrustedInput) return { untrustedInput: request.untrustedInput };
  return /:group:/u.test(request.sessionKey) ? { untrustedInput: 'the conversation being compacted is a group chat' } : {};
}

interface SummaryInput {
  previous: string | null;
  older: readonly Line[];
  omitted: number;
}

/** The summary of the older lines (in parts when they do not fit one request), checked in safeguard mode. */
async function writeSummary(deps: SessionCompactorDeps, request: CompactRequest, settings: CompactionSettings, input: SummaryInput, usage: Usage): Promise<string> {
  const budget = historyTokenBudget(request.profile);
  const parts = renderParts(input.older, Math.max(1000, Math.floor(budget * 0.6)) * 4);
  let summary = input.previous;
  if (input.omitted > 0) summary = `${summary ?? ''}\n\n(${input.omitted} older messages were too many to summarise and are only in the full history.)`.trim();
  for (const part of parts) {
    summary = await summarisePart(deps, request, settings, { previous: summary, part, identifiers: identifiersIn(input.older) }, usage);
  }
  return summary!;
}

/** Renders the lines as plain text, split into parts of at most `maxChars` (at most MAX_SUMMARY_PARTS, the newest kept). */
export function renderParts(lines: readonly { message: ChatMessage }[], maxChars: number): string[] {
  const parts: string[] = [];
  let current = '';
  for (const line of lines) {
    const text = renderLine(line.message);
    if (current !== '' && current.length + text.length + 1 > maxChars) {
      parts.push(current);
      current = '';
    }
    current += `${text}\n`;
  }
  if (current !== '') parts.push(current);
  return parts.slice(-MAX_SUMMARY_PARTS);
}

function renderLine(message: ChatMessage): string {
  const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)} […]` : text);
  if (message.role === 'tool') return `[tool ${message.name} result${message.isError ? ', error' : ''}] ${cut(message.content, MAX_RENDERED_CHARS / 4)}`;
  if (message.role === 'assistant') {
    const calls = (message.toolCalls ?? []).map((call) => `\n[assistant called ${call.name}(${cut(call.arguments, 400)})]`).join('');
    return `[assistant] ${cut(message.content, MAX_RENDERED_CHARS)}${calls}`;
  }
  return `[user] ${cut(message.content, MAX_RENDERED_CHARS)}`;
}

const IDENTIFIER = /https?:\/\/[^\s)>\]"']+|(?:~|\.{0,2})\/[\w.-]+(?:\/[\w.-]+)+|[\w.+-]+@[\w-]+\.[\w.-]+|\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{8,}\b|\b\d{5,}\b/gu;

/** Identifiers (URLs, paths, e-mail addresses, ids, long numbers) the user and assistant wrote, newest first. */
export function identifiersIn(lines: readonly { message: ChatMessage }[]): string[] {
  const found: string[] = [];
  for (let index = lines.length - 1; index >= 0 && found.length < CHECKED_IDENTIFIERS; index--) {
    const { message } = lines[index]!;
    if (message.role === 'tool') continue;
    for (const match of message.content.match(IDENTIFIER) ?? []) {
      const identifier = match.replace(/[.,;:]+$/u, '');
      if (!found.includes(identifier) && found.length < CHECKED_IDENTIFIERS) found.push(identifier);
    }
  }
  return found;
}

/** What a safeguard summary lacks: its missing sections and the identifiers it lost, or null. */
export function summaryProblems(summary: string, identifiers: readonly string[]): string | null {
  const problems: string[] = [];
  const missing = SUMMARY_SECTIONS.filter((section) => !new RegExp(`^${section}\\b`, 'imu').test(summary));
  if (summary.trim() === '') return 'the summary is empty';
  if (missing.length > 0) problems.push(`it lacks the sections ${missing.join(', ')}`);
  const lost = identifiers.filter((identifier) => !summary.includes(identifier));
  if (lost.length > identifiers.length / 4) problems.push(`it lost the identifiers ${lost.join(', ')}`);
  return problems.length === 0 ? null : problems.join('; ');
}

function summarySystem(mode: CompactionSettings['mode']): string {
  const sections = mode === 'safeguard' ? `Write it in Markdown with exactly these sections, in this order: ${SUMMARY_SECTIONS.join(', ')} (write "none" under a section with nothing). ` : '';
  return (
    'You write the summary that replaces the older part of a conversation between a user and their assistant, so the assistant can go on without it. ' +
    'Keep what the assistant needs: the user\'s goals and preferences, decisions and their reasons, what was done and its results, open questions and promises, ' +
    'and every identifier exactly as written (file paths, URLs, ids, names, numbers, dates). Leave out small talk. ' +
    sections +
    'Write only the summary.'
  );
}

async function summarisePart(
  deps: SessionCompactorDeps,
  request: CompactRequest,
  settings: CompactionSettings,
  input: { previous: string | null; part: string; identifiers: string[] },
  usage: Usage,
): Promise<string> {
  const lines = [
    input.previous ? `The summary of what came before:\n<summary>\n${input.previous}\n</summary>\n` : '',
    `The conversation to summarise${input.previous ? ' (it continues the summary above; write one summary of both)' : ''}:\n<conversation>\n${input.part}</conversation>`,
    request.focus ? `\nKeep in particular: ${request.focus}` : '',
  ];
  const content = lines.join('\n');
  let feedback = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    const summary = await callModel(deps, request, settings, `${content}${feedback}`, usage);
    const problem = settings.mode === 'safeguard' ? summaryProblems(summary, input.identifiers.filter((identifier) => input.part.includes(identifier))) : summary.trim() === '' ? 'the summary is empty' : null;
    if (!problem) return summary.trim();
    deps.logger.warn({ sessionKey: request.sessionKey, runId: request.runId, attempt }, `a compaction summary was refused: ${problem}`);
    if (attempt === 2) {
      throw new HearthError('COMPACTION_FAILED', `The conversation could not be compacted: the summary the model wrote was refused twice (${problem}). Nothing was changed; try /compact again, set agents.defaults.compaction.model to a stronger model, or set agents.defaults.compaction.mode to "default".`);
    }
    feedback = `\n\nYour previous summary was refused because ${problem}. Write it again${input.identifiers.length > 0 ? `, keeping these identifiers exactly: ${input.identifiers.join(', ')}` : ''}.`;
  }
  throw new HearthError('COMPACTION_FAILED', 'The conversation could not be compacted.');
}

async function callModel(deps: SessionCompactorDeps, request: CompactRequest, settings: CompactionSettings, content: string, usage: Usage): Promise<string> {
  const started = Date.now();
  const startedHr = performance.now();
  const refs = settings.model ? [settings.model, ...request.profile.modelRefs] : request.profile.modelRefs;
  let text = '';
  let error: HearthError | undefined;
  let modelRef = refs[0] ?? 'none';
  let stepUsage: Usage | undefined;
  for await (const event of deps.models.stream(refs, { system: summarySystem(settings.mode), messages: [{ role: 'user', content }], maxTokens: Math.min(request.profile.maxOutputTokens, 4096), signal: request.signal })) {
    if (event.type === 'text-delta') text += event.text;
    else if (event.type === 'finish') {
      if (event.reason === 'error' || event.reason === 'aborted') error = event.error ?? new HearthError('ABORTED', 'The summary was stopped before it finished.');
      stepUsage = event.usage;
      if (event.modelRef) modelRef = event.modelRef;
    }
  }
  if (stepUsage) {
    usage.inputTokens += stepUsage.inputTokens;
    usage.outputTokens += stepUsage.outputTokens;
  }
  await request.recordStep?.({
    kind: 'model',
    name: modelRef,
    input: { purpose: 'compaction summary' },
    output: { text, toolCalls: [], finishReason: error ? 'error' : 'stop' },
    ...(error ? { error: `${error.code}: ${error.message}` } : {}),
    startedAt: started,
    durationMs: performance.now() - startedHr,
    ...(stepUsage ? { usage: stepUsage } : {}),
  });
  if (error) throw new HearthError('COMPACTION_FAILED', `The conversation could not be compacted: the model did not write the summary (${error.code}: ${error.message}). Nothing was changed.`);
  return text;
}
