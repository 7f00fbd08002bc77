import type { ChannelPlatform, ChannelsConfig } from '../config/channel-schema.js';
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
  platform: ChannelPlatform;
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

/** The configured accounts, in platform then account order. */
export function resolveChannelAccounts(channels: ChannelsConfig): ChannelAccount[] {
  const accounts: ChannelAccount[] = [];
  for (const platform of CHANNEL_PLATFORMS) {
    const block = channels[platform] as (Record<string, unknown> & { accounts?: Record<string, Record<string, unknown>> }) | undefined;
    if (!block) continue;
    const { accounts: named, ...shared } = block;
    const entries = named && Object.keys(named).length > 0 ? Object.entries(named) : [['default', {}] as const];
    for (const [accountId, own] of entries) {
      const settings: Record<string, unknown> = { ...shared, ...own };
      accounts.push(toAccount(platform, accountId, settings));
    }
  }
  return accounts;
}

function toAccount(platform: ChannelPlatform, accountId: string, settings: Record<string, unknown>): ChannelAccount {
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
