import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { isS3Url } from '../runtime/s3-bucket.js';
import { CHAT_SPEC_HINT, parseChatSpec } from '../contracts/chat-spec.js';
import { TOOL_GROUP_NAMES, TOOL_PROFILES, type ToolProfile } from '../contracts/tool-groups.js';
import { bindingSchema, channelHealthSchema, channelsSchema } from './channel-schema.js';
import { builtOnce, lazySection } from './lazy-schema.js';

/**
 * The configuration schema (`$HEARTH_HOME/hearth.json5`). Every object is strict: an unknown key
 * is an error naming the key. Every field has a safe default so an empty file (or no file) works.
 */

const agentIdPattern = /^[a-z0-9_][a-z0-9_-]{0,63}$/;

export const providerApiSchema = builtOnce(() => z.enum(['openai-chat', 'openai-responses', 'anthropic-messages', 'google-gemini', 'ollama']));

export const providerSchema = builtOnce(() => z.strictObject({
  api: providerApiSchema().describe('The wire protocol: openai-chat (OpenAI Chat Completions and compatible servers: vLLM, LM Studio, OpenRouter…), openai-responses (OpenAI\'s /v1/responses), anthropic-messages, google-gemini (the Gemini API) or ollama (Ollama\'s native /api/chat). See docs/models.md.'),
  baseUrl: z.url().optional().describe('The API base URL (default: the vendor\'s: https://api.openai.com/v1, https://api.anthropic.com, https://generativelanguage.googleapis.com/v1beta, http://127.0.0.1:11434 for ollama, which also accepts a URL ending in /v1).'),
  apiKey: z.string().optional().describe('The API key; better a variable reference (see Variables) than the key itself.'),
  headers: z.record(z.string(), z.string()).optional().describe('Extra HTTP headers sent with every request.').meta({ keyName: 'header' }),
  timeoutMs: z.number().int().positive().default(120_000).describe('Per-request timeout, and the longest wait for the next streamed byte.'),
  maxRetries: z.number().int().min(0).max(10).default(2).describe('Retries of rate-limited, overloaded and network failures before falling back.'),
  models: z.array(z.string()).optional().describe('Model ids this provider offers (shown in /v1/models and used for validation hints).'),
}));

export const execPolicySchema = builtOnce(() => z.strictObject({
  security: z
    .enum(['deny', 'allowlist', 'full'])
    .optional()
    .describe('Which commands the exec tool runs: "deny" (default) none, and the tool is not offered; "allowlist" those matching tools.exec.allow, as plain words without a shell; "full" any command, through /bin/sh.'),
  allow: z
    .array(z.string().trim().min(1, 'write a command pattern such as "git status" or "ls *"'))
    .optional()
    .describe('Command patterns for security "allowlist": the command\'s words, with * as the last word for one or more further words, e.g. "git status", "npm test", "ls *".'),
  timeoutMs: z.number().int().min(100).max(1_800_000).optional().describe('How long a command may run when the call does not ask for less, in ms (default 60000; at most 30 minutes).'),
  sandbox: z
    .enum(['off', 'workspace'])
    .optional()
    .describe('"workspace": every command runs under bubblewrap (Debian package bubblewrap), only the workspace writable, the rest of the file system read-only, your home and Hearth\'s state hidden, a private /tmp, its own PIDs; "off" (default): on the host, as the gateway\'s user.'),
  network: z.boolean().optional().describe('Whether a sandboxed command may use the network (default false: it has only a loopback of its own). Without the sandbox a command always can.'),
  ask: z
    .enum(['off', 'on-miss', 'always'])
    .optional()
    .describe('When a command waits for the operator\'s approval: "off" (default) never; "on-miss" when security is "allowlist" and no pattern matches (instead of refusing it); "always" before every command. The operator answers with /approve <id> or /deny <id> in the chat, the WebChat buttons, or hearth approvals.'),
  askTimeoutMs: z.number().int().min(1000).max(86_400_000).optional().describe('How long an approval waits for an answer before it counts as denied, in ms (default 600000: 10 minutes).'),
}));

/** A tool name, `*`, a prefix ending in `*`, or one of the groups. */
const toolPattern = builtOnce(() => z
  .string()
  .min(1)
  .refine((pattern) => !pattern.startsWith('group:') || (TOOL_GROUP_NAMES as string[]).includes(pattern), { message: `a tool group is one of ${TOOL_GROUP_NAMES.join(', ')}` }));

