import type { ChannelsConfig } from '../config/channel-schema.js';
import { CHANNEL_PLATFORMS } from '../config/channel-schema.js';

/** Who may talk to an account and when it answers, with every default filled in. */
export interface RoutingSettings {
  dmPolicy: 'pairing' | 'allowlist' | 'open' | 'disabled';
  allowFrom: string[];
  groupPolicy: 'allowlist' | 'open' | 'disabled';
  groups: string[];
  requireMention: boolean;
  mentionPatterns: RegExp[];
}

/** One configured account of one platform: its own settings merged over the platform block's. */
export interface ChannelAccount {
  /** A built-in platform, or a channel a plugin provides. */
  platform: string;
  accountId: string;
  /** `<platform>:<accountId>`: the outbox channel name and the key of the account everywhere. */
  key: string;
  enabled: boolean;
  /** The merged platform-specific settings (tokens, URLs, timings). */
  settings: Record<string, unknown>;
  routing: RoutingSettings;
  typingIntervalMs: number;
  reconnectDelayMs: number;
  reconnectMaxDelayMs: number;
  /** Stall timeout when set in config; otherwise the adapter's own default applies. */
  stallTimeoutMs: number | undefined;
  textChunkLimit: number | undefined;
  /** Changes whenever anything in the account's effective config changes (restart trigger). */
  fingerprint: string;
}

/** Where an account is configured, for messages: `channels.telegram` or `channels.telegram.accounts.work`. */
export function accountConfigPath(account: Pick<ChannelAccount, 'platform' | 'accountId'>): string {
  return `channels.${account.platform}${account.accountId === 'default' ? '' : `.accounts.${account.accountId}`}`;
}

/**
 * The configured accounts, in platform then account order. `credentials` (saved by
 * `hearth channels login`, keyed `<platform>:<accountId>`) fill in what the config leaves unset,
 * and an account that only has saved credentials runs with the platform block's settings.
 */
export function resolveChannelAccounts(channels: ChannelsConfig, credentials: Record<string, Record<string, string>> = {}): ChannelAccount[] {
  const accounts: ChannelAccount[] = [];
  const pluginPlatforms = Object.keys(channels)
    .filter((name) => !(CHANNEL_PLATFORMS as readonly string[]).includes(name))
    .sort();
  for (const platform of [...CHANNEL_PLATFORMS, ...pluginPlatforms]) {
    const block = (channels as Record<string, unknown>)[platform] as (Record<string, unknown> & { accounts?: Record<string, Record<string, unknown>> }) | undefined;
    const { accounts: named, ...shared } = block ?? {};
    const ids = named && Object.keys(named).length > 0 ? Object.keys(named) : block ? ['default'] : [];
    for (const key of Object.keys(credentials)) {
      const [owner, accountId] = key.split(':');
      if (owner === platform && accountId && !ids.includes(accountId)) ids.push(accountId);
    }
    for (const accountId of ids) {
      const own = named?.[accountId] ?? {};
      const settings: Record<string, unknown> = { ...credentials[`${platform}:${accountId}`], ...shared, ...own };
      accounts.push(toAccount(platform, accountId, settings));
    }
  }
  return accounts;
}

function toAccount(platform: string, accountId: string, settings: Record<string, unknown>): ChannelAccount {
  const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  const number = (value: unknown, fallback: number) => (typeof value === 'number' ? value : fallback);
  const routing: RoutingSettings = {
    dmPolicy: (settings.dmPolicy as RoutingSettings['dmPolicy'] | undefined) ?? 'pairing',
    allowFrom: list(settings.allowFrom),
    groupPolicy: (settings.groupPolicy as RoutingSettings['groupPolicy'] | undefined) ?? 'allowlist',
    groups: list(settings.groups),
    requireMention: settings.requireMention !== false,
    mentionPatterns: list(settings.mentionPatterns).map((pattern) => new RegExp(pattern, 'iu')),
  };
  return {
    platform,
    accountId,
    key: `${platform}:${accountId}`,
    enabled: settings.enabled !== false,
    settings,
    routing,
    typingIntervalMs: number(settings.typingIntervalMs, 4000),
    reconnectDelayMs: number(settings.reconnectDelayMs, 1000),
    reconnectMaxDelayMs: number(settings.reconnectMaxDelayMs, 60_000),
    stallTimeoutMs: typeof settings.stallTimeoutMs === 'number' ? settings.stallTimeoutMs : undefined,
    textChunkLimit: typeof settings.textChunkLimit === 'number' ? settings.textChunkLimit : undefined,
    fingerprint: JSON.stringify(settings),
  };
}
