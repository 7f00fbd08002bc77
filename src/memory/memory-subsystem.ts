import { join } from 'node:path';
import type { HearthConfig } from '../config/schema.js';
import type { Tool } from '../contracts/tool.js';
import type { Models } from '../providers/models-subsystem.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import { createMemoryService, type MemoryService } from './memory-service.js';
import { createMemoryTools } from './memory-tools.js';

export interface Memory {
  service: MemoryService;
  /** memory_search, memory_get and memory_write, for the agents' tool registry. */
  tools: Tool[];
}

/**
 * Each agent's memory (docs/memory.md). Starting it opens nothing: an agent's index is opened,
 * and its files read, the first time the agent or the CLI searches, reads or writes memory.
 */
export const memorySubsystem = defineSubsystem({
  name: 'memory',
  start({ paths, config, logger, models }: Pick<GatewayBase, 'paths' | 'config' | 'logger'> & { models: Pick<Models, 'agents'> }) {
    const service = createMemoryService({
      directory: join(paths.stateDir, 'memory'),
      agent: (agentId) => models.agents().get(agentId),
      providers: () => config.current().models.providers,
      secrets: () => configuredSecrets(config.current()),
      logger,
    });
    return {
      api: { service, tools: createMemoryTools(service.port) } satisfies Memory,
      stop: () => service.stop(),
    };
  },
});

/** Provider keys and header values, and every channel setting named like a credential. */
function configuredSecrets(config: HearthConfig): string[] {
  const found: string[] = [];
  for (const provider of Object.values(config.models.providers)) {
    if (provider.apiKey) found.push(provider.apiKey);
    for (const value of Object.values(provider.headers ?? {})) found.push(value);
  }
  const collect = (value: unknown, key: string) => {
    if (typeof value === 'string' && /token|secret|password|key/iu.test(key)) found.push(value);
    else if (value && typeof value === 'object') for (const [name, item] of Object.entries(value)) collect(item, name);
  };
  collect(config.channels, '');
  return found.filter((value) => value.length >= 8);
}
