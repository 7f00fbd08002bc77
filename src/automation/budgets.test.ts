import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DailyBudget } from '../contracts/automation.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { AlertRequest } from './alerts.js';
import { systemClock } from '../runtime/clock.js';
import { createAlertSink } from './alerts.js';
import { createBudgets, localDay } from './budgets.js';

async function spend(store: ReturnType<typeof createSqliteStore>, runId: string, tokens: number, costUsd: number, day: string, scopes: string[]) {
  await store.acceptTurn({ runId, sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'x', now: 1 });
  await store.startTurn(runId, { now: 2, historyLimit: 0 });
  await store.completeTurn(runId, {
    status: 'ok',
    messages: [],
    reply: 'y',
    usage: { inputTokens: tokens, outputTokens: 0 },
    costUsd,
    spend: { day, scopes },
    toolCalls: [],
    deliverTo: null,
    now: 3,
  });
}

test('budgets: cost from the price table; a scope past its budget is refused with a clear reason; alerts at 80 % and 100 % once a day', async () => {
  const store = createSqliteStore({ path: ':memory:' });
  const raised: AlertRequest[] = [];
  const sink = createAlertSink({ store, clock: systemClock, logger: { warn() {}, error() {} }, deliver: () => {} });
  const limits: Record<string, DailyBudget> = { 'agent:main': { dailyTokens: 1000 }, 'cron:job_1': { dailyCostUsd: 0.5 } };
  const now = Date.parse('2026-11-21T12:00:00');
  const budgets = createBudgets({
    store,
    now: () => now,
    pricing: () => ({ 'openai/gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 } }),
    limitOf: (scope) => limits[scope],
    alerts: {
      raise: async (request) => {
        raised.push(request);
        return sink.raise(request);
      },
    },
    targets: () => ({}),
    logger: { warn() {}, error() {} },
  });
  try {
    assert.equal(budgets.costOf('openai/gpt-4o-mini', { inputTokens: 1_000_000, outputTokens: 500_000 }), 0.45);
    assert.equal(budgets.costOf('local/qwen', { inputTokens: 10, outputTokens: 10 }), null, 'no price, no cost');
    const day = localDay(now);
    assert.equal(day, '2026-11-21');

    await spend(store, 'r1', 700, 0.1, day, ['agent:main']);
    await budgets.afterTurn(['agent:main']);
    assert.equal(raised.length, 0, '70 % says nothing');
    assert.equal(await budgets.blocked(['agent:main']), null);

    await spend(store, 'r2', 150, 0.1, day, ['agent:main']);
    await budgets.afterTurn(['agent:main']);
    await budgets.afterTurn(['agent:main']);
    const recorded = await store.listAlerts(10);
    assert.deepEqual(
      recorded.map((alert) => [alert.dedupeKey, alert.payload.percent, alert.status]),
      [['budget:agent:main:2026-11-21:80', 80, 'logged']],
      'recorded once, however many turns cross the line',
    );
    assert.match(raised[0]?.text ?? '', /agent "main" has used 80 % of its daily budget \(850 of 1,000 tokens\)/u);

    await spend(store, 'r3', 200, 0.1, day, ['agent:main']);
    await budgets.afterTurn(['agent:main']);
    assert.equal(raised[raised.length - 1]?.payload.percent, 100);
    const reason = await budgets.blocked(['agent:main', 'cron:job_1']);
    assert.match(reason ?? '', /daily budget of agent "main" is used up \(1,050 of 1,000 tokens today\).*resets at midnight/u);

    await spend(store, 'r4', 10, 0.5, day, ['cron:job_1']);
    assert.match((await budgets.blocked(['cron:job_1'])) ?? '', /cron job job_1 is used up \(\$0\.5000 of \$0\.5000 today\)/u);
    assert.equal(await budgets.blocked(['agent:other']), null, 'a scope without a budget is never refused');
    // Another day starts from zero.
    await spend(store, 'r5', 5000, 0, '2026-11-20', ['agent:main']);
    const today = await budgets.today(['agent:main']);
    assert.deepEqual(today.scopes[0], { scope: 'agent:main', tokens: 1050, costUsd: 0.30000000000000004, budget: { dailyTokens: 1000 }, percent: 105 });
  } finally {
    await sink.stop();
    await store.close();
  }
});
