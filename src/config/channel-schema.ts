import { builtOnce } from './lazy-schema.js';
import { z } from 'zod';
import { BUILTIN_PLATFORMS, PLUGIN_PLATFORM_PATTERN, RESERVED_PLATFORMS } from '../contracts/channel.js';
import { closestMatch } from './suggest.js';

/**
 * `channels.<platform>` config. A platform block is one account (`default`) or, with `accounts`,
 * several: each account takes the platform block's fields as defaults and overrides what it sets.
 */

const peerId = builtOnce(() => z.union([z.string().min(1), z.number().int()]).transform((value) => String(value)));

const regexString = builtOnce(() => z.string().refine(
  (value) => {
    try {
      new RegExp(value, 'iu');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
));

/** Who may talk to the bot and when it answers; shared by every platform. */
const routingFields = builtOnce(() => ({
  enabled: z.boolean().optional().describe('false turns the account off without removing its settings.'),
  dmPolicy: z.enum(['pairing', 'allowlist', 'open', 'disabled']).optional().describe('Direct messages: pairing (unknown senders get a code to approve), allowlist, open (needs "*" in allowFrom), disabled.'),
  allowFrom: z.array(peerId()).optional().describe('Sender ids (or usernames) allowed to talk to the bot; "*" allows everyone.'),
  groupPolicy: z.enum(['allowlist', 'open', 'disabled']).optional().describe('Group chats: allowlist (only groups), open (any group), disabled.'),
  groups: z.array(peerId()).optional().describe('Group, channel or room ids the bot answers in under the allowlist group policy; "*" allows all.'),
  requireMention: z.boolean().optional().describe('In groups, answer only when mentioned or replied to.'),
  mentionPatterns: z.array(regexString()).optional().describe('Extra patterns (case-insensitive regular expressions) that count as mentioning the bot.'),
  textChunkLimit: z.number().int().min(64).max(100_000).optional().describe('Longest text per platform message; longer replies are split (never inside a code block).'),
  typingIntervalMs: z.number().int().min(50).max(60_000).optional().describe('How often the typing indicator is renewed while a reply is being written.'),
  stallTimeoutMs: z.number().int().min(100).max(3_600_000).optional().describe('Reconnect when the connection shows no sign of life for this long.'),
  reconnectDelayMs: z.number().int().min(10).max(600_000).optional().describe('The first reconnect delay (jittered, doubling per failure).'),
  reconnectMaxDelayMs: z.number().int().min(10).max(3_600_000).optional().describe('The longest reconnect delay.'),
}));

const telegramFields = builtOnce(() => ({
  ...routingFields(),
  botToken: z.string().min(1).optional().describe('The bot token from @BotFather (or save it with hearth channels login).'),
  apiRoot: z.url().optional().describe('Bot API base URL (default https://api.telegram.org), e.g. a local Bot API server.'),
  pollTimeoutSeconds: z.number().int().min(0).max(50).optional().describe('Long-poll timeout in seconds (default 30).'),
  mode: z.enum(['polling', 'webhook']).optional().describe('polling (default) or webhook: Telegram pushes updates to webhookUrl.'),
  webhookUrl: z.url().optional().describe('The public HTTPS URL that reaches this gateway\'s /channels/telegram/<accountId>/webhook (through your reverse proxy).'),
  webhookSecret: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'use 1 to 256 letters, digits, _ or -').optional().describe('Secret Telegram sends with every push (1–256 of A-Z a-z 0-9 _ -).'),
}));

const discordFields = builtOnce(() => ({
  ...routingFields(),
  token: z.string().min(1).optional().describe('The bot token from the Discord developer portal (or save it with hearth channels login).'),
  apiRoot: z.url().optional().describe('REST API base URL (default https://discord.com/api); the gateway URL is discovered from it.'),
}));

const slackFields = builtOnce(() => ({
  ...routingFields(),
  botToken: z.string().min(1).optional().describe('The bot token (xoxb-…) (or save it with hearth channels login).'),
  appToken: z.string().min(1).optional().describe('App-level token (xapp-…) for Socket Mode.'),
  mode: z.enum(['socket', 'http']).optional().describe('socket (Socket Mode, default) or http (Slack posts events to this gateway).'),
  signingSecret: z.string().min(1).optional().describe('The app\'s signing secret, which checks the events Slack posts in http mode.'),
  apiRoot: z.url().optional().describe('Web API base URL (default https://slack.com/api/).'),
}));

const ircFields = builtOnce(() => ({
  ...routingFields(),
  host: z.string().min(1).optional().describe('The IRC server\'s host name.'),
  port: z.number().int().min(1).max(65535).optional().describe('The server\'s port (default 6697 with TLS, 6667 without).'),
  tls: z.boolean().optional().describe('Connect with TLS.'),
  tlsInsecure: z.boolean().optional().describe('Accept a server certificate that does not verify (self-signed servers).'),
  nick: z.string().min(1).max(30).optional().describe('The bot\'s nickname.'),
  username: z.string().min(1).optional().describe('The user name sent at registration (default: the nick).'),
  realname: z.string().optional().describe('The real name sent at registration.'),
  password: z.string().optional().describe('The server password (PASS).'),
  sasl: z.strictObject({ account: z.string().min(1).describe('The SASL account name.'), password: z.string().min(1).describe('The SASL password.') }).optional().describe('Log in with SASL PLAIN.'),
  channels: z.array(z.string().regex(/^[#&+!][^\s,]+$/, 'IRC channel names start with # (or &, +, !)')).optional().describe('Channels to join, e.g. ["#hearth"].'),
  floodDelayMs: z.number().int().min(0).max(10_000).optional().describe('Smallest gap between two lines sent, to stay under the server\'s flood limit.'),
}));

const signalFields = builtOnce(() => ({
  ...routingFields(),
  account: z
    .string()
    .regex(/^(\+\d{5,16}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/, 'the account\'s phone number in international format (+…), or its ACI (a UUID)')
    .optional()
    .describe('The Signal account signal-cli serves: its phone number with country code (e.g. +15551234567), or its ACI for an account without one.'),
  rpcUrl: z.url().optional().describe('The address of signal-cli\'s HTTP daemon (signal-cli daemon --http 127.0.0.1:8080); default http://127.0.0.1:8080.'),
}));

const feishuFields = builtOnce(() => ({
  ...routingFields(),
  appId: z.string().min(1).optional().describe('The app\'s App ID (cli_…), from the Feishu / Lark open platform: your app → Credentials & Basic Info.'),
  appSecret: z.string().min(1).optional().describe('The app\'s App Secret (same page as the App ID) (or save it with hearth channels login).'),
  verificationToken: z.string().min(1).optional().describe('The Verification Token (Events & Callbacks → Encryption strategy); every event Feishu pushes carries it.'),
  encryptKey: z.string().min(1).optional().describe('The Encrypt Key (Events & Callbacks → Encryption strategy): when set, pushes are encrypted and signed, and unsigned events are refused.'),
  apiRoot: z.url().optional().describe('Open platform base URL: https://open.feishu.cn (default) or https://open.larksuite.com for Lark.'),
}));

const whatsappFields = builtOnce(() => ({
  ...routingFields(),
  phoneNumberId: z.string().regex(/^\d{1,32}$/, 'the Phone number ID is digits (WhatsApp → API Setup in your Meta app)').optional().describe('The business phone number\'s Phone number ID (Meta app → WhatsApp → API Setup), not the phone number itself.'),
  accessToken: z.string().min(1).optional().describe('A Graph API access token with whatsapp_business_messaging (a System User token for production) (or save it with hearth channels login).'),
  appSecret: z.string().min(1).optional().describe('The Meta app\'s App secret (App settings → Basic), which checks the X-Hub-Signature-256 of every webhook (or save it with hearth channels login).'),
  verifyToken: z.string().min(1).optional().describe('A string you choose and also enter as the Verify token in the app\'s WhatsApp → Configuration → Webhook, so Meta can verify the callback URL.'),
  businessAccountId: z.string().regex(/^\d{1,32}$/, 'the WhatsApp Business Account ID is digits').optional().describe('The WhatsApp Business Account ID (API Setup); lets the health check confirm the app is subscribed to its webhooks (otherwise learned from the first webhook).'),
  apiRoot: z.url().optional().describe('Graph API base URL (default https://graph.facebook.com); the API version (v25.0) is added unless the URL ends in one, e.g. https://graph.facebook.com/v26.0.'),
}));

const matrixFields = builtOnce(() => ({
  ...routingFields(),
  homeserverUrl: z.url().optional().describe('The homeserver\'s client API base URL, e.g. https://matrix.example.org (what Element shows as the homeserver; no /_matrix path).'),
  userId: z
    .string()
    .regex(/^@[^:\s]+:\S+$/u, 'a full Matrix user id, e.g. @hearth:example.org')
    .optional()
    .describe('The bot\'s full Matrix user id, e.g. @hearth:example.org; the access token must belong to it.'),
  accessToken: z.string().min(1).optional().describe('The bot account\'s access token (or save it with hearth channels login).'),
}));

const mailServer = (role: 'IMAP' | 'SMTP', port: string) =>
  z.strictObject({
    host: z.string().min(1).describe(`The ${role} server's host name, e.g. ${role === 'IMAP' ? 'imap.gmail.com' : 'smtp.gmail.com'}.`),
    port: z.number().int().min(1).max(65535).optional().describe(`The ${role} port (default ${port}).`),
    secure: z.boolean().optional().describe(role === 'IMAP' ? 'TLS from the start (default true; false uses STARTTLS when the server offers it).' : 'TLS from the start, as on port 465 (default: true on 465, else STARTTLS).'),
    user: z.string().min(1).optional().describe('The login (default: the address).'),
    password: z.string().min(1).optional().describe(`The ${role} password or app password (or save it with hearth channels login --channel email).`),
    tlsInsecure: z.boolean().optional().describe('Accept a certificate that does not verify (a self-signed server of your own).'),
  });

const emailFields = builtOnce(() => ({
  ...routingFields(),
  address: z.email().optional().describe('The bot\'s email address: the From of its replies; mail from it is never answered.'),
  imap: mailServer('IMAP', '993').optional().describe('Where mail is read (IMAP with IDLE).'),
  smtp: mailServer('SMTP', '465 when secure, else 587').optional().describe('Where replies are sent (SMTP).'),
  mailbox: z.string().min(1).optional().describe('The folder read for new mail (default INBOX).'),
}));

const accountId = builtOnce(() => z.string().regex(/^[a-z0-9_][a-z0-9_-]{0,63}$/, 'account ids are lowercase letters, digits, _ and -'));

const platform = <T extends z.ZodRawShape>(fields: T) =>
  z.strictObject({
    ...fields,
    accounts: z
      .record(accountId(), z.strictObject(fields))
      .optional()
      .describe('Several accounts by id; each inherits this block\'s settings and overrides what it sets.')
      .meta({ keyName: 'accountId' }),
  });

/** The keys every account has whatever its platform; the rest of a plugin channel's settings go to the plugin. */
export function routingKeys(): readonly string[] {
  return [...Object.keys(routingFields()), 'plugin', 'accounts'];
}

const pluginId = builtOnce(() => z.string().regex(/^[a-z0-9][a-z0-9-]{0,23}$/, 'plugin ids are 1 to 24 lowercase letters, digits or "-"'));

/**
 * `channels.<platform>` for a platform a plugin provides: the routing fields, `plugin` (required,
 * which also catches a misspelt built-in platform) and the plugin's own settings, passed to it.
 */
const pluginPlatform = builtOnce(() => z.looseObject({
  ...routingFields(),
  plugin: pluginId().optional().describe('The plugin that provides this channel (its id, as hearth plugins list shows it).'),
  accounts: z
    .record(accountId(), z.looseObject({ ...routingFields() }))
    .optional()
    .describe('Several accounts by id; each inherits this block\'s settings and overrides what it sets.')
    .meta({ keyName: 'accountId' }),
}));

type PluginPlatformBlock = { plugin?: unknown; accounts?: Record<string, { plugin?: unknown }> } | undefined;

/** Whether the block, or else each of its accounts, names the plugin that provides the channel. */
function namesPlugin(block: PluginPlatformBlock): boolean {
  if (typeof block?.plugin === 'string') return true;
  const accounts = Object.values(block?.accounts ?? {});
  return accounts.length > 0 && accounts.every((account) => typeof account.plugin === 'string');
}

export const channelsSchema = builtOnce(() => z
  .strictObject({
    telegram: platform(telegramFields()).optional().describe('Telegram bot accounts.'),
    discord: platform(discordFields()).optional().describe('Discord bot accounts.'),
    slack: platform(slackFields()).optional().describe('Slack app accounts.'),
    irc: platform(ircFields()).optional().describe('IRC accounts.'),
    signal: platform(signalFields()).optional().describe('Signal accounts, through signal-cli\'s JSON-RPC daemon.'),
    feishu: platform(feishuFields()).optional().describe('Feishu / Lark app (bot) accounts; events arrive at /channels/feishu/<accountId>/webhook.'),
    whatsapp: platform(whatsappFields()).optional().describe('WhatsApp Business Cloud API phone numbers.'),
    matrix: platform(matrixFields()).optional().describe('Matrix accounts (unencrypted rooms and direct chats).'),
    email: platform(emailFields()).optional().describe('Email accounts: IMAP to read, SMTP to reply; each correspondent is a direct chat.'),
  })
  .catchall(pluginPlatform())
  .superRefine((channels, context) => {
    for (const [name, block] of Object.entries(channels)) {
      if ((BUILTIN_PLATFORMS as readonly string[]).includes(name)) continue;
      const builtins = BUILTIN_PLATFORMS.join(', ');
      if (!PLUGIN_PLATFORM_PATTERN.test(name) || RESERVED_PLATFORMS.includes(name)) {
        context.addIssue({ code: 'custom', path: [name], message: `"${name}" is not a channel: the built-in ones are ${builtins}, and a plugin's channel is named by 1 to 24 lowercase letters, digits or "-"` });
      } else if (!namesPlugin(block as PluginPlatformBlock)) {
        const near = closestMatch(name, BUILTIN_PLATFORMS);
        const guess = near === undefined ? '' : `did you mean "${near}"? `;
        context.addIssue({ code: 'custom', path: [name], message: `"${name}" is not a built-in channel (${builtins}): ${guess}If a plugin provides it, name the plugin with "plugin": "<plugin id>"` });
      }
    }
  }));

/**
 * `channelHealth`: how every channel account is checked (connection, credentials, messages
 * arriving) and how often a degraded account is reconnected before the operator is alerted.
 */
export const channelHealthSchema = builtOnce(() => z.strictObject({
  intervalMs: z.number().int().min(100).max(3_600_000).default(60_000).describe('How often every account is checked.'),
  functionalWindowMs: z.number().int().min(0).max(7 * 86_400_000).default(30 * 60_000).describe('An account that handled a message this recently works; otherwise its probe decides.'),
  probeTimeoutMs: z.number().int().min(100).max(120_000).default(10_000).describe('Longest a probe may take before it counts as failed.'),
  maxRecoveryAttempts: z.number().int().min(0).max(20).default(3).describe('Reconnects (one per check) of a degraded account before the operator is alerted; 0 alerts at once.'),
}));

export const bindingSchema = builtOnce(() => z.strictObject({
  agentId: z.string().regex(/^[a-z0-9_][a-z0-9_-]{0,63}$/, 'agent ids are lowercase letters, digits, _ and -').describe('The agent that answers the matching messages.'),
  match: z.strictObject({
    channel: z.string().regex(PLUGIN_PLATFORM_PATTERN, 'a channel name: telegram, discord, slack, irc, signal, feishu, whatsapp, matrix, email or a plugin\'s channel').describe('The platform (a built-in one, or a plugin\'s channel).'),
    accountId: accountId().optional().describe('Only this account of the platform.'),
    peer: z.strictObject({ kind: z.enum(['direct', 'group']).describe('A person (direct) or a group chat.'), id: peerId().describe('Their user or chat id on the platform.') }).optional().describe('Only this person or chat.'),
  }).describe('Which messages the binding takes.'),
}));

export type ChannelsConfig = z.infer<ReturnType<typeof channelsSchema>>;
/** A built-in platform. */
export type ChannelPlatform = (typeof BUILTIN_PLATFORMS)[number];
export type TelegramAccountConfig = z.infer<z.ZodObject<ReturnType<typeof telegramFields>>>;
export type DiscordAccountConfig = z.infer<z.ZodObject<ReturnType<typeof discordFields>>>;
export type SlackAccountConfig = z.infer<z.ZodObject<ReturnType<typeof slackFields>>>;
export type IrcAccountConfig = z.infer<z.ZodObject<ReturnType<typeof ircFields>>>;
export type SignalAccountConfig = z.infer<z.ZodObject<ReturnType<typeof signalFields>>>;
export type FeishuAccountConfig = z.infer<z.ZodObject<ReturnType<typeof feishuFields>>>;
export type EmailAccountConfig = z.infer<z.ZodObject<ReturnType<typeof emailFields>>>;
export type WhatsAppAccountConfig = z.infer<z.ZodObject<ReturnType<typeof whatsappFields>>>;
export type MatrixAccountConfig = z.infer<z.ZodObject<ReturnType<typeof matrixFields>>>;
export type Binding = z.infer<ReturnType<typeof bindingSchema>>;
export type ChannelHealthSettings = z.infer<ReturnType<typeof channelHealthSchema>>;
export const CHANNEL_PLATFORMS: readonly ChannelPlatform[] = BUILTIN_PLATFORMS;
