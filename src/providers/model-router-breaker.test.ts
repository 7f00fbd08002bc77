import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFakeModelServer } from '../../test/support/fake-model-server.js';
import { providerSchema } from '../config/schema.js';
import { createModelRouter, type RoutedModelEvent } from './model-router.js';

const TIMEOUT = { timeout: 10_000 };

async function finishOf(events: AsyncIterable<RoutedModelEvent>): Promise<{ finish: Extract<RoutedModelEvent, { type: 'finish' }>; text: string }> {
  let text = '';
  for await (const event of events) {
    if (event.type === 'text-delta') text += event.text;
    if (event.type === 'finish') return { finish: event, text };
  }
  throw new Error('the stream ended without a finish event');
}

const turn = () => ({ messages: [{ role: 'user' as const, content: 'hi' }], signal: new AbortController().signal });

/** `hung` never answers (100 ms timeout, 2 retries); `ok` echoes. Breaker: 2 failures, 10 s open. */
async function setup() {
  const hung = await startFakeModelServer({ defaultStep: { hang: true } });
  const ok = await startFakeModelServer().catch(async (error) => {
    await hung.close();
    throw error;
  });
  const clock = { now: 5_000_000 };
  const router = createModelRouter({
    providers: {
      hung: providerSchema().parse({ api: 'openai-chat', baseUrl: hung.openaiBaseUrl, timeoutMs: 100, maxRetries: 2 }),
      ok: providerSchema().parse({ api: 'openai-chat', baseUrl: ok.openaiBaseUrl }),
    },
    breaker: () => ({ failureThreshold: 2, openMs: 10_000, maxOpenMs: 60_000 }),
    now: () => clock.now,
    sleep: async () => {},
  });
  const close = async () => {
    router.close();
    await hung.close();
    await ok.close();
  };
  return { hung, ok, clock, router, close };
}

test('router breaker: timeouts in a row open it; then calls skip the hung provider without sending it anything', TIMEOUT, async () => {
  const { hung, router, close } = await setup();
  try {
    const first = await finishOf(router.stream(['hung/m'], turn()));
    assert.equal(first.finish.reason, 'error');
    assert.equal(hung.requests.length, 2, 'the retry after the second timeout is not sent');
    assert.equal(first.finish.error?.code, 'PROVIDER_UNAVAILABLE');
    const health = router.providerHealth().find((entry) => entry.provider === 'hung');
    assert.equal(health?.state, 'open');
    assert.equal(health?.lastError?.code, 'PROVIDER_TIMEOUT');

    const started = performance.now();
    const fast = await finishOf(router.stream(['hung/m'], turn()));
    assert.equal(fast.finish.error?.code, 'PROVIDER_UNAVAILABLE');
    assert.ok(performance.now() - started < 50, 'failed fast');
    const fallback = await finishOf(router.stream(['hung/m', 'ok/m'], turn()));
    assert.equal(fallback.finish.modelRef, 'ok/m');
    assert.equal(fallback.text, 'echo: hi');
    assert.equal(hung.requests.length, 2, 'nothing more reached the hung provider');
    assert.equal(router.providerHealth().find((entry) => entry.provider === 'ok')?.state, 'closed');
  } finally {
    await close();
  }
});

test('router breaker: after the open time one probe goes out; an answer closes the breaker', TIMEOUT, async () => {
  const { hung, clock, router, close } = await setup();
  try {
    await finishOf(router.stream(['hung/m'], turn()));
    clock.now += 10_000;
    assert.equal(router.providerHealth().find((entry) => entry.provider === 'hung')?.state, 'half-open');
    hung.script({ text: 'back' });
    const probe = await finishOf(router.stream(['hung/m'], turn()));
    assert.equal(probe.text, 'back');
    assert.equal(hung.requests.length, 3);
    const health = router.providerHealth().find((entry) => entry.provider === 'hung');
    assert.equal(health?.state, 'closed');
    assert.equal(health?.lastSuccessAt, clock.now);
  } finally {
    await close();
  }
});

test('router breaker: a config reload keeps the breakers of providers still configured', TIMEOUT, async () => {
  const { hung, router, close } = await setup();
  try {
    await finishOf(router.stream(['hung/m'], turn()));
    const reloaded = createModelRouter({
      providers: { hung: providerSchema().parse({ api: 'openai-chat', baseUrl: hung.openaiBaseUrl, timeoutMs: 100 }) },
      breakers: router.breakers,
    });
    assert.deepEqual(reloaded.providerHealth().map((entry) => [entry.provider, entry.state]), [['hung', 'open']]);
    reloaded.close();
  } finally {
    await close();
  }
});
