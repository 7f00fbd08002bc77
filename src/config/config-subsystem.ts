import type { GatewayBase } from '../runtime/gateway-base.js';
import { defineSubsystem } from '../runtime/subsystem.js';
import { createConfigWatcher } from './config-watcher.js';

/**
 * Applies edits of the config file while the gateway runs: a valid edit replaces the config and
 * every subsystem's reload listener runs (in start order); an invalid one is logged and shown in
 * `/readyz`, and the last good config stays in force.
 */
export const configSubsystem = defineSubsystem({
  name: 'config',
  start({ env, paths, config, logger }: Pick<GatewayBase, 'env' | 'paths' | 'config' | 'logger'>) {
    const watcher = createConfigWatcher({
      path: paths.configPath,
      env,
      logger,
      onChange: (result) => {
        const applied = config.apply(result);
        if (!applied.ok) {
          logger.error({ path: paths.configPath }, `config edit rejected; the last good config stays in force:\n${applied.message}`);
          return;
        }
        if (applied.changed) logger.info({ hash: config.hash().slice(0, 12) }, 'config reloaded');
      },
    });
    watcher.start();
    return {
      api: undefined,
      health: () => {
        const last = config.lastReload();
        return last && !last.ok ? { status: 'degraded' as const, detail: `last edit rejected: ${last.error}` } : { status: 'ok' as const };
      },
      drain: () => watcher.stop(),
    };
  },
});
