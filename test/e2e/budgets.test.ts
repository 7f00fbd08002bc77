import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { type HookReceiver, startHookReceiver } from '../support/hook-receiver.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

let model: FakeModelServer;
let hooks: HookReceiver;
const homes: string[] = [];

before(async () => {
  model = await startFakeModelServer();
  hooks = await startHookReceiver();
});
after(async () => {
  await model?.close();
  await hooks?.close();
  for (const home of homes) removeHome(home);
});

test('a daily token budget: the turn that spends it is answered, the next one is refused with a clear reply before any model call; status, alert and metrics show the spend', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      models: {
        providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 } },
        pricing: { 'fake/echo': { inputPerMillion: 1000, outputPerMillion: 2000 } },
      },
      agents: { defaults: { model: 'fake/echo', budget: { dailyTokens: 60 } } },
      alerts: { webhook: `${hooks.url}/alerts` },
    },
  });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const ask = (content: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'hearth', user: 'ada', messages: [{ role: 'user', content }] }),
    });
  try {
    const first = await ask('hello there, budget');
    assert.equal(first.status, 200);
    const requestsBefore = model.requests.length;
    const second = await ask('and again');
    assert.equal(second.status, 429);
    const body = (await second.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'BUDGET_EXCEEDED');
    assert.match(body.error.message, /daily budget of agent "main" is used up \(\d[\d,]* of 60 tokens today\).*resets at midnight/u);
    assert.equal(model.requests.length, requestsBefore, 'the refused turn never reached the model');

    const status = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { spend: { scopes: { scope: string; tokens: number; costUsd: number; percent: number }[] } };
    const main = status.spend.scopes.find((scope) => scope.scope === 'agent:main');
    assert.ok(main && main.tokens > 60 && main.percent >= 100, JSON.stringify(status.spend));
    assert.ok(main.costUsd > 0, 'cost from the price table');
    const text = await runCli(['status'], env);
    assert.match(text.stdout, /Spend today .*main: \d[\d,]* tokens, \$\d/u);

    const alert = await waitFor(() => hooks.received.map((item) => item.body).find((body) => body.event === 'budget.threshold'), 'the budget alert');
    assert.deepEqual({ scope: alert.scope, percent: alert.percent, dailyTokens: alert.dailyTokens }, { scope: 'agent:main', percent: 100, dailyTokens: 60 });
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } })).text();
    // The metric is the day's spend from the price table: the same figure status reports.
    const metricCost = Number(/hearth_cost_usd_total\{agent="main",provider="fake",model="echo"\} ([\d.]+)/u.exec(metrics)?.[1]);
    assert.ok(Math.abs(metricCost - main.costUsd) < 1e-9, `metric ${metricCost} against status ${main.costUsd}`);
    const listed = JSON.parse((await runCli(['runs', 'list', '--json'], env)).stdout) as { status: string; costUsd: number | null; error: { code: string } | null }[];
    assert.equal(listed[0]?.error?.code, 'BUDGET_EXCEEDED');
    assert.ok((listed[1]?.costUsd ?? 0) > 0, 'each run carries its cost');
  } finally {
    await gateway.stop();
  }
});
