import { HOOK_NAMES, type HookName } from './plugin-api.js';

/**
 * Every message between the host and a plugin's worker thread, in one place. Each side checks
 * what it receives against the shapes below; a worker that sends anything else has broken the
 * protocol and is disabled. The checks are written out rather than built with zod because every
 * worker loads this file, and zod would add ~100 ms and several MB to each plugin's start.
 */

/** The longest tool result or message text that crosses; the worker cuts longer ones. */
export const MAX_CONTENT_CHARS = 1_000_000;
/** The longest log line, refusal, description or error text that crosses; the worker cuts longer ones. */
export const MAX_NOTE_CHARS = 4_000;
const MAX_TOOLS = 32;
const MAX_HOOK_ERRORS = 16;

/** What the worker starts with (its `workerData`). */
export interface PluginWorkerData {
  pluginId: string;
  entryPath: string;
  config: unknown;
  declared: { tools: string[]; hooks: HookName[] };
}

export interface PluginCallContext {
  agentId: string;
  sessionKey: string;
  runId: string;
}

export interface PluginToolInfo {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** Host → worker. Every request carries an id its answer repeats; `cancel` aborts a running call. */
export type HostMessage =
  | { type: 'call'; id: number; tool: string; args: unknown; context: PluginCallContext }
  | { type: 'cancel'; id: number }
  | { type: 'hook'; id: number; hook: HookName; payload: Record<string, unknown> }
  | { type: 'ping'; id: number };

/** Worker → host: one activation outcome (`ready` or `activation-failed`) first, then answers and log lines. */
export type WorkerMessage =
  | { type: 'ready'; tools: PluginToolInfo[]; hooks: HookName[] }
  | { type: 'activation-failed'; error: string }
  | { type: 'result'; id: number; content: string; isError: boolean }
  /** `errors`: what the plugin's handlers threw (the others still ran). */
  | { type: 'hook-result'; id: number; refuse: string | null; text: string | null; errors: string[] }
  | { type: 'pong'; id: number }
  | { type: 'log'; message: string };

export type HookResultMessage = Extract<WorkerMessage, { type: 'hook-result' }>;

type Check = (value: unknown) => boolean;
type Shapes<M extends { type: string }> = { [T in M['type']]: Record<Exclude<keyof Extract<M, { type: T }>, 'type'>, Check> };

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isId: Check = (value) => Number.isSafeInteger(value) && (value as number) >= 0;
const isString: Check = (value) => typeof value === 'string';
const isText = (max: number): Check => (value) => typeof value === 'string' && value.length <= max;
const isNullable = (check: Check): Check => (value) => value === null || check(value);
const isListOf = (check: Check, max: number): Check => (value) => Array.isArray(value) && value.length <= max && value.every(check);
const isAnything: Check = () => true;
const isHook: Check = (value) => (HOOK_NAMES as readonly unknown[]).includes(value);
const isFields = (fields: Record<string, Check>): Check => (value) => fitsFields(value, fields, []) === null;

const isToolInfo = isFields({ name: isText(30), description: isText(MAX_NOTE_CHARS), parameters: isRecord });

const WORKER_SHAPES: Shapes<WorkerMessage> = {
  ready: { tools: isListOf(isToolInfo, MAX_TOOLS), hooks: isListOf(isHook, HOOK_NAMES.length) },
  'activation-failed': { error: isText(MAX_NOTE_CHARS) },
  result: { id: isId, content: isText(MAX_CONTENT_CHARS), isError: (value) => typeof value === 'boolean' },
  'hook-result': {
    id: isId,
    refuse: isNullable(isText(MAX_NOTE_CHARS)),
    text: isNullable(isText(MAX_CONTENT_CHARS)),
    errors: isListOf(isText(MAX_NOTE_CHARS), MAX_HOOK_ERRORS),
  },
  pong: { id: isId },
  log: { message: isText(MAX_NOTE_CHARS) },
};

const HOST_SHAPES: Shapes<HostMessage> = {
  call: { id: isId, tool: isString, args: isAnything, context: isFields({ agentId: isString, sessionKey: isString, runId: isString }) },
  cancel: { id: isId },
  hook: { id: isId, hook: isHook, payload: isRecord },
  ping: { id: isId },
};

const WORKER_DATA_FIELDS = {
  pluginId: isString,
  entryPath: isString,
  config: isAnything,
  declared: isFields({ tools: isListOf(isString, MAX_TOOLS), hooks: isListOf(isHook, HOOK_NAMES.length) }),
};

/** A message from a worker, or what is wrong with it. */
export function parseWorkerMessage(raw: unknown): { ok: true; message: WorkerMessage } | { ok: false; problem: string } {
  return parseMessage<WorkerMessage>(raw, WORKER_SHAPES);
}

/** A message from the host, or what is wrong with it. */
export function parseHostMessage(raw: unknown): { ok: true; message: HostMessage } | { ok: false; problem: string } {
  return parseMessage<HostMessage>(raw, HOST_SHAPES);
}

/** The worker's start data, or null if it does not fit. */
export function parseWorkerData(raw: unknown): PluginWorkerData | null {
  return fitsFields(raw, WORKER_DATA_FIELDS, []) === null ? (raw as PluginWorkerData) : null;
}

function parseMessage<M extends { type: string }>(raw: unknown, shapes: Shapes<M>): { ok: true; message: M } | { ok: false; problem: string } {
  const type = isRecord(raw) ? raw.type : undefined;
  if (typeof type !== 'string' || !Object.hasOwn(shapes, type)) {
    return { ok: false, problem: typeof type === 'string' ? `a message of unknown type "${truncate(type, 40)}"` : 'a message without a type' };
  }
  const problem = fitsFields(raw, shapes[type as M['type']], ['type']);
  return problem === null ? { ok: true, message: raw as M } : { ok: false, problem: `a "${type}" message that does not fit the protocol (${problem})` };
}

/** Null when `value` is an object with exactly `fields` (plus `extra`), each passing its check; else the first problem. */
function fitsFields(value: unknown, fields: Record<string, Check>, extra: string[]): string | null {
  if (!isRecord(value)) return 'not an object';
  for (const key of Object.keys(value)) if (!Object.hasOwn(fields, key) && !extra.includes(key)) return `unexpected field "${truncate(key, 40)}"`;
  for (const [key, check] of Object.entries(fields)) if (!check(value[key])) return `field "${key}" is missing or invalid`;
  return null;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `text` cut to `max` characters, saying so. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 24))}… [cut at ${max} chars]`;
}
