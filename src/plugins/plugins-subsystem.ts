import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { HearthConfig } from '../config/schema.js';
import { PLUGIN_TOOL_PREFIX } from '../contracts/tool-groups.js';
import type { Tool } from '../contracts/tool.js';
import { ChannelError } from '../contracts/channel.js';
import type { ComponentHealth } from '../gateway/gateway-context.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import type { PluginHost, PluginStatus } from './plugin-host.js';

/** The channels plugins provide, as the channel manager reaches them (see PluginHost). */
export type PluginChannels = Pick<PluginHost, 'channel' | 'runChannel' | 'callChannel'>;

export interface Plugins {
  /** Whether the plugin host runs (a plugin was found at start); without it, nothing needs the hooks. */
  loaded: boolean;
  /** The running plugins' tools as agent tools, `plugin__<id>__<tool>` (a tool source of the registry). */
  tools(): readonly Tool[];
  status(): PluginStatus[];
  toolHooks: {
    before(payload: { tool: string; args: unknown; agentId: string; sessionKey: string; runId: string }): Promise<{ refuse: string; plugin: string } | null>;
    after(payload: { tool: string; args: unknown; agentId: string; sessionKey: string; runId: string; result: { content: string; isError: boolean } }): Promise<void>;
  };
  messageReceived(payload: { channel: string; sessionKey: string; text: string }): Promise<void>;
  messageSending(payload: { channel: string; sessionKey: string; text: string }): Promise<string>;
  /** A plugin's HTTP route, served by the gateway at `/plugins/<id>/<path>`. */
  handleRoute: PluginHost['handleRoute'];
  channels: PluginChannels;
}

/** The worker every plugin runs in; from the bundle (dist/bundle/cli/) and from dist/src/plugins/ alike. */
const WORKER_URL = new URL('../../../dist/src/plugins/plugin-worker.js', import.meta.url);

/** Whether any plugin is there to load: no plugin, no worker code loaded at all. */
async function anyPlugin(root: string, config: HearthConfig): Promise<boolean> {
  if (config.plugins.load.paths.length > 0) return true;
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries.some((entry) => entry.isDirectory() && !entry.name.startsWith('.'));
}

const toolName = (plugin: string, name: string) => `${PLUGIN_TOOL_PREFIX}${plugin}__${name}`;

function agentTools(host: PluginHost): Tool[] {
  return host.tools().map((tool) => ({
    spec: { name: toolName(tool.plugin, tool.name), description: `${tool.description} (from the plugin "${tool.plugin}")`, parameters: tool.parameters },
    sideEffects: true,
    execute: (args, context) => host.callTool(tool.plugin, tool.name, args, { agentId: context.agentId, sessionKey: context.sessionKey, runId: context.runId }, context.signal),
  }));
}

const idle: Plugins = {
  loaded: false,
  tools: () => [],
  status: () => [],
  toolHooks: { before: async () => null, after: async () => undefined },
  messageReceived: async () => undefined,
  messageSending: async ({ text }) => text,
  handleRoute: async (plugin) => ({ status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `No plugin "${plugin}" is running.` }),
  channels: {
    channel: async (plugin) => ({ error: notInstalled(plugin), final: true }),
    runChannel: async (plugin) => {
      throw new ChannelError('auth', notInstalled(plugin));
    },
    callChannel: async (plugin) => {
      throw new ChannelError('auth', notInstalled(plugin));
    },
  },
};

function notInstalled(plugin: string): string {
  return `No plugin "${plugin}" is installed (no plugins are): install it under $HEARTH_HOME/plugins/ or list its folder in plugins.load.paths, then restart.`;
}

/**
 * Code plugins (docs/plugins.md): each in its own worker thread, reached only through the host's
 * messages; a plugin that fails to load, crashes past its restarts or stops answering is
 * quarantined, and the gateway carries on. Plugins are read at start; `hearth plugins list
 * --health` shows them.
 */
export const pluginsSubsystem = defineSubsystem({
  name: 'plugins',
  async start({ config, logger, paths }: Pick<GatewayBase, 'config' | 'logger' | 'paths'>) {
    const root = join(paths.home, 'plugins');
    const current = config.current();
    if (!(await anyPlugin(root, current))) return { api: idle, health: () => ({ status: 'ok' as const, detail: 'no plugins installed' }) };
    const { createPluginHost } = await import('./plugin-host.js');
    const host = createPluginHost({
      roots: [root],
      pluginDirs: current.plugins.load.paths,
      quarantineDir: join(root, '.quarantine'),
      settings: (id) => config.current().plugins.entries[id]?.config ?? {},
      enabled: (id) => config.current().plugins.entries[id]?.enabled !== false,
      logger,
      workerUrl: WORKER_URL,
    });
    let tools: Tool[] = [];
    const unsubscribe = host.onChange(() => {
      tools = agentTools(host);
    });
    await host.start();
    tools = agentTools(host);
    const api: Plugins = {
      loaded: true,
      tools: () => tools,
      status: () => host.status(),
      toolHooks: { before: (payload) => host.beforeToolCall(payload), after: (payload) => host.afterToolCall(payload) },
      messageReceived: (payload) => host.messageReceived(payload),
      messageSending: (payload) => host.messageSending(payload),
      handleRoute: (plugin, method, path, request, signal) => host.handleRoute(plugin, method, path, request, signal),
      channels: {
        channel: (plugin, platform, waitMs) => host.channel(plugin, platform, waitMs),
        runChannel: (plugin, platform, account, handlers, signal) => host.runChannel(plugin, platform, account, handlers, signal),
        callChannel: (plugin, platform, op, account, args, signal) => host.callChannel(plugin, platform, op, account, args, signal),
      },
    };
    return {
      api,
      health: () => pluginsComponent(host.status()),
      async stop() {
        unsubscribe();
        await host.stop();
      },
    };
  },
});

/** Degraded while a plugin is quarantined or restarting (the gateway works without it). */
export function pluginsComponent(plugins: readonly PluginStatus[]): ComponentHealth {
  const unwell = plugins.filter((plugin) => plugin.state === 'quarantined' || plugin.state === 'restarting');
  if (unwell.length === 0) return { status: 'ok', detail: plugins.length === 0 ? 'no plugins installed' : `${plugins.length} running` };
  return { status: 'degraded', detail: unwell.map((plugin) => `${plugin.id} ${plugin.state}${plugin.lastError ? `: ${plugin.lastError}` : ''}`).join('; ') };
}
