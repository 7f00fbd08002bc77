import { z } from 'zod';

/**
 * `channels.<platform>` config. A platform block is one account (`default`) or, with `accounts`,
 * several: each account takes the platform block's fields as defaults and overrides what it sets.
 */

const peerId = z.union([z.string().min(1), z.number().int()]).transform((value) => String(value));

const regexString = z.string().refine(
  (value) => {
    try {
      new RegExp(value, 'iu');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

/** Who may talk to the bot and when it answers; shared by every platform. */
const routingFields = {
  enabled: z.boolean().optional(),
  /** Direct messages: `pairing` (unknown senders get a code to approve), `allowlist`, `open` (needs "*" in allowFrom), `disabled`. */
  dmPolicy: z.enum(['pairing', 'allowlist', 'open', 'disabled']).optional(),
  /** Sender ids (or usernames) allowed to talk to the bot; "*" allows everyone. */
  allowFrom: z.array(peerId).optional(),
  /** Group chats: `allowlist` (only `groups`), `open` (any group), `disabled`. */
  groupPolicy: z.enum(['allowlist', 'open', 'disabled']).optional(),
  /** Group, channel or room ids the bot answers in under the `allowlist` group policy; "*" allows all. */
  groups: z.array(peerId).optional(),
  /** In groups, answer only when mentioned or replied to. */
  requireMention: z.boolean().optional(),
  /** Extra patterns (case-insensitive regular expressions) that count as mentioning the bot. */
  mentionPatterns: z.array(regexString).optional(),
  /** Longest text per platform message; longer replies are split (never inside a code block). */
  textChunkLimit: z.number().int().min(64).max(100_000).optional(),
  /** How often the typing indicator is renewed while a reply is being written. */
  typingIntervalMs: z.number().int().min(50).max(60_000).optional(),
  /** Reconnect when the connection shows no sign of life for this long. */
  stallTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
  /** Reconnect backoff: first delay and cap (jittered, doubling). */
  reconnectDelayMs: z.number().int().min(10).max(600_000).optional(),
  reconnectMaxDelayMs: z.number().int().min(10).max(3_600_000).optional(),
};

const telegramFields = {
  ...routingFields,
  botToken: z.string().min(1).optional(),
  /** Bot API base URL (default https://api.telegram.org), e.g. a local Bot API server. */
  apiRoot: z.url().optional(),
  /** Long-poll timeout in seconds. */
  pollTimeoutSeconds: z.number().int().min(0).max(50).optional(),
  /** `polling` (default) or `webhook`: Telegram pushes updates to webhookUrl, which must reach
   * this gateway's `/channels/telegram/<accountId>/webhook` (through your HTTPS reverse proxy). */
  mode: z.enum(['polling', 'webhook']).optional(),
  webhookUrl: z.url().optional(),
  /** Secret Telegram sends with every push (1–256 of A-Z a-z 0-9 _ -). */
  webhookSecret: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'use 1 to 256 letters, digits, _ or -').optional(),
};

const discordFields = {
  ...routingFields,
  token: z.string().min(1).optional(),
  /** REST API base URL (default https://discord.com/api); the gateway URL is discovered from it. */
  apiRoot: z.url().optional(),
};

const slackFields = {
  ...routingFields,
  botToken: z.string().min(1).optional(),
  /** App-level token (`xapp-…`) for Socket Mode. */
  appToken: z.string().min(1).optional(),
  mode: z.enum(['socket', 'http']).optional(),
  signingSecret: z.string().min(1).optional(),
  /** Web API base URL (default https://slack.com/api/). */
  apiRoot: z.url().optional(),
};

const ircFields = {
  ...routingFields,
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  tls: z.boolean().optional(),
  /** Accept a server certificate that does not verify (self-signed servers). */
  tlsInsecure: z.boolean().optional(),
  nick: z.string().min(1).max(30).optional(),
  username: z.string().min(1).optional(),
  realname: z.string().optional(),
  password: z.string().optional(),
  sasl: z.strictObject({ account: z.string().min(1), password: z.string().min(1) }).optional(),
  /** Channels to join, e.g. ["#hearth"]. */
  channels: z.array(z.string().regex(/^[#&+!][^\s,]+$/, 'IRC channel names start with # (or &, +, !)')).optional(),
  /** Smallest gap between two lines sent, to stay under the server's flood limit. */
  floodDelayMs: z.number().int().min(0).max(10_000).optional(),
};

const accountId = z.string().regex(/^[a-z0-9_][a-z0-9_-]{0,63}$/, 'account ids are lowercase letters, digits, _ and -');

const platform = <T extends z.ZodRawShape>(fields: T) =>
  z.strictObject({ ...fields, accounts: z.record(accountId, z.strictObject(fields)).optional() });

export const channelsSchema = z.strictObject({
  telegram: platform(telegramFields).optional(),
  discord: platform(discordFields).optional(),
  slack: platform(slackFields).optional(),
  irc: platform(ircFields).optional(),
});

/**
 * `channelHealth`: how every channel account is checked (connection, credentials, messages
 * arriving) and how often a degraded account is reconnected before the operator is alerted.
 */
export const channelHealthSchema = z.strictObject({
  /** How often every account is checked. */
  intervalMs: z.number().int().min(100).max(3_600_000).default(60_000),
  /** An account that handled a message this recently works; otherwise its probe decides. */
  functionalWindowMs: z.number().int().min(0).max(7 * 86_400_000).default(30 * 60_000),
  /** Longest a probe may take before it counts as failed. */
  probeTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** Reconnects (one per check) of a degraded account before the operator is alerted; 0 alerts at once. */
  maxRecoveryAttempts: z.number().int().min(0).max(20).default(3),
});

export const bindingSchema = z.strictObject({
  agentId: z.string().regex(/^[a-z0-9_][a-z0-9_-]{0,63}$/, 'agent ids are lowercase letters, digits, _ and -'),
  match: z.strictObject({
    channel: z.enum(['telegram', 'discord', 'slack', 'irc']),
    accountId: accountId.optional(),
    peer: z.strictObject({ kind: z.enum(['direct', 'group']), id: peerId }).optional(),
  }),
});

export type ChannelsConfig = z.infer<typeof channelsSchema>;
export type ChannelPlatform = keyof ChannelsConfig;
export type TelegramAccountConfig = z.infer<z.ZodObject<typeof telegramFields>>;
export type DiscordAccountConfig = z.infer<z.ZodObject<typeof discordFields>>;
export type SlackAccountConfig = z.infer<z.ZodObject<typeof slackFields>>;
export type IrcAccountConfig = z.infer<z.ZodObject<typeof ircFields>>;
export type Binding = z.infer<typeof bindingSchema>;
export type ChannelHealthSettings = z.infer<typeof channelHealthSchema>;
export const CHANNEL_PLATFORMS: readonly ChannelPlatform[] = ['telegram', 'discord', 'slack', 'irc'];
