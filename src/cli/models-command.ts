import { createAgentDirectory } from '../agent/agent-directory.js';
import { resolveHearthPaths } from '../config/paths.js';
import { detectProviders } from '../providers/detect-providers.js';
import { type ModelProbe, probeModels } from '../providers/probe-models.js';
import { CliFailure, type CliRuntime, cliConfig } from './cli-context.js';

/**
 * The refs `hearth models probe` checks: every agent's model and fallbacks (in failover order),
 * then each `models.providers.<id>.models` entry.
 */
export function configuredModelRefs(agentRefs: readonly string[][], providers: Record<string, { models?: string[] | undefined }>): string[] {
  const refs = new Set<string>();
  for (const list of agentRefs) for (const ref of list) refs.add(ref);
  for (const [id, provider] of Object.entries(providers)) for (const model of provider.models ?? []) refs.add(`${id}/${model}`);
  return [...refs];
}

function line(probe: ModelProbe): string {
  if (probe.ok) {
    const first = probe.firstTextMs === undefined ? '' : `, first text ${probe.firstTextMs} ms`;
    return `ok    ${probe.ref}  ${probe.latencyMs} ms${first}${probe.reply ? `  "${probe.reply}"` : ''}`;
  }
  return `FAIL  ${probe.ref}  ${probe.error?.code ?? 'ERROR'} after ${probe.latencyMs} ms: ${probe.error?.message ?? ''}`;
}

/** `hearth models probe [ref]`: a tiny request to each configured model (or the one named); exits 1 if any failed. */
export async function runModelsProbe(runtime: CliRuntime, ref: string | undefined, options: { json?: boolean; timeout: string }): Promise<void> {
  const timeoutMs = Number(options.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000) throw new CliFailure('--timeout takes milliseconds, a whole number from 100 to 600000.');
  const paths = resolveHearthPaths(runtime.env);
  const config = cliConfig(paths, runtime.env);
  const configured = Object.keys(config.models.providers).length > 0;
  const detected = configured ? null : await detectProviders(runtime.env).catch(() => null);
  const providers = configured ? config.models.providers : (detected?.providers ?? {});
  const directory = createAgentDirectory(config, { workspacesDir: paths.workspacesDir, home: paths.home, ...(detected?.defaultModel ? { detectedModel: detected.defaultModel } : {}) });
  const refs = ref ? [ref] : configuredModelRefs(directory.list().map((agent) => agent.modelRefs), providers);
  if (refs.length === 0) throw new CliFailure('No models are configured: add a provider under models.providers and agents.defaults.model ("provider/model").');
  const probes = await probeModels(refs, { providers, timeoutMs });
  if (options.json) runtime.io.out(`${JSON.stringify({ models: probes }, null, 2)}\n`);
  else runtime.io.out(`${probes.map(line).join('\n')}\n`);
  const failed = probes.filter((probe) => !probe.ok).length;
  if (failed > 0) throw new CliFailure(`${failed} of ${probes.length} model(s) did not answer.`);
}
