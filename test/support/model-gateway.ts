import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type FakeModelServer, fakeModelConfig, startFakeModelServer } from './fake-model-server.js';
import { makeHome, removeHome, startTestGateway, type TestGateway } from './gateway-harness.js';

type Config = { agents?: { defaults?: Record<string, unknown>; entries?: Record<string, unknown> } } & Record<string, unknown>;

/** `config` with the fake model as its provider and, unless it names another, as the agents' model. */
export function withFakeModel(model: Pick<FakeModelServer, 'openaiBaseUrl'>, config: Config): Record<string, unknown> {
  const base = fakeModelConfig(model);
  return { ...config, models: base.models, agents: { ...config.agents, defaults: { ...base.agents.defaults, ...config.agents?.defaults } } };
}

export interface ModelGateway {
  model: FakeModelServer;
  home: string;
  gateway: TestGateway;
}

/**
 * The fake model, a fresh home (with the main agent's workspace, and `prepare` run on it) and a
 * gateway on both; `config` may be built from the home's path.
 */
export async function startModelGateway(config: Config | ((home: string) => Config), prepare?: (home: string) => void): Promise<ModelGateway> {
  const model = await startFakeModelServer();
  const home = makeHome();
  try {
    mkdirSync(join(home, 'workspaces', 'main'), { recursive: true });
    prepare?.(home);
    const settings = typeof config === 'function' ? config(home) : config;
    return { model, home, gateway: await startTestGateway({ home, config: withFakeModel(model, settings) }) };
  } catch (error) {
    await model.close();
    removeHome(home);
    throw error;
  }
}

/** Stops what startModelGateway started; safe after a failed start (any part may be missing). */
export async function stopModelGateway(parts: Partial<ModelGateway>): Promise<void> {
  await parts.gateway?.stop();
  await parts.model?.close();
  if (parts.home) removeHome(parts.home);
}
