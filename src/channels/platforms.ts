import type { Store } from '../contracts/store.js';
import { accountConfigPath, type ChannelAccount } from './channel-accounts.js';
import type { PlatformSupport } from './channel-manager.js';

/** What some adapters need from the gateway: where to keep a resume point, and a log for what they decide. */
export interface PlatformDeps {
  store: Pick<Store, 'readChannelCursor' | 'writeChannelCursor'>;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

/** WhatsApp accounts have no connection; the stall timeout bounds the phone number checks. */
const WHATSAPP_STALL_TIMEOUT_MS = 600_000;

const where = accountConfigPath;

const text = (account: ChannelAccount, key: string) => {
  const value = account.settings[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
};

/**
 * The platforms this build supports. Each adapter module (and its client library) is loaded only
 * when an account of that platform is configured, so a gateway without channels starts fast.
 */
export function builtinPlatforms(deps: PlatformDeps): Record<string, PlatformSupport> {
  return {
    telegram: {
      async create(account) {
        const { createTelegramChannel } = await import('./telegram/telegram-channel.js');
        const pollTimeoutSeconds = account.settings.pollTimeoutSeconds;
        const apiRoot = text(account, 'apiRoot');
        const webhookUrl = text(account, 'webhookUrl');
        const webhookSecret = text(account, 'webhookSecret');
        return createTelegramChannel({
          accountId: account.accountId,
          botToken: text(account, 'botToken') ?? '',
          ...(apiRoot ? { apiRoot } : {}),
          ...(typeof pollTimeoutSeconds === 'number' ? { pollTimeoutSeconds } : {}),
          ...(account.settings.mode === 'webhook' && webhookUrl && webhookSecret
            ? { webhook: { url: webhookUrl, secret: webhookSecret, checkIntervalMs: Math.min(30_000, Math.floor((account.stallTimeoutMs ?? 120_000) / 3)) } }
            : {}),
        });
      },
      stallTimeoutMs: (account) => {
        const poll = typeof account.settings.pollTimeoutSeconds === 'number' ? account.settings.pollTimeoutSeconds : 30;
        return (poll + 60) * 1000;
      },
      authHint: (account) =>
        `Telegram refused the bot token in ${where(account)}.botToken: copy the token from @BotFather (/token), set it, and save the config.`,
      missingConfig: (account) => {
        if (!text(account, 'botToken')) return `${where(account)}.botToken is not set (create a bot with @BotFather to get one)`;
        if (account.settings.mode === 'webhook' && !(text(account, 'webhookUrl') && text(account, 'webhookSecret'))) {
          return `${where(account)} uses mode "webhook" but webhookUrl or webhookSecret is not set`;
        }
        return null;
      },
    },
    discord: {
      async create(account) {
        const { createDiscordChannel } = await import('./discord/discord-channel.js');
        const apiRoot = text(account, 'apiRoot');
        return createDiscordChannel({ accountId: account.accountId, token: text(account, 'token') ?? '', ...(apiRoot ? { apiRoot } : {}) });
      },
      // discord.js resumes dropped connections itself; the heartbeat (about every 41 s) is the sign of life.
      stallTimeoutMs: () => 120_000,
      authHint: (account) =>
        `Discord refused the bot token in ${where(account)}.token, or the bot's Message Content Intent is off: in the Developer Portal (Applications → your bot → Bot) reset and copy the token and switch on "Message Content Intent", then save the config.`,
      missingConfig: (account) => (text(account, 'token') ? null : `${where(account)}.token is not set (create a bot in the Discord Developer Portal, Applications → New Application → Bot)`),
    },
    irc: {
      async create(account) {
        const { createIrcChannel } = await import('./irc/irc-channel.js');
        const s = account.settings;
        const port = typeof s.port === 'number' ? s.port : undefined;
        const floodDelayMs = typeof s.floodDelayMs === 'number' ? s.floodDelayMs : undefined;
        const sasl = s.sasl as { account?: unknown; password?: unknown } | undefined;
        const username = text(account, 'username');
        const realname = text(account, 'realname');
        const password = text(account, 'password');
        return createIrcChannel({
          accountId: account.accountId,
          host: text(account, 'host') ?? '',
          nick: text(account, 'nick') ?? '',
          ...(port === undefined ? {} : { port }),
          ...(s.tls === true ? { tls: true } : {}),
          ...(s.tlsInsecure === true ? { tlsInsecure: true } : {}),
          ...(username ? { username } : {}),
          ...(realname ? { realname } : {}),
          ...(password ? { password } : {}),
          ...(typeof sasl?.account === 'string' && typeof sasl.password === 'string' ? { sasl: { account: sasl.account, password: sasl.password } } : {}),
          ...(Array.isArray(s.channels) ? { channels: s.channels.map(String) } : {}),
          ...(floodDelayMs === undefined ? {} : { floodDelayMs }),
        });
      },
      // The adapter PINGs the server every 30 s; three missed answers mean the connection is dead.
      stallTimeoutMs: () => 90_000,
      authHint: (account) =>
        `The IRC server refused the login: check ${where(account)}.password (the server password, if the network needs one) and ${where(account)}.sasl (account and password registered with the network's services), and that the nick is allowed; for a server with a self-signed TLS certificate set ${where(account)}.tlsInsecure: true. Then save the config.`,
      missingConfig: (account) => {
        if (!text(account, 'host')) return `${where(account)}.host is not set (the IRC server, e.g. irc.libera.chat)`;
        if (!text(account, 'nick')) return `${where(account)}.nick is not set (the bot's nickname on IRC)`;
        return null;
      },
    },
    signal: {
      async create(account) {
        const { createSignalChannel } = await import('./signal/signal-channel.js');
        const rpcUrl = text(account, 'rpcUrl');
        return createSignalChannel({ accountId: account.accountId, account: text(account, 'account') ?? '', ...(rpcUrl ? { rpcUrl } : {}) });
      },
      // signal-cli sends a keep-alive on the events stream every 15 s; four missed ones mean it is dead.
      stallTimeoutMs: () => 60_000,
      authHint: (account) =>
        `The signal-cli daemon at ${text(account, 'rpcUrl') ?? 'http://127.0.0.1:8080'} does not serve the account in ${where(account)}.account: link or register it (signal-cli link -n Hearth, or signal-cli -a +NUMBER register and verify), start the daemon for it (signal-cli -a +NUMBER daemon --http 127.0.0.1:8080, or without -a to serve every account), and check that ${where(account)}.account is that number; then save the config.`,
      missingConfig: (account) =>
        text(account, 'account') ? null : `${where(account)}.account is not set (the Signal phone number signal-cli serves, e.g. +15551234567; hearth channels login --channel signal explains the set-up)`,
    },
    slack: {
      async create(account) {
        const { createSlackChannel } = await import('./slack/slack-channel.js');
        const apiRoot = text(account, 'apiRoot');
        const botToken = text(account, 'botToken') ?? '';
        if (account.settings.mode === 'http') {
          const signingSecret = text(account, 'signingSecret');
          return createSlackChannel({
            accountId: account.accountId,
            botToken,
            mode: 'http',
            ...(signingSecret ? { signingSecret } : {}),
            ...(apiRoot ? { apiRoot } : {}),
            // auth.test is the sign of life: check often enough that a slow answer still beats the stall timeout.
            checkIntervalMs: Math.min(30_000, Math.floor((account.stallTimeoutMs ?? 120_000) / 3)),
          });
        }
        return createSlackChannel({
          accountId: account.accountId,
          botToken,
          appToken: text(account, 'appToken') ?? '',
          ...(apiRoot ? { apiRoot } : {}),
        });
      },
      // Socket Mode: the client pings every ~1.7 s and drops a connection whose pongs stop for 5 s; a
      // pong is the sign of life, so this only catches a connection that never gets going.
      // HTTP mode: auth.test every 30 s (each may take up to 30 s) is the sign of life.
      stallTimeoutMs: (account) => (account.settings.mode === 'http' ? 120_000 : 60_000),
      authHint: (account) =>
        account.settings.mode === 'http'
          ? `Slack refused the bot token in ${where(account)}.botToken: it must be the Bot User OAuth Token (xoxb-…, OAuth & Permissions, with chat:write) of the app whose Event Subscriptions point at this gateway; set it and save the config.`
          : `Slack refused a token in ${where(account)}: botToken must be the Bot User OAuth Token (xoxb-…, OAuth & Permissions, with chat:write) and appToken an app-level token (xapp-…, Basic Information → App-Level Tokens, scope connections:write) of the same app with Socket Mode enabled; set them and save the config.`,
      missingConfig: (account) => {
        if (!text(account, 'botToken')) return `${where(account)}.botToken is not set (the Bot User OAuth Token, xoxb-…, from your Slack app's OAuth & Permissions page)`;
        if (account.settings.mode === 'http') {
          if (!text(account, 'signingSecret')) {
            return `${where(account)} uses mode "http" but signingSecret is not set (your Slack app's Signing Secret, Basic Information → App Credentials)`;
          }
          return null;
        }
        if (!text(account, 'appToken')) return `${where(account)}.appToken is not set (an app-level token, xapp-…, with connections:write; enable Socket Mode in your Slack app, or use mode "http" with signingSecret)`;
        return null;
      },
    },
    feishu: {
      async create(account) {
        const { createFeishuChannel } = await import('./feishu/feishu-channel.js');
        const apiRoot = text(account, 'apiRoot');
        const encryptKey = text(account, 'encryptKey');
        return createFeishuChannel({
          accountId: account.accountId,
          appId: text(account, 'appId') ?? '',
          appSecret: text(account, 'appSecret') ?? '',
          verificationToken: text(account, 'verificationToken') ?? '',
          ...(encryptKey ? { encryptKey } : {}),
          ...(apiRoot ? { apiRoot } : {}),
          // The bot-info check is the sign of life: often enough that a slow answer still beats the stall timeout.
          checkIntervalMs: Math.min(30_000, Math.floor((account.stallTimeoutMs ?? 120_000) / 3)),
        });
      },
      // Feishu pushes events over HTTP; there is no connection. A bot-info check every 30 s (each
      // may take up to 30 s) is the sign of life.
      stallTimeoutMs: () => 120_000,
      authHint: (account) =>
        `Feishu refused the app credentials in ${where(account)}: appId must be the App ID (cli_…) and appSecret the App Secret of the same app (open platform → your app → Credentials & Basic Info), the app needs the bot feature enabled and a published version, and apiRoot must be https://open.larksuite.com for a Lark (international) app. Set them and save the config.`,
      missingConfig: (account) => {
        if (!text(account, 'appId')) return `${where(account)}.appId is not set (the App ID, cli_…, from your app's Credentials & Basic Info page on the Feishu / Lark open platform)`;
        if (!text(account, 'appSecret')) return `${where(account)}.appSecret is not set (the App Secret from Credentials & Basic Info; or save it with hearth channels login --channel feishu)`;
        if (!text(account, 'verificationToken')) return `${where(account)}.verificationToken is not set (your app → Events & Callbacks → Encryption strategy → Verification Token)`;
        return null;
      },
    },
    whatsapp: {
      async create(account) {
        const { createWhatsAppChannel } = await import('./whatsapp/whatsapp-channel.js');
        const verifyToken = text(account, 'verifyToken');
        const businessAccountId = text(account, 'businessAccountId');
        const apiRoot = text(account, 'apiRoot');
        return createWhatsAppChannel({
          accountId: account.accountId,
          configPath: where(account),
          phoneNumberId: text(account, 'phoneNumberId') ?? '',
          accessToken: text(account, 'accessToken') ?? '',
          appSecret: text(account, 'appSecret') ?? '',
          ...(verifyToken ? { verifyToken } : {}),
          ...(businessAccountId ? { businessAccountId } : {}),
          ...(apiRoot ? { apiRoot } : {}),
          // Each check is one Graph API call; a third of the stall timeout keeps a slow answer inside it.
          checkIntervalMs: Math.floor((account.stallTimeoutMs ?? WHATSAPP_STALL_TIMEOUT_MS) / 3),
        });
      },
      // No connection to watch: messages arrive by webhook, and a phone number lookup every 200 s is the sign of life.
      stallTimeoutMs: () => WHATSAPP_STALL_TIMEOUT_MS,
      authHint: (account) =>
        `WhatsApp refused the access token in ${where(account)}.accessToken, or it has no access to phone number ${text(account, 'phoneNumberId') ?? '(not set)'}: in your Meta app (WhatsApp → API Setup) copy a current token — the temporary one expires after 24 hours; for production create a System User token with whatsapp_business_messaging and whatsapp_business_management in Business Settings — then save it with hearth channels login --channel whatsapp or in the config.`,
      missingConfig: (account) => {
        if (!text(account, 'phoneNumberId')) return `${where(account)}.phoneNumberId is not set (the Phone number ID under WhatsApp → API Setup in your Meta app)`;
        if (!text(account, 'accessToken')) return `${where(account)}.accessToken is not set (WhatsApp → API Setup in your Meta app, or a System User token; or use hearth channels login --channel whatsapp)`;
        if (!text(account, 'appSecret')) return `${where(account)}.appSecret is not set (App settings → Basic → App secret in your Meta app; it checks every webhook's signature)`;
        return null;
      },
    },
    matrix: {
      async create(account) {
        const { createMatrixChannel } = await import('./matrix/matrix-channel.js');
        const { store } = deps;
        return createMatrixChannel({
          accountId: account.accountId,
          homeserverUrl: text(account, 'homeserverUrl') ?? '',
          userId: text(account, 'userId') ?? '',
          accessToken: text(account, 'accessToken') ?? '',
          invites: account.routing,
          cursors: { read: (key) => store.readChannelCursor(key), write: (key, value) => store.writeChannelCursor(key, value, Date.now()) },
          logger: deps.logger,
        });
      },
      // A /sync is held up to 30 s; one that has not answered a minute after that is stuck.
      stallTimeoutMs: () => 90_000,
      authHint: (account) =>
        `The Matrix homeserver refused the access token in ${where(account)}.accessToken, or it belongs to another user than ${where(account)}.userId, or ${where(account)}.homeserverUrl is not the homeserver's client API: sign in to Element as the bot, copy Settings → Help & About → Access Token (or log in with POST /_matrix/client/v3/login), save it with hearth channels login --channel matrix, and check homeserverUrl and userId.`,
      missingConfig: (account) => {
        if (!text(account, 'homeserverUrl')) return `${where(account)}.homeserverUrl is not set (the homeserver's URL, e.g. https://matrix.example.org)`;
        if (!text(account, 'userId')) return `${where(account)}.userId is not set (the bot's Matrix user id, e.g. @hearth:example.org)`;
        if (!text(account, 'accessToken')) return `${where(account)}.accessToken is not set (run hearth channels login --channel matrix and paste the bot's access token)`;
        return null;
      },
    },
    email: emailPlatform(deps),
  };
}

/** An email account's IMAP or SMTP settings, with the password from the config or `hearth channels login`. */
function mailServer(account: ChannelAccount, role: 'imap' | 'smtp') {
  const block = (account.settings[role] ?? {}) as { host?: string; port?: number; secure?: boolean; user?: string; password?: string; tlsInsecure?: boolean };
  const saved = role === 'imap' ? text(account, 'imapPassword') : (text(account, 'smtpPassword') ?? text(account, 'imapPassword'));
  const secure = block.secure ?? (role === 'imap' ? true : block.port === undefined || block.port === 465);
  const port = block.port ?? (role === 'imap' ? 993 : secure ? 465 : 587);
  const imapPassword = (account.settings.imap as { password?: string } | undefined)?.password;
  const password = block.password ?? saved ?? (role === 'smtp' ? imapPassword : undefined) ?? '';
  return { host: block.host ?? '', port, secure, user: block.user ?? text(account, 'address') ?? '', password, ...(block.tlsInsecure ? { tlsInsecure: true } : {}) };
}

function emailPlatform(deps: PlatformDeps): PlatformSupport {
  return {
    async create(account) {
      const { createEmailChannel } = await import('./email/email-channel.js');
      const mailbox = text(account, 'mailbox');
      return createEmailChannel({ accountId: account.accountId, address: text(account, 'address') ?? '', imap: mailServer(account, 'imap'), smtp: mailServer(account, 'smtp'), ...(mailbox ? { mailbox } : {}), deps });
    },
    // A NOOP every minute while the mailbox is idle is the sign of life.
    stallTimeoutMs: () => 180_000,
    authHint: (account) =>
      `The mail server refused the login in ${where(account)}.imap (or .smtp): check user (default: the address) and password; with two-step sign-in (Gmail, Outlook, iCloud) it must be an app password, and IMAP must be turned on in the mailbox's settings. Save the password with hearth channels login --channel email, then save the config.`,
    missingConfig: (account) => {
      if (!text(account, 'address')) return `${where(account)}.address is not set (the bot's email address)`;
      const imap = mailServer(account, 'imap');
      const smtp = mailServer(account, 'smtp');
      if (!imap.host) return `${where(account)}.imap.host is not set (your provider's IMAP server, e.g. imap.gmail.com)`;
      if (!smtp.host) return `${where(account)}.smtp.host is not set (your provider's SMTP server, e.g. smtp.gmail.com)`;
      if (!imap.password) return `${where(account)}.imap.password is not set (run hearth channels login --channel email)`;
      return null;
    },
  };
}