export const toolPolicySchema = builtOnce(() => z.strictObject({
  profile: z
    .enum(Object.keys(TOOL_PROFILES) as [ToolProfile, ...ToolProfile[]])
    .optional()
    .describe('The tools the agent starts from: "minimal" (read, list, memory search and get, the time), "messaging" (memory, the time), "coding" (default: files, exec and process under tools.exec, memory, the time) or "full" (every tool, web_fetch and MCP servers\' tools too).'),
  allow: z.array(toolPattern()).optional().describe('Exactly the tools the agent may use, in place of the profile: names, *, prefixes like memory_*, or groups (group:fs, group:runtime, group:web, group:memory, group:mcp, group:plugins).'),
  deny: z.array(toolPattern()).optional().describe('Tools the agent may not use (default: none): names, prefixes or groups; deny wins over allow and the profile.'),
  exec: execPolicySchema().optional().describe('The exec tool\'s policy: which commands run, and for how long (see docs/tools.md).'),
  web: z
    .strictObject({
      allowHosts: z.array(z.string().trim().min(1)).optional().describe('Hosts web_fetch may reach even though they are on this machine or a private network, e.g. ["127.0.0.1", "nas.local"] (default: none).'),
    })
    .optional()
    .describe('The web_fetch tool\'s exceptions to its guard against local and private addresses.'),
}));

/** `<platform>:<chat>`, `<platform>:<account>:<chat>` or with `:<thread>`, e.g. `telegram:default:12345`. */
export const chatSpecSchema = builtOnce(() => z.string().refine((spec) => parseChatSpec(spec) !== null, CHAT_SPEC_HINT));

/** A duration like `30m`, `1h30m` or `90s`. */
const durationText = builtOnce(() => z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/u, 'write a duration like 30m, 1h or 90s'));

export const budgetSchema = builtOnce(() => z.strictObject({
  dailyTokens: z.number().int().positive().optional().describe('Input + output tokens per day (the gateway\'s local day); alerts at 80 % and 100 %, then turns are refused with a reply saying why.'),
  dailyCostUsd: z.number().positive().optional().describe('US dollars per day, from models.pricing; alerts and refusals as for dailyTokens.'),
}));

export const heartbeatSchema = builtOnce(() => z.strictObject({
  every: durationText().default('30m').describe('How often the agent looks at HEARTBEAT.md, e.g. 30m.'),
  activeHours: z
    .strictObject({
      start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/u, 'write HH:MM, e.g. 08:00').describe('Local time HH:MM when heartbeats start, e.g. 08:00.'),
      end: z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/u, 'write HH:MM, e.g. 22:00').describe('Local time HH:MM when they stop, e.g. 22:00 (may be past midnight).'),
      timezone: z.string().optional().describe('IANA time zone of start and end (default: the host\'s).'),
    })
    .optional()
    .describe('Local times between which heartbeats run; without it they run around the clock.'),
  model: z.string().optional().describe('A cheaper model for heartbeat turns, provider/model.'),
  target: chatSpecSchema().optional().describe('Where a heartbeat\'s reply goes, e.g. telegram:default:12345; without it the reply stays in the session.'),
  prompt: z.string().optional().describe('Instructions before the checklist (the default asks for NO_REPLY when nothing needs attention).'),
}));

const describeFallbacks = 'Models (provider/model) tried in order when the primary fails.';
const describeMaxSteps = 'Model calls per turn (each tool round is one).';
const describeTurnTimeout = 'A turn is stopped after this long.';
const describeContextTokens = 'The context budget: older transcript beyond it is left out.';
const describeMaxOutputTokens = 'Largest output per model call.';

export const memorySchema = builtOnce(() => z.strictObject({
  embeddings: z
    .strictObject({
      provider: z.string().min(1).describe('A provider under models.providers with an embeddings endpoint (openai-chat, openai-responses or ollama).'),
      model: z.string().min(1).describe('The embedding model, e.g. text-embedding-3-small or nomic-embed-text.'),
    })
    .optional()
    .describe('Where memory is embedded for search by meaning; without it search is by keyword only.'),
  indexPaths: z.array(z.string().min(1)).optional().describe('Files and folders of the workspace that are memory (default MEMORY.md, USER.md, memory/).'),
  extraPaths: z.array(z.string().min(1)).optional().describe('More Markdown files or folders to index, absolute or relative to the workspace.'),
  search: z
    .strictObject({
      maxResults: z.number().int().min(1).max(50).optional().describe('Results per search (default 6).'),
      minScore: z.number().min(0).max(1).optional().describe('Results scoring below this are left out (default 0).'),
      vectorWeight: z.number().min(0).max(1).optional().describe('Weight of similarity by meaning in hybrid search (default 0.7).'),
      textWeight: z.number().min(0).max(1).optional().describe('Weight of keyword (BM25) relevance in hybrid search (default 0.3).'),
      halfLifeDays: z.number().min(0).optional().describe('Days for a dated note (memory/YYYY-MM-DD.md) to lose half its weight; 0 turns decay off (default 30).'),
    })
    .optional()
    .describe('How memory search ranks results.'),
  sessions: z.boolean().optional().describe('Also index the agent\'s conversations (their user and assistant messages), marked untrusted: they hold what other people wrote (default false).'),
  citations: z.enum(['on', 'off', 'auto']).optional().describe('Whether memory_search gives the model path#L citations: on, off, or auto (default: in direct conversations, not in group chats, where the paths of your notes would be shown to others).'),
  retentionPolicy: z
    .strictObject({ kind: z.literal('time').describe('time: by the date in the note\'s name.'), maxAgeDays: z.number().int().min(1).describe('Dated notes (memory/YYYY-MM-DD.md) older than this many days are left out of the index (the files stay).') })
    .optional()
    .describe('How long dated notes stay searchable.'),
  recordQuery: z.enum(['text', 'hash']).optional().describe('How run records keep memory search queries: as written (text, default) or only their SHA-256 (hash).'),
  redaction: z
    .strictObject({
      secrets: z.boolean().optional().describe('Redact the configured credentials (provider keys, channel tokens) wherever they appear in memory (default true).'),
      apiKeys: z.boolean().optional().describe('Redact text shaped like API keys, bot tokens, JWTs and private keys (default true).'),
    })
    .optional()
    .describe('What is redacted before memory is indexed or written; the files on disk keep what you wrote.'),
  governance: z
    .strictObject({
      rules: z
        .array(
          z
            .strictObject({
              action: z.enum(['redact', 'tag', 'block']).describe('redact: replace the match; tag: label the chunk; block: keep the chunk out of the index (and refuse a memory_write).'),
              pattern: z
                .string()
                .min(1)
                .refine((pattern) => isRegExp(pattern), { message: 'is not a valid regular expression' })
                .describe('A JavaScript regular expression.'),
              reason: z.string().optional().describe('Why: shown in place of redacted text and in refusals.'),
              tag: z.string().optional().describe('The tag a `tag` rule gives.'),
            })
            .refine((rule) => rule.action !== 'tag' || rule.tag !== undefined, { message: 'a tag rule needs `tag`' }),
        )
        .optional()
        .describe('Rules applied to every memory text before it is indexed or written, in order.'),
      denyPaths: z.array(z.string().min(1)).optional().describe('Workspace-relative files never indexed: a path, a folder ending in /, or * for any characters.'),
    })
    .optional()
    .describe('Operator rules over what memory may hold.'),
}));

function isRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

export const compactionSchema = builtOnce(() => z.strictObject({
  enabled: z.boolean().optional().describe('Summarise a session\'s older turns when its history nears the context budget, or when the provider refuses it as too long (default true). Off, the oldest turns are left out of what the model sees instead.'),
  mode: z
    .enum(['safeguard', 'default'])
    .optional()
    .describe('safeguard (default): the summary must have its sections and keep the identifiers (paths, URLs, ids) of the turns it replaces, else it is written again once, else the compaction fails visibly; default: any non-empty summary is used.'),
  triggerPercent: z.number().int().min(10).max(100).optional().describe('Compact when the history fills this share of the context left for history (default 80).'),
  keepRecentTokens: z.number().int().min(0).optional().describe('Tokens of the newest turns kept as they are after a compaction, at most half the history budget (default 20000).'),
  memoryFlush: z.boolean().optional().describe('Before an automatic compaction, give the agent one silent turn to save what matters with memory_write (default true; needs the memory tools).'),
  model: z.string().optional().describe('provider/model that writes summaries (default: the agent\'s own model).'),
}));

const agentFields = builtOnce(() => ({
  budget: budgetSchema().optional().describe('Daily spending limits of the agent (see docs/automation.md).'),
  heartbeat: heartbeatSchema().optional().describe('Periodic turns in which the agent checks HEARTBEAT.md (see docs/automation.md).'),
  model: z.string().optional().describe('provider/model, e.g. local/qwen3:8b (default: detected from ANTHROPIC_API_KEY, OPENAI_API_KEY or a local Ollama).'),
  fallbacks: z.array(z.string()).optional().describe(describeFallbacks),
  workspace: z.string().optional().describe('The agent\'s folder (default: workspaces/<agentId>); its AGENTS.md, SOUL.md and USER.md go into the system prompt.'),
  tools: toolPolicySchema().optional().describe('Which tools the agent may use.'),
  maxSteps: z.number().int().min(1).max(100).optional().describe(describeMaxSteps),
  turnTimeoutMs: z.number().int().positive().optional().describe(describeTurnTimeout),
  contextTokens: z.number().int().positive().optional().describe(describeContextTokens),
  maxOutputTokens: z.number().int().positive().optional().describe(describeMaxOutputTokens),
  systemPrompt: z.string().optional().describe('Extra instructions for the agent.'),
  memory: memorySchema().optional().describe('The agent\'s memory: which files, how they are embedded and searched (see docs/memory.md).'),
  compaction: compactionSchema().optional().describe('How a long conversation is summarised to fit the model\'s context (see docs/memory.md#compaction).'),
  skills: z.array(z.string().min(1)).optional().describe('The skills the agent may use, by name (default: every eligible skill; [] for none).'),
  loop: z
    .enum(['conversational', 'structured'])
    .optional()
    .describe('conversational (default): each message is one run of model and tool calls; structured: the model first writes a plan, each step runs on its own with only its tools, its output is checked against the shape the plan declared, and every step is checkpointed so a restart goes on at the next unfinished step (see docs/agents.md#structured-loop).'),
}));

