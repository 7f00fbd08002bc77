import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

let hung: FakeModelServer | undefined;
let healthy: FakeModelServer | undefined;
let gateway: TestGateway | undefined;

after(async () => {
  await gateway?.stop();
  if (gateway) removeHome(gateway.home);
  await hung?.close();
  await healthy?.close();
});

async function chat(agent: string, user: string, signal: AbortSignal = AbortSignal.timeout(20_000)) {
  const started = performance.now();
  const response = await fetch(`${gateway!.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway!.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: `hearth/${agent}`, user, messages: [{ role: 'user', content: `hello from ${user}` }] }),
    signal,
  });
  const body = (await response.json()) as { choices?: { message: { content: string } }[]; error?: { code: string; message: string } };
  return { status: response.status, ms: performance.now() - started, text: body.choices?.[0]?.message.content ?? '', error: body.error };
}

async function readyz(): Promise<{ status: number; body: { components: Record<string, { status: string; detail?: string }> } }> {
  const response = await fetch(`${gateway!.url}/readyz`);
  return { status: response.status, body: (await response.json()) as { components: Record<string, { status: string; detail?: string }> } };
}

test('a provider that never answers holds only its share of the slots, its breaker opens, and the healthy provider answers within 2 s throughout', { timeout: 60_000 }, async () => {
  hung = await startFakeModelServer({ defaultStep: { hang: true } });
  healthy = await startFakeModelServer();
  gateway = await startTestGateway({
    config: {
      models: {
        providers: {
          hung: { api: 'openai-chat', baseUrl: hung.openaiBaseUrl, timeoutMs: 2000, maxRetries: 0 },
          healthy: { api: 'openai-chat', baseUrl: healthy.openaiBaseUrl, maxRetries: 0 },
        },
        breaker: { failureThreshold: 3, openMs: 60_000 },
      },
      agents: { defaults: { model: 'healthy/m', maxConcurrent: 8 }, entries: { fast: { default: true }, slow: { model: 'hung/m' } } },
    },
  });
  const env = testEnv(gateway.home, { HEARTH_GATEWAY_URL: gateway.url });

  // Twelve turns against the provider that never answers; their clients leave, the turns go on.
  const leaving = new AbortController();
  const abandoned = Array.from({ length: 12 }, (_, index) => chat('slow', `hung-${index}`, leaving.signal).catch(() => null));
  await waitFor(() => hung!.requests.length >= 6, 'six turns waiting on the hung provider');
  leaving.abort();
  await Promise.all(abandoned);

  // While they hold their share (6 of 8 slots), turns on the healthy provider still run.
  for (let index = 0; index < 3; index += 1) {
    const reply = await chat('fast', `fast-before-${index}`);
    assert.equal(reply.status, 200, JSON.stringify(reply.error));
    assert.match(reply.text, /^echo: hello from fast-before-/u);
    assert.ok(reply.ms < 2000, `a healthy turn took ${Math.round(reply.ms)} ms while the hung provider held its share`);
  }
  assert.equal(hung.requests.length, 6, 'only the provider share of turns reached the hung provider');

  // The timeouts open the breaker: the queued turns fail fast instead of waiting their turn.
  const open = await waitFor(async () => {
    const ready = await readyz();
    return /hung: not answering: breaker open/u.test(ready.body.components.models?.detail ?? '') ? ready : null;
  }, 'the hung provider breaker to open', 15_000);
  const sentAtOpen = hung.requests.length;
  assert.ok(sentAtOpen <= 8, `${sentAtOpen} requests: only the turns started before the third timeout reached the hung provider`);
  assert.equal(open.status, 200, 'still ready: the other provider answers');
  assert.equal(open.body.components.models?.status, 'degraded');
  assert.match(open.body.components.models?.detail ?? '', /no answer yet; last failure \d+ s ago: PROVIDER_TIMEOUT/u);

  const results = await Promise.all(Array.from({ length: 8 }, (_, index) => chat('fast', `fast-after-${index}`)));
  for (const reply of results) {
    assert.equal(reply.status, 200, JSON.stringify(reply.error));
    assert.ok(reply.ms < 2000, `a healthy turn took ${Math.round(reply.ms)} ms while the hung breaker was open`);
  }
  const refused = await chat('slow', 'hung-late');
  assert.equal(refused.status, 503);
  assert.equal(refused.error?.code, 'PROVIDER_UNAVAILABLE');
  assert.match(refused.error?.message ?? '', /stopped answering.*models\.providers\.hung\.baseUrl/u);
  assert.ok(refused.ms < 2000, `a turn for the open breaker took ${Math.round(refused.ms)} ms`);
  assert.equal(hung.requests.length, sentAtOpen, 'nothing more was sent to the hung provider while its breaker is open');

  const metrics = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } }).then((response) => response.text());
  assert.match(metrics, /^hearth_provider_breaker_state\{provider="hung",state="open"\} 1$/mu);
  assert.match(metrics, /^hearth_provider_breaker_state\{provider="healthy",state="closed"\} 1$/mu);
  assert.match(metrics, /^hearth_provider_consecutive_failures\{provider="hung"\} [3-9]$/mu);

  const status = await runCli(['status'], env);
  assert.match(status.stdout, /^Models {4}degraded: /mu);
  assert.match(status.stdout, /^Provider {2}hung: not answering: breaker open after \d+ failed calls in a row, next probe in \d+ s; no answer yet; last failure \d+ s ago: The provider 'hung' sent nothing for 2000 ms/mu);
  assert.match(status.stdout, /^Provider {2}healthy: breaker closed; last answer \d+ s ago/mu);
  const json = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { models: { providers: { provider: string; state: string; lastSuccessAt: number | null }[] } };
  assert.deepEqual(json.models.providers.map((provider) => [provider.provider, provider.state]), [['healthy', 'closed'], ['hung', 'open']]);
});
