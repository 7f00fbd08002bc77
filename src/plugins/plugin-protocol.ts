import { type AttachmentInfo, type InboundMessage, PLUGIN_PLATFORM_PATTERN } from '../contracts/channel.js';
import { HOOK_NAMES, type HookName, type PluginChannelErrorKind, ROUTE_METHODS, type RouteMethod } from './plugin-api.js';

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
/** The largest route request or response body, in bytes (UTF-8). */
export const MAX_ROUTE_BODY_BYTES = 1024 * 1024;
/** The most headers a route's answer may carry, and the longest value. */
export const MAX_ROUTE_HEADERS = 64;
export const MAX_HEADER_VALUE_CHARS = 8192;
const MAX_TOOLS = 32;
/** The most routes a plugin may declare. */
export const MAX_ROUTES = 32;
const MAX_HOOK_ERRORS = 16;
/** The most channels (platforms) a plugin may provide. */
export const MAX_CHANNELS = 8;
/** The longest id (message, chat, sender, thread) a plugin's channel may hand over. */
export const MAX_ID_CHARS = 256;
const MAX_ATTACHMENTS = 32;
export const CHANNEL_OPS = ['run', 'send', 'typing', 'probe'] as const;
export type ChannelOp = (typeof CHANNEL_OPS)[number];
export const CHANNEL_ERROR_KINDS: readonly PluginChannelErrorKind[] = ['auth', 'rate-limited', 'transient', 'rejected'];
const CHAT_KINDS = ['direct', 'group', 'thread'] as const;
const ATTACHMENT_KINDS: readonly AttachmentInfo['kind'][] = ['image', 'audio', 'video', 'file', 'sticker', 'other'];
const MAX_ROUTE_SEGMENTS = 8;
const ROUTE_SEGMENT = /^[A-Za-z0-9._-]{1,64}$/;
/** An HTTP header name (an RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
const HEADER_VALUE = /^[^\r\n\0]*$/;

/** Whether `path` is a route path: `/` and 1 to 8 segments of `[A-Za-z0-9._-]`, none `.` or `..`. */
export function isRoutePath(path: unknown): path is string {
  if (typeof path !== 'string' || !path.startsWith('/')) return false;
  const segments = path.slice(1).split('/');
  return segments.length <= MAX_ROUTE_SEGMENTS && segments.every((segment) => ROUTE_SEGMENT.test(segment) && segment !== '.' && segment !== '..');
}

/** `"GET /status"` as method and path, or null if it is not a route declaration. */
export function parseRouteDeclaration(text: unknown): { method: RouteMethod; path: string } | null {
  if (typeof text !== 'string') return null;
  const [method, path, ...rest] = text.split(' ');
  if (rest.length > 0 || !(ROUTE_METHODS as readonly unknown[]).includes(method) || !isRoutePath(path)) return null;
  return { method: method as RouteMethod, path };
}

/** A route's key, as the manifest declares it: `"GET /status"`. */
export const routeKey = (method: string, path: string): string => `${method} ${path}`;

/** What the worker starts with (its `workerData`). */
export interface PluginWorkerData {
  pluginId: string;
  entryPath: string;
  config: unknown;
  /** What the manifest declares; `routes` as `"GET /status"`. */
  declared: { tools: string[]; hooks: HookName[]; routes: string[]; channels: string[] };
}

/** A channel a plugin registered, with its defaults filled in. */
export interface PluginChannelInfo {
  platform: string;
  maxMessageLength: number;
  markup: 'plain' | 'markdown';
  stallTimeoutMs: number;
  /** Whether it defined `typing` and `probe`. */
  typing: boolean;
  probe: boolean;
}

/** What a channel's method threw, as the supervisor and the outbox act on it. */
export interface ChannelErrorInfo {
  kind: PluginChannelErrorKind;
  message: string;
  retryAfterMs: number | null;
}

