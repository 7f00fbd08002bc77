import type { HearthConfig, McpServerConfig } from '../config/schema.js';
import type { Tool } from '../contracts/tool.js';
import type { ComponentHealth } from '../gateway/gateway-context.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import type { McpConnection, McpServerHealth } from './mcp-types.js';
import { mcpTools } from './mcp-tools.js';

export interface McpServerStatus extends McpServerHealth {
  name: string;
  transport: 'stdio' | 'http';
}

export interface Mcp {
  /** Every connected server's tools as agent tools, as they are now (a tool source of the registry). */
  tools(): readonly Tool[];
  servers(): McpServerStatus[];
}

type ConfiguredServers = Record<string, McpServerConfig>;

const enabledServers = (config: HearthConfig): ConfiguredServers =>
  Object.fromEntries(Object.entries(config.mcp.servers).filter(([, server]) => server.enabled !== false));

/**
 * MCP servers (docs/tools.md, "MCP servers"): one supervised connection each, restarted with backoff
 * when it crashes or hangs. Their tools join the agents' registry as `<server>__<tool>`. A config
 * reload starts added servers, stops removed ones and restarts changed ones. With no server
 * configured, the MCP client library is never loaded.
 */
export const mcpSubsystem = defineSubsystem({
  name: 'mcp',
  async start({ config, logger, paths }: Pick<GatewayBase, 'config' | 'logger' | 'paths'>) {
    const connections = new Map<string, { connection: McpConnection; settings: string }>();
    let cachedTools: Tool[] = [];
    const rebuild = () => {
      cachedTools = [...connections.values()].flatMap(({ connection }) => mcpTools(connection));
    };
    const apply = async (servers: ConfiguredServers) => {
      for (const [name, entry] of [...connections]) {
        if (servers[name] && JSON.stringify(servers[name]) === entry.settings) continue;
        connections.delete(name);
        await entry.connection.stop();
      }
      const added = Object.entries(servers).filter(([name]) => !connections.has(name));
      if (added.length === 0) return rebuild();
      const { createMcpConnection } = await import('./mcp-connection.js');
      for (const [name, server] of added) {
        const connection = createMcpConnection(name, { cwd: paths.home, ...server }, { logger });
        connection.onChange(rebuild);
        connections.set(name, { connection, settings: JSON.stringify(server) });
        connection.start();
      }
      rebuild();
    };
    await apply(enabledServers(config.current()));
    const unsubscribe = config.onReload(() => {
      apply(enabledServers(config.current())).catch((error: unknown) => logger.error({ err: error }, 'applying the MCP servers of the new config failed'));
    });
    const servers = (): McpServerStatus[] =>
      [...connections.values()].map(({ connection }) => ({
        name: connection.name,
        transport: config.current().mcp.servers[connection.name]?.url ? 'http' : 'stdio',
        ...connection.health(),
      }));
    const api: Mcp = { tools: () => cachedTools, servers };
    return {
      api,
      health: () => mcpComponent(servers()),
      async stop() {
        unsubscribe();
        await Promise.all([...connections.values()].map(({ connection }) => connection.stop()));
        connections.clear();
        cachedTools = [];
      },
    };
  },
});

/** Degraded while any server is not ready (its tools answer with the reason meanwhile); never down: the rest of the gateway works. */
export function mcpComponent(servers: readonly McpServerStatus[]): ComponentHealth {
  if (servers.length === 0) return { status: 'ok', detail: 'no MCP servers configured' };
  const unwell = servers.filter((server) => server.state !== 'ready');
  if (unwell.length === 0) return { status: 'ok', detail: servers.map((server) => `${server.name}: ${server.tools} tools`).join('; ') };
  const describe = (server: McpServerStatus) => `${server.name} ${server.state}${server.lastError ? ` (${server.lastError.split('\n')[0]})` : ''}`;
  return { status: 'degraded', detail: `${unwell.map(describe).join('; ')}; its tools answer with an error until it is back` };
}