export const agentDefaultsSchema = builtOnce(() => z.strictObject({
  ...agentFields(),
  fallbacks: z.array(z.string()).default([]).describe(describeFallbacks),
  maxConcurrent: z.number().int().min(1).max(1024).default(8).describe('Turns running at once across all sessions.'),
  providerShare: z
    .number()
    .gt(0)
    .max(1)
    .default(0.75)
    .describe('The most of maxConcurrent (a fraction, rounded up: 6 of 8) that turns for one model provider (the agent\'s first model) may hold, so a provider that stops answering leaves slots for the others; applies when the agents\' first models use more than one provider; 1 turns it off.'),
  maxSteps: z.number().int().min(1).max(100).default(12).describe(describeMaxSteps),
  turnTimeoutMs: z.number().int().positive().default(600_000).describe(describeTurnTimeout),
  contextTokens: z.number().int().positive().default(32_000).describe(describeContextTokens),
  maxOutputTokens: z.number().int().positive().default(4096).describe(describeMaxOutputTokens),
  maxTurnAttempts: z.number().int().min(1).max(10).default(3).describe('How many times a turn interrupted by a crash is re-run before it is marked failed.'),
}));

export const agentEntrySchema = builtOnce(() => z.strictObject({
  ...agentFields(),
  default: z.boolean().optional().describe('This agent answers when no agent is named (default: the first entry).'),
  name: z.string().optional().describe('A display name.'),
}));

export const gatewaySchema = builtOnce(() => z.strictObject({
  port: z.number().int().min(0).max(65535).default(18789).describe('The port of HTTP, WebSocket and WebChat (hearth gateway --port overrides); takes effect at the next start.'),
  bind: z.union([z.enum(['loopback', 'lan']), z.ipv4(), z.ipv6()]).default('loopback').describe('loopback (127.0.0.1), lan (0.0.0.0) or an IP address; takes effect at the next start.'),
  auth: z.strictObject({ token: z.string().min(8).optional().describe('The bearer token; HEARTH_GATEWAY_TOKEN overrides; without either one is created in credentials/gateway-token (0600).') }).default({}),
  allowedOrigins: z.array(z.string()).default([]).describe('Browser origins, besides the gateway\'s own, that may open /ws.'),
  /**
   * Per-address limits on what comes without a valid token; clients with the token are bounded
   * by `gateway.concurrency` instead.
   */
  rateLimit: z.strictObject({
    perSecond: z.number().positive().default(50).describe('Per address, requests without a valid token per second: /readyz, the WebChat page, webhooks, requests with no token, frames before a WebSocket\'s connect (429 past it). Requests with the token are not rate limited (see gateway.concurrency).'),
    burst: z.number().positive().default(100).describe('How many requests without a token may come at once before the per-second rate applies.'),
    failedAuthPerMinute: z.number().positive().default(30).describe('Wrong tokens (HTTP or WS connect) one address may present per minute; past the burst the address gets 429 (WS: close 1008), even with the right token, until it has waited.'),
    failedAuthBurst: z.number().int().min(1).default(10).describe('How many wrong tokens may come at once before the per-minute rate applies.'),
  }).default({ perSecond: 50, burst: 100, failedAuthPerMinute: 30, failedAuthBurst: 10 }),
  concurrency: z.strictObject({
    perConnection: z.number().int().min(1).max(1000).default(8).describe('Requests with the token one connection (HTTP or WebSocket) may have running at once; the rest wait.'),
    total: z.number().int().min(1).max(100_000).default(256).describe('Requests with the token running at once across all connections; waiting ones start round-robin across connections, so one busy connection cannot starve the others.'),
    queuePerConnection: z.number().int().min(0).max(100_000).default(256).describe('Requests one connection may have waiting; past it the answer is 503 with Retry-After (WS: OVERLOADED with retryAfterMs).'),
    queueTotal: z.number().int().min(0).max(1_000_000).default(4096).describe('Requests waiting across all connections; past it the answer is 503 with Retry-After (WS: OVERLOADED).'),
  }).default({ perConnection: 8, total: 256, queuePerConnection: 256, queueTotal: 4096 }),
  headersTimeoutMs: z.number().int().min(100).max(600_000).default(5_000).describe('A request\'s headers must arrive within this; else 408 and the connection is closed.'),
  bodyTimeoutMs: z.number().int().min(100).max(3_600_000).default(10_000).describe('A request\'s body must arrive within this after its headers; else 408 and the connection is closed.'),
  maxConnections: z.number().int().min(1).max(1_000_000).default(1024).describe('Open connections (HTTP and WebSocket) in total; past it a new one is answered 503 and closed (past twice it, dropped unanswered).'),
  maxConnectionsPerAddress: z.number().int().min(1).max(100_000).default(64).describe('Open connections (HTTP and WebSocket) from one address; past it a new one is answered 429 and closed.'),
  maxPayloadBytes: z.number().int().positive().default(4 * 1024 * 1024).describe('Largest accepted HTTP body and WS frame after connect, in bytes (frames before connect: 64 KiB; webhooks: also the platform\'s cap, 1 MiB for Telegram and Slack). A larger WS frame gets PAYLOAD_TOO_LARGE naming the limit, then close 1009 with a reason.'),
  drainTimeoutMs: z.number().int().min(0).default(10_000).describe('On SIGTERM, how long running turns may finish before they are checkpointed.'),
}));

