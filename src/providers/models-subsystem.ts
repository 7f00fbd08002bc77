import { mkdirSync } from 'node:fs';
import { type AgentDirectory, createAgentDirectory } from '../agent/agent-directory.js';
import { createStarterWorkspace } from '../agent/starter-workspace.js';
import { createWorkspaceContext, type WorkspaceContext } from '../agent/workspace-context.js';
import type { HearthConfig } from '../config/schema.js';
import type { ModelRouter, RoutedModelEvent } from '../contracts/model-provider.js';
import type { ComponentHealth } from '../gateway/gateway-context.js';
import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import { detectProviders } from './detect-providers.js';
import type { ProviderHealth } from './circuit-breaker.js';
import { createModelRouter } from './model-router.js';
import { modelsReadiness } from './provider-status.js';

type Detected = { providers: HearthConfig['models']['providers']; defaultModel?: string; source: string };

export interface Models {
  /** Forwards to the current router, which a config reload or a detection replaces. */
  router: ModelRouter;
  agents(): AgentDirectory;
  workspaceContext: WorkspaceContext;
  /** What the config gives (a model for every agent?) and what the calls showed (breakers, last failures). */
  health(): ComponentHealth;
  /** Each provider's circuit breaker and last success/failure (for status, /readyz and /metrics). */
  providerHealth(): ProviderHealth[];
  /** `config` when the config names providers, else what detection found. */
  source(): string;
  /** Settles when model detection is over (at once when the config names providers). */
  detected: Promise<void>;
}

function modelsHealth(directory: AgentDirectory, configPath: string): ComponentHealth {
  const withoutModel = directory.list().filter((agent) => agent.modelRefs.length === 0);
  if (withoutModel.length === 0) {
    return { status: 'ok', detail: directory.list().map((agent) => `${agent.id}: ${agent.modelRefs[0]}`).join(', ') };
  }
  return {
    status: 'degraded',
    detail: `no model configured for ${withoutModel.map((agent) => agent.id).join(', ')}: add models.providers and agents.defaults.model to ${configPath}, set OPENAI_API_KEY or ANTHROPIC_API_KEY, or start Ollama`,
  };
}

/**
 * The model router and the agent directory, rebuilt from the config at start, at each accepted
 * edit and when detection finds models. Detection (environment keys, a local Ollama) runs only
 * when the config names no provider, and never delays start-up.
 */
export const modelsSubsystem = defineSubsystem({
  name: 'models',
  start({ env, paths, config, logger }: Pick<GatewayBase, 'env' | 'paths' | 'config' | 'logger'>) {
    const workspaceContext = createWorkspaceContext();
    let detected: Detected = { providers: {}, source: 'pending' };
    const breaker = () => config.current().models.breaker;
    let router = createModelRouter({ providers: config.current().models.providers, breaker, logger });
    let directory = createAgentDirectory(config.current(), { workspacesDir: paths.workspacesDir, home: paths.home });
    // A fresh home: the default workspace starts with commented AGENTS.md, SOUL.md and USER.md.
    createStarterWorkspace(directory.get(directory.defaultAgentId)!.workspaceDir);
    let status: ComponentHealth = { status: 'starting', detail: 'looking for models' };
    let stopped = false;

    const rebuild = () => {
      if (stopped) return;
      const current = config.current();
      const useDetected = Object.keys(current.models.providers).length === 0;
      router.close();
      router = createModelRouter({ providers: useDetected ? detected.providers : current.models.providers, breaker, breakers: router.breakers, logger });
      directory = createAgentDirectory(current, {
        workspacesDir: paths.workspacesDir,
        home: paths.home,
        ...(useDetected && detected.defaultModel ? { detectedModel: detected.defaultModel } : {}),
      });
      for (const agent of directory.list()) mkdirSync(agent.workspaceDir, { recursive: true, mode: 0o700 });
      workspaceContext.clear();
      status = modelsHealth(directory, paths.configPath);
    };

    const detect = async () => {
      if (Object.keys(config.current().models.providers).length > 0) return;
      const found = await detectProviders(env);
      detected = found;
      rebuild();
      if (found.source === 'none') logger.warn({}, `no model found: ${status.detail}`);
      else logger.info({ source: found.source, model: found.defaultModel }, 'using a detected model');
    };

    rebuild();
    const unsubscribe = config.onReload(rebuild);
    const models: Models = {
      router: {
        stream: (refs, request): AsyncIterable<RoutedModelEvent> => router.stream(refs, request),
        has: (ref) => router.has(ref),
        list: () => router.list(),
      },
      agents: () => directory,
      workspaceContext,
      health: () => modelsReadiness(status, router.providerHealth(), Date.now()),
      providerHealth: () => router.providerHealth(),
      source: () => (Object.keys(config.current().models.providers).length > 0 ? 'config' : detected.source),
      detected: detect().catch((error) => logger.warn({ err: error }, 'model detection failed')),
    };
    return {
      api: models,
      health: models.health,
      stop() {
        stopped = true;
        unsubscribe();
        router.close();
        workspaceContext.clear();
      },
    };
  },
});
