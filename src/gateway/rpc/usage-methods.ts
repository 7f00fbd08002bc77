import { z } from 'zod';
import { localDay } from '../../automation/budgets.js';
import type { UsageTotals } from '../../contracts/store.js';
import { defineMethod, type RpcMethod } from './rpc-types.js';

const ZERO: UsageTotals = { inputTokens: 0, outputTokens: 0, costUsd: 0, runs: 0 };

function withTokens<T extends UsageTotals>(row: T): T & { tokens: number } {
  return { ...row, tokens: row.inputTokens + row.outputTokens };
}

/** The local days of the window, oldest first: today and the `days - 1` before it. */
function windowDays(now: number, days: number): { since: number; labels: string[] } {
  const start = new Date(now);
  start.setHours(0, 0, 0, 0);
  start.setDate(start.getDate() - (days - 1));
  const labels: string[] = [];
  const cursor = new Date(start);
  for (let index = 0; index < days; index++) {
    labels.push(localDay(cursor.getTime()));
    cursor.setDate(cursor.getDate() + 1);
  }
  return { since: start.getTime(), labels };
}

const byTokens = (a: { tokens: number }, b: { tokens: number }) => b.tokens - a.tokens;

/** `usage.summary`: tokens and cost of the stored runs per day, agent and model. */
export const usageMethods: Record<string, RpcMethod> = {
  'usage.summary': defineMethod(
    {
      description: 'Tokens and cost of the runs that finished in the last `days` local days (1–90, default 14, today included): per day (every day listed, oldest first), per agent and per model (most tokens first).',
      returns: '{since, until, totals, days:[{day, tokens, inputTokens, outputTokens, costUsd, runs}], agents:[{agentId, tokens, …}], models:[{model, tokens, …}]}',
    },
    z.strictObject({ days: z.number().int().min(1).max(90).optional() }).optional(),
    async (params, _connection, context) => {
      const until = Date.now() + 1;
      const { since, labels } = windowDays(until - 1, params?.days ?? 14);
      const summary = await context.store.usageSummary({ since, until });
      const found = new Map(summary.days.map((row) => [row.day, row]));
      const days = labels.map((day) => withTokens({ ...ZERO, ...found.get(day), day }));
      const totals = withTokens(days.reduce((sum, day) => ({ inputTokens: sum.inputTokens + day.inputTokens, outputTokens: sum.outputTokens + day.outputTokens, costUsd: sum.costUsd + day.costUsd, runs: sum.runs + day.runs }), ZERO));
      return {
        since,
        until,
        totals,
        days,
        agents: summary.agents.map(withTokens).sort(byTokens),
        models: summary.models.map(withTokens).sort(byTokens),
      };
    },
  ),
};
