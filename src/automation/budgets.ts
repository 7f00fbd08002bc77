import type { DailyBudget } from '../contracts/automation.js';
import type { Usage } from '../contracts/messages.js';
import type { Store } from '../contracts/store.js';
import type { PriceTable } from '../config/schema.js';
import type { AlertRequest } from './alerts.js';

export interface BudgetsDeps {
  store: Store;
  now: () => number;
  pricing: () => PriceTable;
  /** The budget of a scope (`agent:<id>` or `cron:<jobId>`), if it has one. */
  limitOf: (scope: string) => DailyBudget | undefined;
  alerts: { raise(request: AlertRequest): Promise<unknown> };
  /** Where budget alerts go (`alerts` in the config). */
  targets: () => { channel?: string | undefined; webhook?: string | undefined };
  logger: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  /** The day spend is counted in; the gateway's local day by default. */
  dayOf?: (ms: number) => string;
}

/** The local calendar day, `YYYY-MM-DD`. */
export function localDay(ms: number): string {
  const date = new Date(ms);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

const usd = (value: number) => `$${value.toFixed(value < 1 ? 4 : 2)}`;

/**
 * Daily token and cost budgets per agent and per cron job. A turn is refused before it calls a
 * model once a scope it counts against has spent its budget (the user gets a reply saying so);
 * at 80 % and at 100 % the operator is alerted once per scope and day. Costs come from the
 * price table in `models.pricing`.
 */
export function createBudgets(deps: BudgetsDeps) {
  const dayOf = deps.dayOf ?? localDay;

  const usageOf = async (scopes: readonly string[]) => {
    const day = dayOf(deps.now());
    const spent = await deps.store.readSpend(day, scopes);
    return { day, spent: new Map(spent.map((record) => [record.scope, record])) };
  };

  /** The share of its budget a scope has used: the larger of tokens and cost, 0 without a budget. */
  const shareOf = (limit: DailyBudget | undefined, tokens: number, costUsd: number) => {
    if (!limit) return 0;
    return Math.max(limit.dailyTokens ? tokens / limit.dailyTokens : 0, limit.dailyCostUsd ? costUsd / limit.dailyCostUsd : 0);
  };

  const describe = (scope: string, limit: DailyBudget, tokens: number, costUsd: number) => {
    const parts: string[] = [];
    if (limit.dailyTokens) parts.push(`${tokens.toLocaleString('en-US')} of ${limit.dailyTokens.toLocaleString('en-US')} tokens`);
    if (limit.dailyCostUsd) parts.push(`${usd(costUsd)} of ${usd(limit.dailyCostUsd)}`);
    const [kind, id] = scope.split(/:(.*)/su) as [string, string];
    return { what: kind === 'cron' ? `cron job ${id}` : `agent "${id}"`, used: parts.join(' and ') };
  };

  return {
    day: (ms: number) => dayOf(ms),

    /** What a call cost from the price table, or null when the model has no price. */
    costOf(modelRef: string | null | undefined, usage: Usage | null | undefined): number | null {
      if (!modelRef || !usage) return null;
      const price = deps.pricing()[modelRef];
      if (!price) return null;
      return (usage.inputTokens * price.inputPerMillion + usage.outputTokens * price.outputPerMillion) / 1_000_000;
    },

    /** Why a turn counting against these scopes may not run now, or null. */
    async blocked(scopes: readonly string[]): Promise<string | null> {
      const limited = scopes.filter((scope) => deps.limitOf(scope));
      if (limited.length === 0) return null;
      const { spent } = await usageOf(limited);
      for (const scope of limited) {
        const limit = deps.limitOf(scope)!;
        const record = spent.get(scope);
        if (shareOf(limit, record?.tokens ?? 0, record?.costUsd ?? 0) >= 1) {
          const { what, used } = describe(scope, limit, record?.tokens ?? 0, record?.costUsd ?? 0);
          return `The daily budget of ${what} is used up (${used} today), so this was not sent to the model. It resets at midnight; to go on now, raise budget.dailyTokens / budget.dailyCostUsd in the config.`;
        }
      }
      return null;
    },

    /** After a turn: alerts the operator once per scope and day at 80 % and at 100 %. */
    async afterTurn(scopes: readonly string[]): Promise<void> {
      const limited = scopes.filter((scope) => deps.limitOf(scope));
      if (limited.length === 0) return;
      const { day, spent } = await usageOf(limited);
      for (const scope of limited) {
        const limit = deps.limitOf(scope)!;
        const tokens = spent.get(scope)?.tokens ?? 0;
        const costUsd = spent.get(scope)?.costUsd ?? 0;
        const share = shareOf(limit, tokens, costUsd);
        const threshold = share >= 1 ? 100 : share >= 0.8 ? 80 : null;
        if (threshold === null) continue;
        const { what, used } = describe(scope, limit, tokens, costUsd);
        const targets = deps.targets();
        await deps.alerts
          .raise({
            dedupeKey: `budget:${scope}:${day}:${threshold}`,
            event: 'budget.threshold',
            payload: { event: 'budget.threshold', scope, day, percent: threshold, tokens, costUsd, dailyTokens: limit.dailyTokens ?? null, dailyCostUsd: limit.dailyCostUsd ?? null },
            text:
              threshold === 100
                ? `The daily budget of ${what} is used up (${used}); its turns are refused until midnight.`
                : `The ${what} has used 80 % of its daily budget (${used}).`,
            channel: targets.channel,
            webhook: targets.webhook,
          })
          .catch((error) => deps.logger.error({ err: error, scope }, 'could not record a budget alert'));
      }
    },

    /** Today's spend of these scopes with their budgets (for `hearth status`). */
    async today(scopes: readonly string[]) {
      const { day, spent } = await usageOf(scopes);
      return {
        day,
        scopes: scopes.map((scope) => {
          const limit = deps.limitOf(scope);
          const tokens = spent.get(scope)?.tokens ?? 0;
          const costUsd = spent.get(scope)?.costUsd ?? 0;
          return { scope, tokens, costUsd, budget: limit ?? null, percent: limit ? Math.round(shareOf(limit, tokens, costUsd) * 100) : null };
        }),
      };
    },
  };
}

export type Budgets = ReturnType<typeof createBudgets>;