export const sessionSchema = builtOnce(() => z.strictObject({
  dmScope: z.enum(['main', 'per-peer', 'per-channel-peer', 'per-account-channel-peer']).default('per-channel-peer').describe('Which direct messages share a session: all (main), per person, per person and platform, or per person, platform and account.'),
  historyCacheMb: z.number().min(0).max(4096).default(32).describe('MiB of recently active sessions\' history kept in memory, outside the JavaScript heap (about 1,300 busy sessions of 400 short lines); more means fewer store reads when that many sessions are busy at once, at up to that much more RSS. 0 reads every turn\'s history from the store. Takes effect at the next start.'),
}));

export const escalationSchema = builtOnce(() => z.strictObject({
  alertAfterConsecutiveErrors: z.number().int().min(1).default(3).describe('A job failing this many times in a row alerts once.'),
  disableAfterConsecutiveErrors: z.number().int().min(1).default(5).describe('A job failing this many times in a row is disabled (still listed, with the reason).'),
  alertChannel: chatSpecSchema().optional().describe('The chat that hears about failing jobs, <platform>[:<account>]:<chat>[:<thread>] (default: alerts.channel).'),
  alertWebhook: z.url().optional().describe('A URL that receives the alert JSON by POST (default: alerts.webhook).'),
  backoffMaxMs: z.number().int().min(1000).default(3_600_000).describe('The longest wait between retries of a failing job.'),
}));

export const cronSchema = builtOnce(() => z.strictObject({
  escalation: escalationSchema().default(escalationSchema().parse({})).describe('When failing jobs alert and are disabled, and where alerts go.'),
  retryBaseMs: z.number().int().min(100).default(30_000).describe('The first retry delay after an error; it doubles per consecutive error up to escalation.backoffMaxMs.'),
  maxCatchUpRuns: z.number().int().min(1).max(1000).default(24).describe('With misfire catch-up, at most this many missed runs are made up at a start.'),
  historyDays: z.number().int().min(1).max(3650).default(30).describe('How long the run ledger is kept, in days.'),
  historyMaxRows: z
    .number()
    .int()
    .min(0)
    .max(10_000_000)
    .default(10_000)
    .describe('At most this many run ledger entries are kept, the oldest finished ones going first (runs still scheduled or running are never removed); 0 for no limit.'),
}));

/** Where operator alerts go (budgets, channel health; cron jobs unless cron.escalation names its own). */
export const alertsSchema = builtOnce(() => z.strictObject({
  channel: chatSpecSchema().optional().describe('The chat operator alerts go to, <platform>[:<account>]:<chat>[:<thread>]; every alert is also logged and listed in hearth status.'),
  webhook: z.url().optional().describe('A URL that receives each alert\'s JSON by POST.'),
}));

/** When a model provider that stops answering is skipped (see docs/config.md, `models.breaker`). */
export const breakerSchema = builtOnce(() => z.strictObject({
  failureThreshold: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(3)
    .describe('Timeouts or connection failures in a row that open a provider\'s circuit breaker: its calls then fail at once with PROVIDER_UNAVAILABLE (503), or go to the agent\'s fallback model, instead of waiting timeoutMs each.'),
  openMs: z.number().int().min(1000).default(30_000).describe('How long an open breaker skips the provider before one call goes through as a probe; an answer (even a refusal) closes the breaker.'),
  maxOpenMs: z.number().int().min(1000).default(300_000).describe('Each failed probe doubles the open time, up to this.'),
}));

/** Prices per million tokens in US dollars, by model ref (`provider/model`). */
export const priceSchema = builtOnce(() => z.strictObject({
  inputPerMillion: z.number().min(0).describe('US dollars per million input tokens.'),
  outputPerMillion: z.number().min(0).describe('US dollars per million output tokens.'),
}));

export const loggingSchema = builtOnce(() => z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info').describe('The least severe level written to logs/gateway.log; HEARTH_LOG_LEVEL overrides.'),
}));

export const tracingSchema = builtOnce(() => z.strictObject({
  enabled: z.boolean().default(false).describe('Send OpenTelemetry traces of every turn (lane wait, model calls, tool calls, delivery) to an OTLP/HTTP receiver. Off: no tracing code is loaded. Read at start: restart the gateway after changing it.'),
  endpoint: z.url().default('http://127.0.0.1:4318/v1/traces').describe('The OTLP/HTTP traces endpoint (JSON encoding), e.g. an OpenTelemetry Collector or Jaeger at http://127.0.0.1:4318/v1/traces.'),
  serviceName: z.string().trim().min(1).default('hearth').describe('The service.name resource attribute the traces carry.'),
  sampleRatio: z.number().min(0).max(1).default(1).describe('The share of turns traced, from 0 to 1; a turn not sampled has no trace id in its run record.'),
  headers: z.record(z.string(), z.string()).default({}).describe('HTTP headers sent with every export, e.g. an Authorization header (a variable reference for a secret, see Variables).').meta({ keyName: 'header' }),
  exportTimeoutMs: z.number().int().min(100).max(120_000).default(10_000).describe('How long one export request may take before it is abandoned (its spans are dropped).'),
}));

