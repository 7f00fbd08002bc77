import { join } from 'node:path';
import type { HearthConfig } from '../config/schema.js';
import type { Store } from '../contracts/store.js';
import type { Tool } from '../contracts/tool.js';
import type { ComponentHealth } from '../gateway/gateway-context.js';
import type { GatewayMetrics } from '../observability/metrics-subsystem.js';
import type { Models } from '../providers/models-subsystem.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import { createMemoryHealthCheck, type MemoryAgentHealth, type MemoryHealthCheck } from './memory-health.js';
import { createMemoryService, type MemoryService } from './memory-service.js';
import { createMemoryTools } from './memory-tools.js';

export interface Memory {
  service: MemoryService;
  /** memory_search, memory_get and memory_write, for the agents' tool registry. */
  tools: Tool[];
  /** The periodic memory health check and its report (hearth status, memory status, /readyz). */
  healthCheck: MemoryHealthCheck;
}

/**
 * Each agent's memory (docs/memory.md). Starting it opens nothing: an agent's index is opened,
 * and its files read, the first time the agent or the CLI searches, reads or writes memory.
 */
export const memorySubsystem = defineSubsystem({
  name: 'memory',
  start({ paths, config, logger, models, metrics, store }: Pick<GatewayBase, 'paths' | 'config' | 'logger'> & { models: Pick<Models, 'agents'>; metrics: Pick<GatewayMetrics, 'attach'>; store: Pick<Store, 'listSessions' | 'readTranscript'> }) {
    const service = createMemoryService({
      directory: join(paths.stateDir, 'memory'),
      agent: (agentId) => models.agents().get(agentId),
      providers: () => config.current().models.providers,
      secrets: () => configuredSecrets(config.current()),
      transcripts: store,
      logger,
    });
    metrics.attach({ memory: () => service.health() });
    const healthCheck = createMemoryHealthCheck({ health: () => service.health(), catchUp: () => service.catchUp(), logger });
    healthCheck.start();
    return {
      api: { service, tools: createMemoryTools(service.port), healthCheck } satisfies Memory,
      health: () => memoryComponent(healthCheck.report().agents),
      stop: () => {
        healthCheck.stop();
        service.stop();
      },
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

/**
 * Degraded (never down: keyword search still answers) while an agent's embeddings cannot work or
 * keep failing, its index was built by another provider, or a change waits too long to be indexed.
 */
export function memoryComponent(agents: readonly MemoryAgentHealth[]): ComponentHealth {
  const problems = agents.flatMap((agent) => agent.problems.map((problem) => `${agent.agentId}: ${problem}`));
  if (problems.length > 0) return { status: 'degraded', detail: `search still answers, by keyword where it must; ${problems.join('; ')}` };
  const chunks = agents.reduce((sum, agent) => sum + agent.chunks, 0);
  return { status: 'ok', detail: agents.length === 0 ? 'no agent has used memory yet' : `${chunks} chunks indexed for ${agents.map((agent) => agent.agentId).join(', ')}` };
}
