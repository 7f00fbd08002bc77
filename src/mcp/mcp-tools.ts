import type { Tool } from '../contracts/tool.js';
import type { McpConnection } from './mcp-types.js';

/** The name an MCP server's tool is offered under: `<server>__<tool>` (group:mcp). */
export const mcpToolName = (server: string, tool: string) => `${server}__${tool}`;

/**
 * The tools of one server as agent tools. Their results come from outside the owner's hands, so
 * a call marks the run untrusted (memory it writes is then marked so), as web_fetch does.
 */
export function mcpTools(connection: McpConnection): Tool[] {
  return connection.tools().map((info) => ({
    spec: {
      name: mcpToolName(connection.name, info.name),
      description: `${info.description || info.name} (from the MCP server "${connection.name}")`,
      parameters: info.inputSchema,
    },
    // What an MCP tool changes is unknown here: it is treated as acting on the world.
    sideEffects: true,
    async execute(args, context) {
      const input = args !== null && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : {};
      const result = await connection.call(info.name, input, context.signal);
      context.trust?.markUntrusted(`a result of the MCP server "${connection.name}"`);
      return { content: result.content, isError: result.isError, details: { mcpServer: connection.name, health: connection.health().state } };
    },
  }));
}