/** The account a channel request is for: its id and its settings (JSON). */
export interface ChannelAccountInfo {
  accountId: string;
  settings: Record<string, unknown>;
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
  | { type: 'ping'; id: number }
  /** `headers`' names are lower case; the host caps `body` at MAX_ROUTE_BODY_BYTES. */
  | { type: 'route'; id: number; method: RouteMethod; path: string; query: Record<string, string>; headers: Record<string, string>; body: string }
  /**
   * A channel method for one account. `run` is answered when the plugin's run ends (a `cancel`
   * ends it); while it runs, its messages and signs of life come back tagged with its id.
   * `args`: `send` an OutboundMessage, `typing` a ChannelTarget, `run` and `probe` null.
   */
  | { type: 'channel'; id: number; op: ChannelOp; platform: string; account: ChannelAccountInfo; args: unknown }
  /** The answer to a `channel-inbound`: stored (error null) or why not. */
  | { type: 'channel-ack'; seq: number; error: string | null };

/** Worker → host: one activation outcome (`ready` or `activation-failed`) first, then answers and log lines. */
export type WorkerMessage =
  /** `routes` as `"GET /status"`. */
  | { type: 'ready'; tools: PluginToolInfo[]; hooks: HookName[]; routes: string[]; channels: PluginChannelInfo[] }
  | { type: 'activation-failed'; error: string }
  | { type: 'result'; id: number; content: string; isError: boolean }
  /** `errors`: what the plugin's handlers threw (the others still ran). */
  | { type: 'hook-result'; id: number; refuse: string | null; text: string | null; errors: string[] }
  /**
   * A route's answer. `error` is null when the handler answered; else what went wrong, for the
   * log (with `status` 500: it threw; 502: its answer did not fit, e.g. a body over 1 MB).
   */
  | { type: 'route-result'; id: number; status: number; headers: Record<string, string>; body: string; error: string | null }
  | { type: 'pong'; id: number }
  | { type: 'log'; message: string }
  /** A channel method's outcome: `send` → `{ messageId }`, `probe` → a probe result, else null; or what it threw. */
  | { type: 'channel-result'; id: number; value: unknown; error: ChannelErrorInfo | null }
  /** A message received by the run `id`; the host answers `channel-ack` with the same `seq` once it is stored. */
  | { type: 'channel-inbound'; id: number; seq: number; message: InboundMessage }
  | { type: 'channel-connected'; id: number; botId: string; botName: string }
  | { type: 'channel-progress'; id: number }
  | { type: 'channel-reject'; id: number; reason: string; payload: string };

export type HookResultMessage = Extract<WorkerMessage, { type: 'hook-result' }>;
export type RouteResultMessage = Extract<WorkerMessage, { type: 'route-result' }>;
export type ChannelResultMessage = Extract<WorkerMessage, { type: 'channel-result' }>;
/** What a running channel sends about itself (tagged with the run's id). */
export type ChannelRunMessage = Extract<WorkerMessage, { type: 'channel-inbound' | 'channel-connected' | 'channel-progress' | 'channel-reject' }>;

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
const isStringRecord: Check = (value) => isRecord(value) && Object.values(value).every((entry) => typeof entry === 'string');
const isRouteKey: Check = (value) => parseRouteDeclaration(value) !== null;
const isStatus: Check = (value) => Number.isInteger(value) && (value as number) >= 100 && (value as number) <= 599;
const isResponseHeaders: Check = (value) =>
  isRecord(value) &&
  Object.keys(value).length <= MAX_ROUTE_HEADERS &&
  Object.entries(value).every(([name, entry]) => HEADER_NAME.test(name) && typeof entry === 'string' && entry.length <= MAX_HEADER_VALUE_CHARS && HEADER_VALUE.test(entry));

const isToolInfo = isFields({ name: isText(30), description: isText(MAX_NOTE_CHARS), parameters: isRecord });
const isOptional = (check: Check): Check => (value) => value === undefined || check(value);
const isBoolean: Check = (value) => typeof value === 'boolean';
const isOneOf = (values: readonly unknown[]): Check => (value) => values.includes(value);
const isIntIn = (min: number, max: number): Check => (value) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
const isIdText: Check = (value) => typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_CHARS;
const isPlatform: Check = (value) => typeof value === 'string' && PLUGIN_PLATFORM_PATTERN.test(value);

const isChannelInfo = isFields({
  platform: isPlatform,
  maxMessageLength: isIntIn(64, 100_000),
  markup: isOneOf(['plain', 'markdown']),
  stallTimeoutMs: isIntIn(1000, 3_600_000),
  typing: isBoolean,
  probe: isBoolean,
});

const isChannelError = isFields({ kind: isOneOf(CHANNEL_ERROR_KINDS), message: isText(MAX_NOTE_CHARS), retryAfterMs: isNullable(isIntIn(0, 86_400_000)) });

/** A received message as the gateway takes it (normalised by the worker: every required field set). */
export const isInboundMessage: Check = isFields({
  messageId: isIdText,
  chat: isFields({ id: isIdText, kind: isOneOf(CHAT_KINDS), threadId: isOptional(isIdText), title: isOptional(isText(MAX_NOTE_CHARS)) }),
  sender: isFields({ id: isIdText, name: isOptional(isText(MAX_NOTE_CHARS)), username: isOptional(isText(MAX_NOTE_CHARS)) }),
  text: isText(MAX_CONTENT_CHARS),
  mentionsBot: isBoolean,
  replyToBot: isBoolean,
  replyToMessageId: isOptional(isIdText),
  attachments: isListOf(
    isFields({
      kind: isOneOf(ATTACHMENT_KINDS),
      id: isOptional(isIdText),
      name: isOptional(isText(MAX_NOTE_CHARS)),
      mimeType: isOptional(isText(200)),
      sizeBytes: isOptional((value) => Number.isSafeInteger(value) && (value as number) >= 0),
    }),
    MAX_ATTACHMENTS,
  ),
});

const WORKER_SHAPES: Shapes<WorkerMessage> = {
  ready: { tools: isListOf(isToolInfo, MAX_TOOLS), hooks: isListOf(isHook, HOOK_NAMES.length), routes: isListOf(isRouteKey, MAX_ROUTES), channels: isListOf(isChannelInfo, MAX_CHANNELS) },
  'activation-failed': { error: isText(MAX_NOTE_CHARS) },
  result: { id: isId, content: isText(MAX_CONTENT_CHARS), isError: (value) => typeof value === 'boolean' },
  'hook-result': {
    id: isId,
    refuse: isNullable(isText(MAX_NOTE_CHARS)),
    text: isNullable(isText(MAX_CONTENT_CHARS)),
    errors: isListOf(isText(MAX_NOTE_CHARS), MAX_HOOK_ERRORS),
  },
  'route-result': {
    id: isId,
    status: isStatus,
    headers: isResponseHeaders,
    // Characters, not bytes: a cheap first bound; the host checks the bytes.
    body: isText(MAX_ROUTE_BODY_BYTES),
    error: isNullable(isText(MAX_NOTE_CHARS)),
  },
  pong: { id: isId },
  log: { message: isText(MAX_NOTE_CHARS) },
  // `value` is checked by the host against what the request's op returns.
  'channel-result': { id: isId, value: isAnything, error: isNullable(isChannelError) },
  'channel-inbound': { id: isId, seq: isId, message: isInboundMessage },
  'channel-connected': { id: isId, botId: isText(MAX_ID_CHARS), botName: isText(MAX_NOTE_CHARS) },
  'channel-progress': { id: isId },
  'channel-reject': { id: isId, reason: isText(MAX_NOTE_CHARS), payload: isText(MAX_NOTE_CHARS) },
};

const HOST_SHAPES: Shapes<HostMessage> = {
  call: { id: isId, tool: isString, args: isAnything, context: isFields({ agentId: isString, sessionKey: isString, runId: isString }) },
  cancel: { id: isId },
  hook: { id: isId, hook: isHook, payload: isRecord },
  ping: { id: isId },
  route: {
    id: isId,
    method: (value) => (ROUTE_METHODS as readonly unknown[]).includes(value),
    path: isRoutePath,
    query: isStringRecord,
    headers: isStringRecord,
    body: isText(MAX_ROUTE_BODY_BYTES),
  },
  channel: { id: isId, op: isOneOf(CHANNEL_OPS), platform: isPlatform, account: isFields({ accountId: isString, settings: isRecord }), args: isAnything },
  'channel-ack': { seq: isId, error: isNullable(isString) },
};

const WORKER_DATA_FIELDS = {
  pluginId: isString,
  entryPath: isString,
  config: isAnything,
  declared: isFields({ tools: isListOf(isString, MAX_TOOLS), hooks: isListOf(isHook, HOOK_NAMES.length), routes: isListOf(isRouteKey, MAX_ROUTES), channels: isListOf(isPlatform, MAX_CHANNELS) }),
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
