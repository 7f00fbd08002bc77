import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PluginStatus } from '../plugins/plugin-host.js';
import { type CliRuntime, gatewayTarget, withGateway } from './cli-context.js';
import { GatewayUnreachable } from './gateway-client.js';

interface Quarantined {
  folder: string;
  reason: string;
}

/** What the disk shows without a running gateway: the plugins folder's manifests and the quarantine. */
async function fromDisk(home: string): Promise<{ plugins: PluginStatus[]; quarantined: Quarantined[] }> {
  const root = join(home, 'plugins');
  const { readPluginManifest } = await import('../plugins/plugin-manifest.js');
  const plugins: PluginStatus[] = [];
  for (const name of (await readdir(root).catch(() => [] as string[])).filter((item) => !item.startsWith('.')).sort()) {
    const reading = await readPluginManifest(join(root, name), { expectedId: name });
    const manifest = reading.ok ? reading.manifest : null;
    plugins.push({
      id: manifest?.id ?? name,
      version: manifest?.version ?? '?',
      dir: join(root, name),
      state: 'stopped',
      lastError: reading.ok ? null : reading.error,
      restarts: 0,
      registered: { tools: manifest?.registers.tools ?? [], hooks: manifest?.registers.hooks ?? [] },
      quarantinedTo: null,
      since: 0,
    });
  }
  const quarantine = join(root, '.quarantine');
  const quarantined: Quarantined[] = [];
  for (const folder of (await readdir(quarantine).catch(() => [] as string[])).sort()) {
    const reason = await readFile(join(quarantine, folder, 'reason.txt'), 'utf8').catch(() => '');
    quarantined.push({ folder: join(quarantine, folder), reason: reasonLine(reason) });
  }
  return { plugins, quarantined };
}

/** The `Reason:` line of a quarantined plugin's reason.txt (or its first line). */
export function reasonLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines.find((line) => line.startsWith('Reason: '))?.slice('Reason: '.length) ?? lines[0] ?? '').trim();
}

function describe(plugin: PluginStatus, health: boolean): string {
  const lines = [`${plugin.id} ${plugin.version}  ${plugin.state}${plugin.quarantinedTo ? ` → ${plugin.quarantinedTo}` : ''}`];
  if (health) {
    lines.push(`  restarts ${plugin.restarts}${plugin.lastError ? `, last error: ${plugin.lastError}` : ''}`);
    lines.push(`  registered: tools ${plugin.registered.tools.join(', ') || '-'}; hooks ${plugin.registered.hooks.join(', ') || '-'}`);
  }
  return lines.join('\n');
}

/** `hearth plugins list [--health] [--json]`: from the running gateway, else from the disk. */
export async function pluginsList(runtime: CliRuntime, options: { health?: boolean; json?: boolean }): Promise<void> {
  let plugins: PluginStatus[];
  let quarantined: Quarantined[] = [];
  let live = true;
  try {
    ({ plugins } = await withGateway(runtime.env, runtime.io, (client) => client.call<{ plugins: PluginStatus[] }>('plugins.list')));
  } catch (error) {
    if (!(error instanceof GatewayUnreachable)) throw error;
    live = false;
    ({ plugins, quarantined } = await fromDisk(gatewayTarget(runtime.env).paths.home));
  }
  if (options.json) {
    runtime.io.out(`${JSON.stringify(live ? { running: true, plugins } : { running: false, plugins, quarantined }, null, 2)}\n`);
    return;
  }
  if (!live) runtime.io.out('The gateway is not running: plugins as found on disk.\n');
  if (plugins.length === 0 && quarantined.length === 0) runtime.io.out('No plugins. Put one in $HEARTH_HOME/plugins/<id>/ (docs/plugins.md).\n');
  for (const plugin of plugins) runtime.io.out(`${describe(plugin, options.health === true)}\n`);
  for (const item of quarantined) runtime.io.out(`quarantined  ${item.folder}${item.reason ? `: ${item.reason}` : ''}\n`);
}