/** One MCP server: a command Hearth starts (stdio) or a URL it connects to (streamable HTTP). */
export const mcpServerSchema = builtOnce(() => z
  .strictObject({
    command: z.string().trim().min(1).optional().describe('The program that serves MCP on its standard input and output, e.g. "npx" or "/usr/local/bin/calendar-mcp".'),
    args: z.array(z.string()).optional().describe('Its arguments, e.g. ["-y", "@modelcontextprotocol/server-filesystem", "/home/me/notes"].'),
    env: z.record(z.string(), z.string()).optional().describe('Environment variables it gets beyond PATH, HOME and LANG (a variable reference for a secret, see Variables).').meta({ keyName: 'name' }),
    cwd: z.string().optional().describe('The folder it starts in (default: Hearth\'s home).'),
    url: z.url().optional().describe('The server\'s streamable HTTP endpoint, e.g. "http://127.0.0.1:8931/mcp", in place of command.'),
    headers: z.record(z.string(), z.string()).optional().describe('HTTP headers sent with every request to url, e.g. an Authorization header.').meta({ keyName: 'header' }),
    timeoutMs: z.number().int().min(100).max(1_800_000).optional().describe('How long one tool call may take, in ms (default 60000).'),
    enabled: z.boolean().optional().describe('false keeps the server configured but not started (default true).'),
  })
  .refine((server) => (server.command === undefined) !== (server.url === undefined), { message: 'give either command (a server Hearth starts) or url (a server it connects to), not both' }));

export const storeSchema = builtOnce(() => z.strictObject({
  kind: z.enum(['sqlite', 'postgres']).default('sqlite').describe('"sqlite" (default): one file in the state folder; "postgres": a PostgreSQL database several gateways may share (see docs/cluster.md). HEARTH_DATABASE_URL selects postgres too.'),
  url: z.string().min(1).optional().describe('The PostgreSQL database, postgres://user:password@host:5432/database ; required with kind "postgres" unless HEARTH_DATABASE_URL is set (which wins, and keeps the password out of the file).'),
}));

export const tasksSchema = builtOnce(() => z.strictObject({
  take: z.array(z.string().regex(agentIdPattern, 'agent ids are lowercase letters, digits, _ and -')).default([]).describe('Agents that take tasks from the shared queue: the gateway claims each one\'s ready tasks (one at a time per agent) and runs a turn for it in the session task:<id> (see docs/agents.md, Task queue). Empty (default): agents use the queue only through the task tool.'),
  leaseMs: z.number().int().min(1000).max(86_400_000).default(60_000).describe('How long a claim holds without renewal; a gateway renews it while the task\'s turn runs, so a task whose gateway died is claimed again this long after.'),
  pollMs: z.number().int().min(100).max(3_600_000).default(5000).describe('How often the gateway looks for ready tasks for the agents in take.'),
  maxAttempts: z.number().int().min(1).max(20).default(3).describe('A task whose turn failed this many times is marked failed; before that it goes back to the queue.'),
}));

/** How to reach an S3-compatible store (backups.s3, media.s3). */
const s3Schema = builtOnce(() => z.strictObject({
  endpoint: z.url().optional().describe('The store\'s URL for S3-compatible services (MinIO, Backblaze B2, Cloudflare R2, …); without it, AWS.'),
  region: z.string().min(1).optional().describe('The region (default us-east-1).'),
  forcePathStyle: z.boolean().optional().describe('Bucket in the path instead of the host name (default true with an endpoint).'),
  accessKeyId: z.string().min(1).optional().describe('The access key id (default: the AWS SDK\'s usual sources, e.g. AWS_ACCESS_KEY_ID).'),
  secretAccessKey: z.string().min(1).optional().describe('The secret access key (prefer ${AWS_SECRET_ACCESS_KEY}).'),
}));

