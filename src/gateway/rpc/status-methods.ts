import { z } from 'zod';
import { defineMethod, type RpcMethod } from './rpc-types.js';

export const statusMethods: Record<string, RpcMethod> = {
  status: defineMethod(z.unknown(), async (_params, _connection, context) => context.status()),
  health: defineMethod(z.unknown(), async (_params, _connection, context) => {
    const components = context.components();
    return { ok: Object.values(components).every((component) => component.status === 'ok'), components };
  }),
};
