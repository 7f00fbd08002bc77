import { routingKeys } from '../config/channel-schema.js';
import type { Channel, ChannelProbeResult, ChannelRunContext, SendReceipt } from '../contracts/channel.js';
import type { PluginChannelInfo } from '../plugins/plugin-host.js';
import type { PluginChannels } from '../plugins/plugins-subsystem.js';
import { accountConfigPath, type ChannelAccount } from './channel-accounts.js';
import type { PlatformSupport } from './channel-manager.js';
import { markdownToPlainText } from './markdown.js';

/** How long creating an account waits for its plugin to finish starting or restarting. */
const PLUGIN_START_WAIT_MS = 10_000;

/** A channel a plugin provides, with the reconnect timeout the plugin asked for. */
type PluginChannel = Channel & { readonly stallTimeoutMs: number };

const pluginOf = (account: ChannelAccount): string => (typeof account.settings.plugin === 'string' ? account.settings.plugin : '');

/** The account's settings as the plugin sees them: its own keys, without the gateway's routing keys. */
function pluginSettings(account: ChannelAccount): Record<string, unknown> {
  const routing = routingKeys();
  return Object.fromEntries(Object.entries(account.settings).filter(([key]) => !routing.includes(key)));
}

/**
 * The platform support for every channel a plugin provides (`channels.<platform>` with
 * `plugin: "<id>"`). Each account becomes a Channel whose calls cross to the plugin's worker; the
 * channel contract around it (routing, pairing, outbox, typing, health) is the gateway's, as for
 * the built-in platforms.
 */
export function pluginPlatforms(plugins: PluginChannels): PlatformSupport {
  return {
    async create(account) {
      const plugin = pluginOf(account);
      const info = await plugins.channel(plugin, account.platform, PLUGIN_START_WAIT_MS);
      if ('error' in info) throw new Error(info.error);
      return pluginChannel(plugins, plugin, account, info);
    },
    stallTimeoutMs: (_account, channel) => (channel as PluginChannel).stallTimeoutMs ?? 120_000,
    authHint: (account) =>
      `The ${account.platform} channel comes from the plugin "${pluginOf(account)}": if the plugin is quarantined or stopped, see hearth plugins list --health (reinstall or enable it, then restart); if the platform refused the credentials, fix them in ${accountConfigPath(account)} and save the config.`,
    missingConfig: (account) =>
      pluginOf(account) === '' ? `${accountConfigPath(account)}.plugin is not set: name the plugin that provides the "${account.platform}" channel (hearth plugins list)` : null,
  };
}

function pluginChannel(plugins: PluginChannels, plugin: string, account: ChannelAccount, info: PluginChannelInfo): PluginChannel {
  const target = { accountId: account.accountId, settings: pluginSettings(account) };
  const { platform } = account;
  const channel: PluginChannel = {
    platform,
    accountId: account.accountId,
    stallTimeoutMs: info.stallTimeoutMs,
    format: { maxMessageLength: info.maxMessageLength, render: info.markup === 'markdown' ? (text) => text : markdownToPlainText },
    run: (context: ChannelRunContext) =>
      plugins.runChannel(
        plugin,
        platform,
        target,
        {
          receive: (message) => context.receive(message),
          connected: (bot) => context.connected(bot),
          progress: () => context.progress(),
          reject: (reason, payload) => context.reject(reason, payload),
        },
        context.signal,
      ),
    send: async (message, signal) => (await plugins.callChannel(plugin, platform, 'send', target, message, signal)) as SendReceipt,
    async close() {
      // The plugin's worker belongs to the plugin host, which stops it.
    },
  };
  if (info.typing) channel.typing = async (to, signal) => void (await plugins.callChannel(plugin, platform, 'typing', target, to, signal));
  if (info.probe) channel.probe = async (signal) => (await plugins.callChannel(plugin, platform, 'probe', target, null, signal)) as ChannelProbeResult;
  return channel;
}
