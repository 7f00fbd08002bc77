/**
 * What a plugin sees. A plugin is an ES module whose default export is `activate(api)`; it runs
 * in its own worker thread and reaches the host only through this API object (it never imports
 * host modules). Types only, plus the fixed lists of hooks and route methods.
 */

/** The hooks a plugin may register, in the order the agent meets them. */
export const HOOK_NAMES = ['message_received', 'before_tool_call', 'after_tool_call', 'message_sending'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/** A message as a channel received it, or as it is about to be sent. */
export interface MessagePayload {
  channel: string;
  sessionKey: string;
  text: string;
}

/** A tool call the agent is about to make. */
export interface ToolCallPayload {
  tool: string;
  args: unknown;
  agentId: string;
  sessionKey: string;
  runId: string;
}

/** A tool call the agent made, with its result. */
export interface ToolResultPayload extends ToolCallPayload {
  result: { content: string; isError: boolean };
}

export interface HookPayloads {
  message_received: MessagePayload;
  before_tool_call: ToolCallPayload;
  after_tool_call: ToolResultPayload;
  message_sending: MessagePayload;
}

/**
 * What a handler may return: `before_tool_call` may refuse the call, `message_sending` may
 * rewrite the text; the other two only observe (what they return is ignored).
 */
export interface HookReturns {
  message_received: unknown;
  before_tool_call: { refuse: string } | undefined;
  after_tool_call: unknown;
  message_sending: { text: string } | undefined;
}

/** A hook handler. It should not throw; if it does, the host reports it and carries on without it. */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing (sync or async) is the common case
export type HookHandler<H extends HookName> = (payload: HookPayloads[H]) => HookReturns[H] | void | Promise<HookReturns[H] | void>;

/** What a plugin tool's `execute` is told about the call. `signal` aborts when the host gives up on it. */
export interface PluginToolContext {
  agentId: string;
  sessionKey: string;
  runId: string;
  signal: AbortSignal;
}

/** A tool's answer: text for the model, or `{ content, isError }`. Throwing counts as an error result. */
export type PluginToolReturn = string | { content: string; isError?: boolean };

/** A tool a plugin offers. Its name must be listed in the manifest's `registers.tools`. */
export interface PluginToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments (an object schema). */
  parameters: Record<string, unknown>;
  execute(args: unknown, context: PluginToolContext): PluginToolReturn | Promise<PluginToolReturn>;
}

/** The HTTP methods a plugin route may answer. */
export const ROUTE_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
export type RouteMethod = (typeof ROUTE_METHODS)[number];

/** An HTTP request to one of the plugin's routes (the gateway serves them at `/plugins/<id><path>`). */
export interface PluginRouteRequest {
  method: RouteMethod;
  /** The route's path as declared, e.g. `/status`, without the `/plugins/<id>` prefix. */
  path: string;
  /** The query string's parameters. */
  query: Record<string, string>;
  /** Header names in lower case. Never `authorization`, `proxy-authorization` or `cookie`. */
  headers: Record<string, string>;
  /** The body as text (at most 1 MB; the gateway refuses larger ones). */
  body: string;
}

/**
 * A route's answer. `status` is 100 to 599 (default 200); `content-type` defaults to
 * `text/plain; charset=utf-8`; hop-by-hop headers, `content-length` and `set-cookie` are dropped.
 * A body over 1 MB, or an answer of another shape, becomes a 502.
 */
export interface PluginRouteResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A string is a 200 `text/plain` answer. Throwing becomes a 500 that names the plugin (the error goes to the log). */
export type PluginRouteReturn = string | PluginRouteResponse;

/** A route handler. `signal` aborts when the gateway gives up on the request. */
export type PluginRouteHandler = (request: PluginRouteRequest, context: { signal: AbortSignal }) => PluginRouteReturn | Promise<PluginRouteReturn>;

/** Direct message, group chat, or a thread inside a group. */
export type PluginChatKind = 'direct' | 'group' | 'thread';

/** One account of a plugin's channel: its id and its settings from `channels.<platform>` (routing keys left out). */
export interface PluginChannelAccount {
  accountId: string;
  settings: Record<string, unknown>;
}

/** A message a person sent, as a plugin's channel hands it to the gateway. */
export interface PluginInboundMessage {
  /** The platform's id of the message, unique within its chat: a message received twice is answered once. */
  messageId: string;
  /** `kind` defaults to `direct`. */
  chat: { id: string; kind?: PluginChatKind; threadId?: string; title?: string };
  sender: { id: string; name?: string; username?: string };
  text: string;
  /** The platform's own mention of the bot (groups answer only when mentioned, unless configured otherwise). */
  mentionsBot?: boolean;
  replyToBot?: boolean;
  replyToMessageId?: string;
  attachments?: { kind: 'image' | 'audio' | 'video' | 'file' | 'sticker' | 'other'; id?: string; name?: string; mimeType?: string; sizeBytes?: number }[];
}

