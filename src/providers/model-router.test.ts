import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFakeModelServer, type FakeModelServer } from '../../test/support/fake-model-server.js';
import { type ProviderConfig, providerSchema } from '../config/schema.js';
import type { ModelProvider, ModelRequest } from '../contracts/model-provider.js';
import { packMessages } from '../contracts/packed-messages.js';
import { createModelRouter, parseModelRef, type RoutedModelEvent } from './model-router.js';

const TIMEOUT = { timeout: 10_000 };

async function collect(events: AsyncIterable<RoutedModelEvent>): Promise<RoutedModelEvent[]> {
  const out: RoutedModelEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

function textOf(events: RoutedModelEvent[]): string {
  return events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('');
}

function finishOf(events: RoutedModelEvent[]): Extract<RoutedModelEvent, { type: 'finish' }> {
  const last = events[events.length - 1];
  assert.ok(last && last.type === 'finish');
  assert.equal(events.filter((event) => event.type === 'finish').length, 1);
  return last;
}

function userTurn(signal: AbortSignal = new AbortController().signal) {
  return { messages: [{ role: 'user' as const, content: 'hi' }], signal };
}

function modelsRequested(server: FakeModelServer): unknown[] {
  return server.requests.map((request) => (request.body as { model?: unknown }).model);
}

/** A fake server plus a recording sleep; providers `local` (OpenAI API) and `claude` (Anthropic API). */
async function setup(options: { maxRetries?: number } = {}) {
  const server = await startFakeModelServer();
  const waits: number[] = [];
  const warnings: object[] = [];
  const providers: Record<string, ProviderConfig> = {
    local: providerSchema().parse({ api: 'openai-chat', baseUrl: server.openaiBaseUrl, maxRetries: options.maxRetries ?? 2, models: ['small', 'org/big:7b'] }),
    claude: providerSchema().parse({ api: 'anthropic-messages', baseUrl: server.anthropicBaseUrl, apiKey: 'sk-ant-k', maxRetries: options.maxRetries ?? 2 }),
  };
  const router = createModelRouter({
    providers,
    logger: { warn: (obj) => warnings.push(obj) },
    sleep: async (ms) => {
      waits.push(ms);
    },
    random: () => 0,
  });
  return { server, router, waits, warnings };
}

test('parseModelRef splits at the first slash only', () => {
  assert.deepEqual(parseModelRef('local/qwen3:8b'), { providerId: 'local', modelId: 'qwen3:8b' });
  assert.deepEqual(parseModelRef('or/meta-llama/llama-3:70b'), { providerId: 'or', modelId: 'meta-llama/llama-3:70b' });
  assert.equal(parseModelRef('noslash'), undefined);
  assert.equal(parseModelRef('/x'), undefined);
  assert.equal(parseModelRef('x/'), undefined);
});

test('router: streams from the first model and reports the ref used', TIMEOUT, async () => {
  const { server, router } = await setup();
  try {
    const events = await collect(router.stream(['local/org/big:7b', 'claude/c'], userTurn()));
    assert.equal(textOf(events), 'echo: hi');
    const finish = finishOf(events);
    assert.equal(finish.reason, 'stop');
    assert.equal(finish.modelRef, 'local/org/big:7b');
    assert.deepEqual(modelsRequested(server), ['org/big:7b']);
  } finally {
    router.close();
    await server.close();
  }
});

test('router: 429 with retry-after waits that long, then succeeds on the same model', TIMEOUT, async () => {
  const { server, router, waits } = await setup();
  try {
    server.script({ status: 429, retryAfterSeconds: 2 }, { text: 'finally' });
    const events = await collect(router.stream(['local/small'], userTurn()));
    assert.equal(textOf(events), 'finally');
    assert.equal(finishOf(events).modelRef, 'local/small');
    assert.deepEqual(waits, [2000]);
    assert.deepEqual(modelsRequested(server), ['small', 'small']);
  } finally {
    await server.close();
  }
});

test('router: retries use capped exponential backoff with jitter, then fall back to the next model', TIMEOUT, async () => {
  const { server, router, waits, warnings } = await setup({ maxRetries: 2 });
  try {
    server.script({ status: 500 }, { status: 502 }, { status: 500 }, { text: 'from the fallback' });
    const events = await collect(router.stream(['local/small', 'claude/claude-test'], userTurn()));
    assert.equal(textOf(events), 'from the fallback');
    const finish = finishOf(events);
    assert.equal(finish.reason, 'stop');
    assert.equal(finish.modelRef, 'claude/claude-test');
    assert.deepEqual(waits, [250, 500], 'random() = 0 gives half of 500 ms × 2^attempt');
    assert.deepEqual(modelsRequested(server), ['small', 'small', 'small', 'claude-test']);
    assert.deepEqual(
      server.requests.map((request) => request.api),
      ['openai', 'openai', 'openai', 'anthropic'],
    );
    assert.ok(warnings.length >= 3);
  } finally {
    await server.close();
  }
});

test('router: 500 with no retries left moves straight to the second model', TIMEOUT, async () => {
  const { server, router, waits } = await setup({ maxRetries: 0 });
  try {
    server.script({ status: 500 }, { text: 'second' });
    const events = await collect(router.stream(['local/small', 'local/other'], userTurn()));
    assert.equal(textOf(events), 'second');
    assert.equal(finishOf(events).modelRef, 'local/other');
    assert.deepEqual(waits, []);
    assert.deepEqual(modelsRequested(server), ['small', 'other']);
  } finally {
    await server.close();
  }
});

test('router: 401 is PROVIDER_AUTH without any retry', TIMEOUT, async () => {
  const { server, router, waits } = await setup({ maxRetries: 3 });
  try {
    server.script({ status: 401 });
    const finish = finishOf(await collect(router.stream(['local/small'], userTurn())));
    assert.equal(finish.reason, 'error');
    assert.equal(finish.error?.code, 'PROVIDER_AUTH');
    assert.equal(finish.modelRef, 'local/small');
    assert.equal(server.requests.length, 1);
    assert.deepEqual(waits, []);
  } finally {
    await server.close();
  }
});

test('router: non-retryable errors still move on to a fallback; the final error lists every attempt', TIMEOUT, async () => {
  const { server, router } = await setup();
  try {
    server.script({ status: 401 }, { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long' } } });
    const finish = finishOf(await collect(router.stream(['local/small', 'claude/c'], userTurn())));
    assert.equal(finish.error?.code, 'CONTEXT_OVERFLOW');
    assert.equal(finish.modelRef, 'claude/c');
    assert.match(finish.error?.message ?? '', /local\/small, claude\/c/);
    const attempts = finish.error?.details?.attempts;
    assert.ok(Array.isArray(attempts) && attempts.length === 2);
  } finally {
    await server.close();
  }
});

test('router: a failure after text was streamed is final (no retry that would repeat text)', TIMEOUT, async () => {
  const { server, router, waits } = await setup();
  try {
    server.script({ stall: true, afterText: 'partial' });
    const events = await collect(router.stream(['local/small', 'claude/c'], { ...userTurn(), idleTimeoutMs: 150 }));
    assert.equal(textOf(events), 'partial');
    const finish = finishOf(events);
    assert.equal(finish.error?.code, 'PROVIDER_TIMEOUT');
    assert.equal(finish.modelRef, 'local/small');
    assert.equal(server.requests.length, 1);
    assert.deepEqual(waits, []);
  } finally {
    await server.close();
  }
});

test('router: a retry-after longer than 30 s skips to the fallback instead of waiting', TIMEOUT, async () => {
  const { server, router, waits } = await setup();
  try {
    server.script({ status: 429, retryAfterSeconds: 120 });
    const events = await collect(router.stream(['local/small', 'claude/c'], userTurn()));
    assert.equal(textOf(events), 'echo: hi');
    assert.equal(finishOf(events).modelRef, 'claude/c');
    assert.deepEqual(waits, []);
  } finally {
    await server.close();
  }
});

test('router: unknown providers and malformed refs are NO_MODEL with a fix', TIMEOUT, async () => {
  const router = createModelRouter({ providers: { gem: providerSchema().parse({ api: 'google-gemini' }), local: providerSchema().parse({ api: 'openai-chat' }) } });
  const signal = new AbortController().signal;
  const unknown = finishOf(await collect(router.stream(['nope/model-x'], { messages: [], signal })));
  assert.equal(unknown.error?.code, 'NO_MODEL');
  assert.match(unknown.error?.message ?? '', /'nope\/model-x'/);
  assert.match(unknown.error?.message ?? '', /models\.providers\.nope/);
  const malformed = finishOf(await collect(router.stream(['justamodel'], { messages: [], signal })));
  assert.equal(malformed.error?.code, 'NO_MODEL');
  assert.match(malformed.error?.message ?? '', /provider\/model/);
  const none = finishOf(await collect(router.stream([], { messages: [], signal })));
  assert.equal(none.error?.code, 'NO_MODEL');
  assert.equal(router.has('local/anything:1b'), true);
  assert.equal(router.has('nope/x'), false);
  assert.equal(router.has('local'), false);
  router.close();
  assert.equal(finishOf(await collect(router.stream(['local/x'], { messages: [], signal }))).error?.code, 'SHUTTING_DOWN');
});

test('router: list() names every configured model', async () => {
  const { server, router } = await setup();
  assert.deepEqual(router.list(), ['local/small', 'local/org/big:7b']);
  await server.close();
});

test('router: abort during a retry wait stops at once with reason aborted', TIMEOUT, async () => {
  const server = await startFakeModelServer();
  try {
    const router = createModelRouter({ providers: { local: providerSchema().parse({ api: 'openai-chat', baseUrl: server.openaiBaseUrl }) } });
    server.script({ status: 429, retryAfterSeconds: 20 });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const finish = finishOf(await collect(router.stream(['local/small', 'local/other'], userTurn(controller.signal))));
    assert.equal(finish.reason, 'aborted');
    assert.ok(Date.now() - started < 2000, 'the real sleep ended on abort');
    assert.equal(server.requests.length, 1, 'no fallback after abort');
  } finally {
    await server.close();
  }
});

test('router: abort mid-stream finishes aborted on both APIs', TIMEOUT, async () => {
  const { server, router } = await setup();
  try {
    for (const ref of ['local/small', 'claude/c']) {
      server.script({ text: 'tick tock tick tock tick tock', chunkSize: 2, delayMs: 40 });
      const controller = new AbortController();
      const events: RoutedModelEvent[] = [];
      for await (const event of router.stream([ref, 'local/fallback'], userTurn(controller.signal))) {
        events.push(event);
        if (event.type === 'text-delta') controller.abort();
      }
      const finish = finishOf(events);
      assert.equal(finish.reason, 'aborted');
      assert.equal(finish.modelRef, ref);
    }
    assert.equal(server.requests.length, 2);
  } finally {
    await server.close();
  }
});

test('router: an adapter that throws is treated as a failed attempt', TIMEOUT, async () => {
  const broken: ModelProvider = {
    id: 'x',
    api: 'openai-chat',
    stream() {
      throw Object.assign(new Error('boom'), { status: 500 });
    },
  };
  const router = createModelRouter({
    providers: { x: providerSchema().parse({ api: 'openai-chat', maxRetries: 1 }) },
    createProvider: () => broken,
    sleep: async () => {},
  });
  const finish = finishOf(await collect(router.stream(['x/m'], userTurn())));
  assert.equal(finish.error?.code, 'PROVIDER_ERROR');
  assert.equal(finish.modelRef, 'x/m');
});

test('router: a provider that does not read packed history gets it as messages before the new ones', TIMEOUT, async () => {
  const seen: ModelRequest[] = [];
  const recorder: ModelProvider = {
    id: 'x',
    api: 'anthropic-messages',
    async *stream(request) {
      seen.push(request);
      yield { type: 'finish', reason: 'stop' };
    },
  };
  const router = createModelRouter({ providers: { x: providerSchema().parse({ api: 'anthropic-messages' }) }, createProvider: () => recorder });
  const history = packMessages([
    { role: 'user', content: 'before' },
    { role: 'assistant', content: 'earlier reply' },
  ]);
  const finish = finishOf(await collect(router.stream(['x/m'], { ...userTurn(), history })));
  assert.equal(finish.reason, 'stop');
  assert.equal(seen[0]?.history, undefined);
  assert.deepEqual(seen[0]?.messages, [
    { role: 'user', content: 'before' },
    { role: 'assistant', content: 'earlier reply' },
    { role: 'user', content: 'hi' },
  ]);
  router.close();
});
