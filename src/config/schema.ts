import { z } from 'zod';
import { bindingSchema, channelsSchema } from './channel-schema.js';

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

const agentFields = {
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

export const loggingSchema = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  gateway: gatewaySchema.default(gatewaySchema.parse({})),
  models: z.strictObject({
    providers: z.record(z.string(), providerSchema).default({}),
  }).default({ providers: {} }),
  agents: z.strictObject({
    defaults: agentDefaultsSchema.default(agentDefaultsSchema.parse({})),
    entries: z.record(z.string().regex(agentIdPattern, 'agent ids are lowercase letters, digits, _ and -'), agentEntrySchema).default({}),
  }).default({ defaults: agentDefaultsSchema.parse({}), entries: {} }),
  session: sessionSchema.default(sessionSchema.parse({})),
  logging: loggingSchema.default(loggingSchema.parse({})),
  channels: channelsSchema.default({}),
  /** Routes channel messages to agents; the most specific match wins (peer, then account, then channel). */
  bindings: z.array(bindingSchema).default([]),
  /** Sections owned by later features; accepted and kept so a config written for them loads. */
  cron: z.record(z.string(), z.unknown()).default({}),
});

export type HearthConfig = z.infer<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;
export type AgentDefaults = z.infer<typeof agentDefaultsSchema>;
export type AgentEntry = z.infer<typeof agentEntrySchema>;
