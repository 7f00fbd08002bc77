import { z } from 'zod';
import { bindingSchema, channelHealthSchema, channelsSchema } from './channel-schema.js';

/**
 * The configuration schema (`$HEARTH_HOME/hearth.json5`). Every object is strict: an unknown key
 * is an error naming the key. Every field has a safe default so an empty file (or no file) works.
 */

const agentIdPattern = /^[a-z0-9_][a-z0-9_-]{0,63}$/;

export const providerApiSchema = z.enum(['openai-chat', 'openai-responses', 'anthropic-messages', 'google-gemini', 'ollama']);

export const providerSchema = z.strictObject({
  api: providerApiSchema,
  baseUrl: z.url().optional(),
  apiKey: z.string().optional(),
  /** Extra HTTP headers sent with every request. */
  headers: z.record(z.string(), z.string()).optional(),
  /** Per-request timeout, and the longest wait for the next streamed byte. */
  timeoutMs: z.number().int().positive().default(120_000),
  maxRetries: z.number().int().min(0).max(10).default(2),
  /** Model ids this provider offers (shown in /v1/models and used for validation hints). */
  models: z.array(z.string()).optional(),
});

export const toolPolicySchema = z.strictObject({
  allow: z.array(z.string()).optional(),
  deny: z.array(z.string()).optional(),
});

/** `<platform>:<chat>`, `<platform>:<account>:<chat>` or with `:<thread>`, e.g. `telegram:default:12345`. */
export const chatSpecSchema = z
  .string()
  .regex(/^[a-z0-9_-]+(:[^:\s]+){1,3}$/u, 'write <platform>:<chat> or <platform>:<account>:<chat>[:<thread>], e.g. telegram:default:12345');

/** A duration like `30m`, `1h30m` or `90s`. */
const durationText = z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/u, 'write a duration like 30m, 1h or 90s');

export const budgetSchema = z.strictObject({
  /** Input + output tokens per day (the gateway's local day). */
  dailyTokens: z.number().int().positive().optional(),
  /** US dollars per day, from `models.pricing`. */
  dailyCostUsd: z.number().positive().optional(),
});

export const heartbeatSchema = z.strictObject({
  /** How often the agent looks at HEARTBEAT.md, e.g. `30m`. */
  every: durationText.default('30m'),
  /** Local times `HH:MM` between which heartbeats run (the end may be past midnight). */
  activeHours: z
    .strictObject({
      start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/u, 'write HH:MM, e.g. 08:00'),
      end: z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/u, 'write HH:MM, e.g. 22:00'),
      timezone: z.string().optional(),
    })
    .optional(),
  /** A cheaper model for heartbeat turns, `provider/model`. */
  model: z.string().optional(),
  /** Where a heartbeat's reply goes; without it the reply stays in the session. */
  target: chatSpecSchema.optional(),
  /** Instructions before the checklist (the default asks for NO_REPLY when nothing needs attention). */
  prompt: z.string().optional(),
});

const agentFields = {
  budget: budgetSchema.optional(),
  heartbeat: heartbeatSchema.optional(),
  /** `provider/model`, e.g. `local/qwen3:8b`. */
  model: z.string().optional(),
  fallbacks: z.array(z.string()).optional(),
  workspace: z.string().optional(),
  tools: toolPolicySchema.optional(),
  maxSteps: z.number().int().min(1).max(100).optional(),
  turnTimeoutMs: z.number().int().positive().optional(),
  contextTokens: z.number().int().positive().optional(),
  maxOutputTokens: z.number().int().positive().optional(),
  systemPrompt: z.string().optional(),
};

export const agentDefaultsSchema = z.strictObject({
  ...agentFields,
  fallbacks: z.array(z.string()).default([]),
  maxConcurrent: z.number().int().min(1).max(1024).default(8),
  /** The most of `maxConcurrent` (a fraction, rounded up) that turns for one model provider may hold, so a provider that stops answering leaves slots for the others; 1 turns this off. */
  providerShare: z.number().gt(0).max(1).default(0.75),
  maxSteps: z.number().int().min(1).max(100).default(12),
  turnTimeoutMs: z.number().int().positive().default(600_000),
  contextTokens: z.number().int().positive().default(32_000),
  maxOutputTokens: z.number().int().positive().default(4096),
  /** How many times an interrupted turn is re-run after a crash before it is marked failed. */
  maxTurnAttempts: z.number().int().min(1).max(10).default(3),
});

export const agentEntrySchema = z.strictObject({
  ...agentFields,
  default: z.boolean().optional(),
  name: z.string().optional(),
});

