import { z } from 'zod';
import { defineMethod, type RpcMethod } from './rpc-types.js';

export const statusMethods: Record<string, RpcMethod> = {
  status: defineMethod({ description: 'What the gateway is doing: the report `hearth status` prints.', returns: 'the status report' }, z.unknown(), async (_params, _connection, context) => context.status()),
  health: defineMethod({ description: 'Whether every component is ok, and each component\'s status.', returns: '{ok, components}' }, z.unknown(), async (_params, _connection, context) => {
    const components = context.components();
    return { ok: Object.values(components).every((component) => component.status === 'ok'), components };
  }),
  'health.subscribe': defineMethod(
    {
      description: 'Sends this connection `health` events whenever a component or a channel account changes status (checked every second, sent only on a change); answers the health now.',
      returns: '{ok, components, channels:[{channel, account, status, dimensions:{transport, application, functional: {status, degradedSince}}}]}',
    },
    z.unknown(),
    async (_params, connection) => connection.watchHealth(),
  ),
};
