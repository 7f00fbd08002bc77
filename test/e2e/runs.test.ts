import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv } from '../support/gateway-harness.js';

let model: FakeModelServer;
const homes: string[] = [];

before(async () => {
  model = await startFakeModelServer();
});
after(async () => {
  await model.close();
  for (const home of homes) removeHome(home);
});

interface RunDetail {
  runId: string;
  trigger: string;
  status: string;
  provider: string | null;
  model: string | null;
  usage: { inputTokens: number; outputTokens: number } | null;
  steps: { seq: number; kind: string; name: string; input?: unknown; output?: unknown; durationMs: number }[];
  toolCalls: { name: string; arguments: unknown; result: string }[];
}

test('runs list and runs show tell what a run did, step by step, with secrets redacted', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0, apiKey: 'provider-key-0123456789' } } },
      agents: { defaults: { model: 'fake/echo' } },
    },
  });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  try {
    model.script({ toolCalls: [{ name: 'write', arguments: { path: 'note.txt', content: 'my key is sk-abcdefghijklmnopqrstuv and provider-key-0123456789' } }] });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'hearth', user: 'ada', messages: [{ role: 'user', content: 'save my key' }] }),
    });
    const body = (await response.json()) as { hearth: { runId: string } };
    const runId = body.hearth.runId;

    const listed = await runCli(['runs', 'list', '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const runs = JSON.parse(listed.stdout) as { runId: string; trigger: string; status: string; provider: string; model: string; toolCalls: number }[];
    const summary = runs.find((run) => run.runId === runId);
    assert.deepEqual(
      { trigger: summary?.trigger, status: summary?.status, provider: summary?.provider, model: summary?.model, toolCalls: summary?.toolCalls },
      { trigger: 'openai', status: 'ok', provider: 'fake', model: 'echo', toolCalls: 1 },
    );

    const shown = await runCli(['runs', 'show', runId, '--json'], env);
    assert.equal(shown.code, 0, shown.stderr);
    const detail = JSON.parse(shown.stdout) as RunDetail;
    assert.deepEqual(
      detail.steps.map((step) => `${step.kind}:${step.name}`),
      ['model:fake/echo', 'tool:write', 'model:fake/echo'],
    );
    assert.ok(detail.steps.every((step) => typeof step.durationMs === 'number'));
    assert.doesNotMatch(shown.stdout, /sk-abcdefghijklmnopqrstuv|provider-key-0123456789/u, 'secrets never leave the gateway');
    assert.match(JSON.stringify(detail.toolCalls[0]?.arguments), /\[redacted\]/u);

    const text = await runCli(['runs', 'show', runId], env);
    assert.match(text.stdout, /Trigger {3}openai/u);
    assert.match(text.stdout, /2\. tool write/u);
    const missing = await runCli(['runs', 'show', 'run_nope'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No run run_nope/u);
  } finally {
    await gateway.stop();
  }
});
