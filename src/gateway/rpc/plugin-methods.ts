import { z } from 'zod';
import { defineMethod, type RpcMethod } from './rpc-types.js';

/** Plugins (docs/plugins.md): what runs, what was quarantined and why. */
export const pluginMethods: Record<string, RpcMethod> = {
  'plugins.list': defineMethod(
    {
      description: 'Every plugin the gateway found: its state (running, restarting, quarantined), last error, restarts, what it registered, and where a quarantined one was moved.',
      returns: '{plugins:[{id, version, dir, state, lastError, restarts, registered:{tools, hooks, routes?}, quarantinedTo, since}]}',
    },
    z.strictObject({}).optional(),
    async (_params, _connection, context) => ({ plugins: context.plugins.status() }),
  ),
};