/** Where a reply goes. */
export interface PluginChannelTarget {
  chatId: string;
  threadId?: string;
  replyToMessageId?: string;
}

/** One message to send, already chunked to `maxMessageLength`. `idempotencyKey` is the same when the gateway resends it. */
export interface PluginOutboundMessage {
  target: PluginChannelTarget;
  text: string;
  idempotencyKey: string;
}

/** What `run` is given: the gateway's end of the connection. */
export interface PluginChannelContext {
  /** Aborts when the gateway stops the account or reconnects it. */
  signal: AbortSignal;
  /** Hands a message to the gateway; resolves once it is stored (then the platform may be told it was received). */
  receive(message: PluginInboundMessage): Promise<void>;
  /** Reports a platform payload that could not be understood (logged, skipped). */
  reject(reason: string, payload?: unknown): void;
  /** The connection is open and the platform accepted the credentials. */
  connected(info: { botId: string; botName: string }): void;
  /** A sign of life (a poll answered, a heartbeat): without one for `stallTimeoutMs`, the gateway reconnects. */
  progress(): void;
}

/** What a channel's probe found: `degraded` when the platform shows messages are not arriving. */
export interface PluginChannelProbe {
  status: 'ok' | 'degraded';
  detail: string;
  suggestedAction?: string;
}

/** Why a platform call failed; see `api.channelError`. */
export type PluginChannelErrorKind = 'auth' | 'rate-limited' | 'transient' | 'rejected';

/**
 * A chat platform the plugin connects the gateway to. Its name must be listed in the manifest's
 * `registers.channels`; accounts are configured under `channels.<platform>` with `plugin: "<id>"`.
 * Every method gets the account it is for, so one definition serves every account.
 */
export interface PluginChannelDefinition {
  platform: string;
  /** The longest text of one message (64 to 100000; default 4000). Longer replies are split. */
  maxMessageLength?: number;
  /** `plain` (default): the agent's Markdown is turned into plain text; `markdown`: sent as written. */
  markup?: 'plain' | 'markdown';
  /** Reconnect when there is no sign of life for this long (default 120000 ms). */
  stallTimeoutMs?: number;
  /** Connects and serves the account until `context.signal` aborts (then resolve); throw when the connection is lost. */
  run(account: PluginChannelAccount, context: PluginChannelContext): Promise<void>;
  /** Sends one message; throw `api.channelError(...)` to say whether the gateway should retry. */
  send(account: PluginChannelAccount, message: PluginOutboundMessage, context: { signal: AbortSignal }): Promise<{ messageId: string }>;
  /** Shows "typing…" once. */
  typing?(account: PluginChannelAccount, target: PluginChannelTarget, context: { signal: AbortSignal }): Promise<void>;
  /** A cheap end-to-end check, called about once a minute when no message arrived lately. */
  probe?(account: PluginChannelAccount, context: { signal: AbortSignal }): Promise<PluginChannelProbe>;
}

/**
 * The API object `activate` receives. `registerTool`, `registerRoute`, `registerChannel` and `on`
 * work only during activation and only for what the manifest declares; anything else fails the
 * activation with a message naming it.
 */
export interface PluginApi {
  readonly id: string;
  /** The plugin's settings as the host gave them (JSON). */
  readonly config: unknown;
  registerTool(tool: PluginToolDefinition): void;
  /** Answers `method path`, which must be listed in the manifest's `registers.routes` (as `"GET /status"`). */
  registerRoute(method: RouteMethod, path: string, handler: PluginRouteHandler): void;
  on<H extends HookName>(hook: H, handler: HookHandler<H>): void;
  /** Provides a chat platform, which must be listed in the manifest's `registers.channels`. */
  registerChannel(channel: PluginChannelDefinition): void;
  /**
   * An error a channel's method throws to say what went wrong: `auth` (credentials refused: no
   * retry helps), `rate-limited` (retry after `retryAfterMs`), `transient` (retry with backoff;
   * also what any other error counts as), `rejected` (this message can never be sent).
   */
  channelError(kind: PluginChannelErrorKind, message: string, options?: { retryAfterMs?: number }): Error;
  /** Writes to the host's log, tagged with the plugin id. */
  log(message: string): void;
}

/** The default export of a plugin's entry module. */
export type PluginActivate = (api: PluginApi) => unknown;
