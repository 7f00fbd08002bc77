import type { HookHandler, HookName, HookPayloads } from './plugin-api.js';

/**
 * Hook registries. All state lives on the registry object the caller passes in; this module
 * keeps none. Two copies of this module (a second import graph, a bundler chunk, a worker) work
 * on the same registry as long as they are handed the same object — the failure OpenClaw shipped,
 * listeners registered in one copy and fired in another, cannot happen by construction.
 */

/** The most handlers one hook takes in one registry; onHook throws beyond it. */
export const MAX_HANDLERS_PER_HOOK = 64;

interface HookEntry {
  /** Who registered it (a plugin id), so everything it registered can be removed at once. */
  owner: string;
  handler: (payload: unknown) => unknown;
}

/** Handlers by hook, in registration order. Built by createHookRegistry; change it only through onHook and removeHooksOf. */
export interface HookRegistry {
  readonly handlers: Record<HookName, HookEntry[]>;
}

/** What dispatching a hook yields: the first refusal, the rewritten text, or nothing for the observing hooks. */
export interface HookOutcomes {
  message_received: undefined;
  before_tool_call: { refuse: string; owner: string } | null;
  after_tool_call: undefined;
  message_sending: string;
}

/** A handler that threw or rejected; dispatch carried on without it. */
export interface HookFailure {
  hook: HookName;
  owner: string;
  error: unknown;
}

export function createHookRegistry(): HookRegistry {
  return { handlers: { message_received: [], before_tool_call: [], after_tool_call: [], message_sending: [] } };
}

/** Adds `handler` for `hook`; returns a function that removes it again. */
export function onHook<H extends HookName>(registry: HookRegistry, hook: H, handler: HookHandler<H>, owner = ''): () => void {
  const list = registry.handlers[hook];
  if (list.length >= MAX_HANDLERS_PER_HOOK) throw new Error(`hook "${hook}" already has ${MAX_HANDLERS_PER_HOOK} handlers`);
  const entry: HookEntry = { owner, handler: handler as (payload: unknown) => unknown };
  list.push(entry);
  return () => {
    const index = list.indexOf(entry);
    if (index >= 0) list.splice(index, 1);
  };
}

/** Removes every handler `owner` registered, on every hook. */
export function removeHooksOf(registry: HookRegistry, owner: string): void {
  for (const list of Object.values(registry.handlers)) {
    for (let index = list.length - 1; index >= 0; index -= 1) if (list[index]?.owner === owner) list.splice(index, 1);
  }
}

/**
 * Runs the handlers of `hook` in registration order. A handler that throws is reported to
 * `onFailure` and skipped; it never stops the others. `before_tool_call` stops at the first
 * refusal; `message_sending` hands each handler the text as the previous one left it; the
 * observing hooks are started in order and awaited together. Never throws.
 */
export async function dispatchHook<H extends HookName>(
  registry: HookRegistry,
  hook: H,
  payload: HookPayloads[H],
  onFailure: (failure: HookFailure) => void = () => {},
): Promise<HookOutcomes[H]> {
  const entries = [...registry.handlers[hook]];
  const run = async (entry: HookEntry, input: unknown): Promise<unknown> => {
    try {
      return await entry.handler(input);
    } catch (error) {
      onFailure({ hook, owner: entry.owner, error });
      return undefined;
    }
  };
  if (hook === 'before_tool_call') return (await firstRefusal(entries, payload, run)) as HookOutcomes[H];
  if (hook === 'message_sending') return (await rewrittenText(entries, payload as HookPayloads['message_sending'], run)) as HookOutcomes[H];
  await Promise.all(entries.map((entry) => run(entry, payload)));
  return undefined as HookOutcomes[H];
}

type Run = (entry: HookEntry, input: unknown) => Promise<unknown>;

async function firstRefusal(entries: HookEntry[], payload: unknown, run: Run): Promise<HookOutcomes['before_tool_call']> {
  for (const entry of entries) {
    const result = await run(entry, payload);
    if (isRecord(result) && typeof result.refuse === 'string') return { refuse: result.refuse, owner: entry.owner };
  }
  return null;
}

async function rewrittenText(entries: HookEntry[], payload: HookPayloads['message_sending'], run: Run): Promise<string> {
  let text = payload.text;
  for (const entry of entries) {
    const result = await run(entry, { ...payload, text });
    if (isRecord(result) && typeof result.text === 'string') text = result.text;
  }
  return text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