export const gatewaySchema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(18789),
  bind: z.union([z.enum(['loopback', 'lan']), z.ipv4(), z.ipv6()]).default('loopback'),
  auth: z.strictObject({ token: z.string().min(8).optional() }).default({}),
  allowedOrigins: z.array(z.string()).default([]),
  /** Requests (HTTP) or frames (WS) per client per second, with a burst of twice that. */
  rateLimit: z.strictObject({
    perSecond: z.number().positive().default(50),
    burst: z.number().positive().default(100),
  }).default({ perSecond: 50, burst: 100 }),
  /** Largest accepted HTTP body and WS frame after `connect`, in bytes. */
  maxPayloadBytes: z.number().int().positive().default(4 * 1024 * 1024),
  /** How long SIGTERM waits for running turns before checkpointing them. */
  drainTimeoutMs: z.number().int().min(0).default(10_000),
});

export const sessionSchema = z.strictObject({
  dmScope: z.enum(['main', 'per-peer', 'per-channel-peer', 'per-account-channel-peer']).default('per-channel-peer'),
});

export const escalationSchema = z.strictObject({
  alertAfterConsecutiveErrors: z.number().int().min(1).default(3),
  disableAfterConsecutiveErrors: z.number().int().min(1).default(5),
  /** The chat that hears about failing jobs (defaults to `alerts.channel`). */
  alertChannel: chatSpecSchema.optional(),
  /** A URL that receives the alert JSON by POST (defaults to `alerts.webhook`). */
  alertWebhook: z.url().optional(),
  /** The longest wait between retries of a failing job. */
  backoffMaxMs: z.number().int().min(1000).default(3_600_000),
});

export const cronSchema = z.strictObject({
  escalation: escalationSchema.default(escalationSchema.parse({})),
  /** The first retry delay after an error; it doubles per consecutive error up to backoffMaxMs. */
  retryBaseMs: z.number().int().min(100).default(30_000),
  /** With misfire "catch-up", at most this many missed runs are made up at a start. */
  maxCatchUpRuns: z.number().int().min(1).max(1000).default(24),
  /** How long the run ledger is kept. */
  historyDays: z.number().int().min(1).max(3650).default(30),
});

/** Where operator alerts go (budgets, channel health; cron jobs unless cron.escalation names its own). */
export const alertsSchema = z.strictObject({
  channel: chatSpecSchema.optional(),
  webhook: z.url().optional(),
});

/** When a model provider that stops answering is skipped (see docs/config.md, `models.breaker`). */
export const breakerSchema = z.strictObject({
  /** Timeouts or connection failures in a row that open a provider's breaker. */
  failureThreshold: z.number().int().min(1).max(100).default(3),
  /** How long an open breaker fails calls fast (or sends them to the fallback) before one probe call. */
  openMs: z.number().int().min(1000).default(30_000),
  /** Each failed probe doubles the open time, up to this. */
  maxOpenMs: z.number().int().min(1000).default(300_000),
});

/** Prices per million tokens in US dollars, by model ref (`provider/model`). */
export const priceSchema = z.strictObject({
  inputPerMillion: z.number().min(0),
  outputPerMillion: z.number().min(0),
});

export const loggingSchema = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  gateway: gatewaySchema.default(gatewaySchema.parse({})),
  models: z.strictObject({
    providers: z.record(z.string(), providerSchema).default({}),
    /** What each model costs, for budgets, run records and metrics, e.g. `"openai/gpt-4o-mini": { inputPerMillion: 0.15, outputPerMillion: 0.6 }`. */
    pricing: z.record(z.string(), priceSchema).default({}),
    breaker: breakerSchema.default(breakerSchema.parse({})),
  }).default({ providers: {}, pricing: {}, breaker: breakerSchema.parse({}) }),
  agents: z.strictObject({
    defaults: agentDefaultsSchema.default(agentDefaultsSchema.parse({})),
    entries: z.record(z.string().regex(agentIdPattern, 'agent ids are lowercase letters, digits, _ and -'), agentEntrySchema).default({}),
  }).default({ defaults: agentDefaultsSchema.parse({}), entries: {} }),
  session: sessionSchema.default(sessionSchema.parse({})),
  logging: loggingSchema.default(loggingSchema.parse({})),
  channels: channelsSchema.default({}),
  /** Health checks of every channel account, self-recovery and when to alert (see docs/channels.md). */
  channelHealth: channelHealthSchema.default(channelHealthSchema.parse({})),
  /** Routes channel messages to agents; the most specific match wins (peer, then account, then channel). */
  bindings: z.array(bindingSchema).default([]),
  cron: cronSchema.default(cronSchema.parse({})),
  alerts: alertsSchema.default({}),
});

export type HearthConfig = z.infer<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;
export type AgentDefaults = z.infer<typeof agentDefaultsSchema>;
export type AgentEntry = z.infer<typeof agentEntrySchema>;
export type HeartbeatConfig = z.infer<typeof heartbeatSchema>;
export type PriceTable = Record<string, z.infer<typeof priceSchema>>;