export const configSchema = builtOnce(() => z.strictObject({
  $schema: z.string().optional().describe('A JSON Schema URL for editors; the gateway ignores it.'),
  gateway: lazySection('gateway', gatewaySchema).describe('The HTTP and WebSocket server.'),
  models: lazySection('models', () => z.strictObject({
    providers: z.record(z.string(), providerSchema()).default({}).describe('Model providers by the id used in model refs (<id>/<model>).').meta({ keyName: 'id' }),
    pricing: z.record(z.string(), priceSchema()).default({}).describe('What each model costs, for budgets, run records and hearth_cost_usd_total, e.g. "openai/gpt-4o-mini": { inputPerMillion: 0.15, outputPerMillion: 0.6 }.').meta({ keyName: 'provider/model' }),
    breaker: breakerSchema().default(breakerSchema().parse({})).describe('When a model provider that stops answering is skipped.'),
  })).describe('Model providers, prices and circuit breakers.'),
  agents: lazySection('agents', () => z.strictObject({
    defaults: agentDefaultsSchema().default(agentDefaultsSchema().parse({})).describe('Settings every agent starts from.'),
    entries: z.record(z.string().regex(agentIdPattern, 'agent ids are lowercase letters, digits, _ and -'), agentEntrySchema()).default({}).describe('Agents by id (lowercase letters, digits, _ and -), each overriding the defaults; without entries there is one agent, main.').meta({ keyName: 'agentId' }),
  })).describe('The agents: their models, tools, limits, budgets and heartbeats.'),
  session: lazySection('session', sessionSchema).describe('How conversations map to sessions, and how much of their history stays in memory.'),
  logging: lazySection('logging', loggingSchema).describe('The gateway\'s log.'),
  tracing: lazySection('tracing', tracingSchema).describe('OpenTelemetry traces of turns (see docs/agents.md, Traces).'),
  channels: lazySection('channels', channelsSchema).describe('Chat platform accounts: Telegram, Discord, Slack, IRC, Signal, Feishu / Lark, WhatsApp and Matrix, or a plugin\'s platform (see docs/channels.md).'),
  backups: z
    .strictObject({
      to: z.string().min(1).describe('A folder (absolute path) or s3://<bucket>/<prefix> of an S3-compatible store.'),
      every: durationText().default('1d').describe('How often a backup is made, e.g. 1d or 6h.'),
      keep: z.number().int().min(1).max(10_000).default(7).describe('How many backups are kept; older ones are deleted after each backup.'),
      includeSecrets: z.boolean().default(false).describe('Put credentials and secret config values in the backups too (then protect where they go).'),
      s3: s3Schema().optional().describe('How to reach an s3:// target.'),
    })
    .optional()
    .describe('State backups on a schedule (see docs/operations.md, Backups); off without it.'),
  tasks: lazySection('tasks', tasksSchema).describe('The shared task queue between agents: which agents take tasks, leases (see docs/agents.md, Task queue).'),
  store: lazySection('store', storeSchema).describe('Where the gateway keeps its state: sessions, transcripts, runs, the outbox (see docs/cluster.md).'),
  cluster: lazySection('cluster', () => z
    .strictObject({
      nodeId: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'a node id is 1 to 100 letters, digits, ".", "_", ":" or "-"').optional().describe('This gateway\'s name among the nodes sharing one PostgreSQL store (default: HEARTH_NODE_ID, else <host name>:<port>). Each node needs its own.'),
      leaseMs: z.number().int().min(500).max(600_000).default(10_000).describe('How long a node\'s hold on a session, a channel account or the cron schedule lasts without renewal: when a node dies, another takes its work over this long after its last renewal. Renewed every third of it.'),
    })).describe('Cluster mode: several gateways on one PostgreSQL store (store.kind "postgres"), each session, channel account and the cron schedule held by one node at a time (see docs/cluster.md). Ignored with SQLite.'),
  retention: lazySection('retention', () => z
    .strictObject({
      sessionsIdleDays: z.number().min(0).max(36_500).default(180).describe('A session with no turn for this many days is archived (gzip JSON lines in $HEARTH_HOME/archive/sessions/<day>/) and removed from the database, with the media only it referred to; 0 keeps sessions for ever. Fractions of a day work.'),
      runsDays: z.number().min(0).max(36_500).default(90).describe('Run records (what each turn did: steps, tool calls, tokens; hearth runs, usage) are kept this many days; 0 for ever.'),
      runsMaxRows: z.number().int().min(0).max(100_000_000).default(1_000_000).describe('At most this many run records are kept, the oldest finished ones going first; 0 for no limit.'),
      outboxDays: z.number().min(0).max(36_500).default(14).describe('Delivered or given-up outbox entries are kept this many days (hearth channels status counts them); 0 for ever.'),
      tasksDays: z
        .number()
        .min(0)
        .max(36_500)
        .default(90)
        .describe('Done, failed and cancelled tasks (hearth tasks) are kept this many days after they finished, then deleted with their dependencies; one an open or claimed task depends on is kept. 0 for ever.'),
      alertsDays: z.number().min(0).max(36_500).default(90).describe('Operator alerts (hearth alerts) are kept this many days once delivered, given up or only logged; one still being delivered is kept. 0 for ever.'),
      intervalMinutes: z.number().min(0.01).max(10_080).default(60).describe('How often retention runs (the first pass 30 s after start, or one interval after start when that is sooner).'),
      vacuumFreePercent: z.number().min(0).max(100).default(25).describe('After a pass, the SQLite database is compacted (VACUUM, giving space back to the disk) when at least this share of it is free pages and at least 16 MiB; 0 never. SQLite reuses free pages anyway: this only matters after a large prune.'),
    })).describe('How long state is kept (see docs/operations.md, Retention).'),
  media: lazySection('media', () => z
    .strictObject({
      maxBytes: z.number().int().min(0).max(1024 * 1024 * 1024).default(25 * 1024 * 1024).describe('Largest photo, voice message or file from a channel that is saved (by content hash, see media.to); a larger one is noted in the transcript, not downloaded. 0 saves none.'),
      to: z
        .string()
        .refine((to) => (to.startsWith('s3://') ? isS3Url(to) : isAbsolute(to)), { message: 'media.to is a folder (absolute path) or s3://<bucket>/<prefix>' })
        .optional()
        .describe('Where media is kept by content hash: a folder (absolute path; default $HEARTH_HOME/media) or s3://<bucket>/<prefix> of an S3-compatible store, which every gateway of a cluster shares. Transcripts refer to media/<sha256> either way.'),
      s3: s3Schema().optional().describe('How to reach an s3:// media.to, as backups.s3.'),
    })).describe('Files that arrive with channel messages.'),
  channelHealth: lazySection('channelHealth', channelHealthSchema).describe('Health checks of every channel account, self-recovery and when to alert (see docs/channels.md).'),
  bindings: lazySection('bindings', () => z.array(bindingSchema())).describe('Routes channel messages to agents; the most specific match wins (peer, then account, then channel).'),
  cron: lazySection('cron', cronSchema).describe('Scheduled agent turns: retries, escalation and the run ledger (see docs/automation.md).'),
  alerts: lazySection('alerts', alertsSchema).describe('Where operator alerts go (budgets, channel health; cron jobs unless cron.escalation names its own).'),
  skills: lazySection('skills', () => z
    .strictObject({
      trustedKeys: z
        .record(z.string(), z.string().regex(/^[A-Za-z0-9+/]{43}=$/u, 'a trusted key is the base64 raw Ed25519 public key from hearth skills keygen (<name>.pub)'))
        .default({})
        .describe('Keys whose signed skills may be installed, by a name of yours: the contents of <name>.pub from hearth skills keygen.')
        .meta({ keyName: 'name' }),
      allowUnsigned: z.array(z.string().min(1)).default([]).describe('Local folders whose unsigned skills hearth skills install accepts (developer mode; hearth security audit reports it).'),
      extraDirs: z.array(z.string().min(1)).default([]).describe('More folders of skills, after <workspace>/skills and $HEARTH_HOME/skills.'),
    })).describe('Skills: where they are found and whose signatures are trusted (see docs/skills.md).'),
  plugins: lazySection('plugins', () => z
    .strictObject({
      load: z
        .strictObject({ paths: z.array(z.string().min(1)).default([]).describe('More plugin folders to load (each holds a hearth.plugin.json), besides $HEARTH_HOME/plugins/<id>/.') })
        .default({ paths: [] })
        .describe('Where plugins are loaded from.'),
      entries: z
        .record(
          z.string(),
          z.strictObject({
            enabled: z.boolean().optional().describe('false keeps the plugin from loading (default true).'),
            config: z.record(z.string(), z.unknown()).optional().describe('Settings the plugin reads as api.config.'),
          }),
        )
        .default({})
        .describe('Per-plugin settings, by plugin id.')
        .meta({ keyName: 'pluginId' }),
    })).describe('Code plugins, each in its own worker thread (see docs/plugins.md).'),
  mcp: lazySection('mcp', () => z
    .strictObject({
      servers: z
        .record(
          z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,24}$/u, 'an MCP server name is letters, digits, _ and - (at most 24): its tools are named <server>__<tool>')
            .refine((name) => name !== 'plugin', { message: '"plugin" is taken: plugins\' tools are named plugin__<id>__<tool>' }),
          mcpServerSchema(),
        )
        .default({})
        .describe('MCP servers by name; each server\'s tools are offered as <name>__<tool> under the agents\' tool policy (group:mcp).')
        .meta({ keyName: 'name' }),
    })).describe('Model Context Protocol servers whose tools the agents may use (see docs/tools.md).'),
}));

export type HearthConfig = z.infer<ReturnType<typeof configSchema>>;
export type MemoryConfig = z.infer<ReturnType<typeof memorySchema>>;
export type McpServerConfig = z.infer<ReturnType<typeof mcpServerSchema>>;
export type TracingConfig = z.infer<ReturnType<typeof tracingSchema>>;
export type ToolPolicyConfig = z.infer<ReturnType<typeof toolPolicySchema>>;
export type CompactionConfig = z.infer<ReturnType<typeof compactionSchema>>;
export type ProviderConfig = z.infer<ReturnType<typeof providerSchema>>;
export type AgentDefaults = z.infer<ReturnType<typeof agentDefaultsSchema>>;
export type AgentEntry = z.infer<ReturnType<typeof agentEntrySchema>>;
export type HeartbeatConfig = z.infer<ReturnType<typeof heartbeatSchema>>;
export type PriceTable = Record<string, z.infer<ReturnType<typeof priceSchema>>>;
