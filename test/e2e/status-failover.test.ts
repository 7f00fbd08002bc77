/**
 * `hearth status` shows each agent's failover order with every provider's breaker state and the
 * time until an open breaker lets a call through again (text and --json).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import OpenAI from 'openai';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { removeHome, runCli, startTestGateway, type TestGateway, testEnv } from '../support/gateway-harness.js';

let fake: FakeModelServer | undefined;
let gateway: TestGateway | undefined;

after(async () => {
  if (gateway) {
    await gateway.stop();
    removeHome(gateway.home);
  }
  await fake?.close();
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

interface Step {
  ref: string;
  provider: string;
  state: string;
  retryInMs: number | null;
  lastError: string | null;
}

test('status: failover order, breaker state and time until retry', { timeout: 60_000 }, async () => {
  fake = await startFakeModelServer();
  const dead = await closedPort();
  gateway = await startTestGateway({
    config: {
      models: {
        providers: {
          dead: { api: 'ollama', baseUrl: `http://127.0.0.1:${dead}`, maxRetries: 0 },
          gem: { api: 'google-gemini', baseUrl: fake.geminiBaseUrl, apiKey: 'k', maxRetries: 0 },
        },
        breaker: { failureThreshold: 1, openMs: 60_000 },
      },
      agents: { defaults: { model: 'dead/qwen3:8b', fallbacks: ['gem/gemini-flash'] } },
    },
  });
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0, timeout: 15_000 });
  const completion = await client.chat.completions.create({ model: 'hearth', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(completion.choices[0]?.message.content, 'echo: hi', 'the fallback answered');

  const env = { ...testEnv(gateway.home), HEARTH_GATEWAY_URL: gateway.url };
  const json = await runCli(['status', '--json'], env);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as { agents: { id: string; failover: Step[] }[]; models: { providers: { provider: string; state: string; retryInMs: number | null }[] } };
  const failover = report.agents.find((agent) => agent.id === 'main')?.failover ?? [];
  assert.deepEqual(
    failover.map((step) => [step.ref, step.state]),
    [
      ['dead/qwen3:8b', 'open'],
      ['gem/gemini-flash', 'closed'],
    ],
  );
  assert.ok(failover[0]?.retryInMs !== null && (failover[0]?.retryInMs ?? 0) > 50_000 && (failover[0]?.retryInMs ?? 0) <= 60_000, JSON.stringify(failover[0]));
  assert.equal(failover[0]?.lastError, 'PROVIDER_NETWORK');
  assert.equal(failover[1]?.retryInMs, null);
  const dead0 = report.models.providers.find((provider) => provider.provider === 'dead');
  assert.equal(dead0?.state, 'open');
  assert.ok((dead0?.retryInMs ?? 0) > 0);

  const text = await runCli(['status'], env);
  assert.match(text.stdout, /Agent {5}main \(default\): dead\/qwen3:8b \(breaker open, retry in \d+ s, PROVIDER_NETWORK\) → gem\/gemini-flash/);
});
