import { z } from 'zod';
import { defineMethod, type RpcMethod } from './rpc-types.js';

/** Operator alerts (channel health, cron failures, budgets): what was raised and whether it was delivered. */
export const alertMethods: Record<string, RpcMethod> = {
  'alerts.list': defineMethod(
    {
      description: 'Operator alerts, newest first (default limit 50): the event (channel.health, channel.health.recovered, cron.failure, budget…), its payload, and whether it reached its chat and webhook; with `event`, only alerts of that event or its sub-events.',
      returns: '{alerts:[{id, event, payload, status, attempts, lastError, createdAt, deliveredAt}]}',
    },
    z.strictObject({ limit: z.number().int().min(1).max(500).optional(), event: z.string().min(1).max(64).optional() }).optional(),
    async (params, _connection, context) => {
      const event = params?.event;
      const alerts = await context.alerts.list(event === undefined ? (params?.limit ?? 50) : 500);
      const matching = event === undefined ? alerts : alerts.filter((alert) => alert.event === event || alert.event.startsWith(`${event}.`));
      return {
        alerts: matching.slice(0, params?.limit ?? 50).map(({ id, event: name, payload, status, attempts, lastError, createdAt, deliveredAt }) => ({ id, event: name, payload, status, attempts, lastError, createdAt, deliveredAt })),
      };
    },
  ),
};
