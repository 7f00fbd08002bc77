/**
 * One behavioural contract every provider adapter must meet, run against the fake model server
 * speaking that adapter's wire format: a streamed reply with usage, a tool call round trip with
 * streamed (or whole) arguments, each error class mapped to its code, stalls, garbage and aborts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ProviderConfig, providerSchema } from '../../src/config/schema.js';
import type { ChatMessage } from '../../src/contracts/messages.js';
import type { ModelEvent, ModelProvider, ModelRequest, ToolSpec } from '../../src/contracts/model-provider.js';
import { defaultProviderFactory } from '../../src/providers/model-router.js';
import { type FakeModelServer, startFakeModelServer } from './fake-model-server.js';
import { contextOverflowError, type FakeApi, geminiBadKeyBody } from './fake-model-wire.js';

export type ProviderKind = ProviderConfig['api'];

/** The fake server's dialect of each provider kind. */
export const FAKE_API_OF: Record<ProviderKind, FakeApi> = {
  'openai-chat': 'openai',
  'openai-responses': 'openai-responses',
  'anthropic-messages': 'anthropic',
  'google-gemini': 'gemini',
  ollama: 'ollama',
};

export const PROVIDER_KINDS: readonly ProviderKind[] = ['openai-chat', 'openai-responses', 'anthropic-messages', 'google-gemini', 'ollama'];

/** The base URL of the fake server for a provider kind. */
export function fakeBaseUrl(server: FakeModelServer, kind: ProviderKind): string {
  switch (kind) {
    case 'anthropic-messages':
      return server.anthropicBaseUrl;
    case 'google-gemini':
      return server.geminiBaseUrl;
    case 'ollama':
      return server.ollamaBaseUrl;
    default:
      return server.openaiBaseUrl;
  }
}

const TIMEOUT = { timeout: 15_000 };
const KEY = 'sk-contract-secret-key-789';
const WEATHER: ToolSpec = {
  name: 'weather',
  description: 'The forecast for a city.',
  parameters: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'], additionalProperties: false },
};

async function collect(events: AsyncIterable<ModelEvent>): Promise<ModelEvent[]> {
  const out: ModelEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

function textOf(events: ModelEvent[]): string {
  return events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('');
}

function finishOf(events: ModelEvent[]): Extract<ModelEvent, { type: 'finish' }> {
  const last = events[events.length - 1];
  assert.ok(last && last.type === 'finish', 'the stream ends with a finish event');
  assert.equal(events.filter((event) => event.type === 'finish').length, 1, 'exactly one finish event');
  return last;
}

function request(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return { model: 'fake-model', messages: [{ role: 'user', content: 'hello' }], signal: new AbortController().signal, ...overrides };
}

async function withProvider(kind: ProviderKind, run: (server: FakeModelServer, provider: ModelProvider) => Promise<void>, extra: Partial<ProviderConfig> = {}): Promise<void> {
  const server = await startFakeModelServer();
  const provider = defaultProviderFactory('p', providerSchema().parse({ api: kind, baseUrl: fakeBaseUrl(server, kind), apiKey: KEY, ...extra }), {});
  try {
    await run(server, provider);
  } finally {
    provider.close?.();
    await server.close();
  }
}

/** Registers the contract's tests for one provider kind. */
export function providerContract(kind: ProviderKind): void {
  const api = FAKE_API_OF[kind];

  test(`${kind}: streams a reply in several deltas, ends with stop and reports usage`, TIMEOUT, () =>
    withProvider(kind, async (server, provider) => {
      server.script({ text: 'Hello there, friend!', chunkSize: 4 });
      const events = await collect(provider.stream(request({ system: 'Be brief.', maxTokens: 64 })));
      assert.equal(textOf(events), 'Hello there, friend!');
      assert.ok(events.filter((event) => event.type === 'text-delta').length >= 2, 'the text arrives in pieces');
      const finish = finishOf(events);
      assert.equal(finish.reason, 'stop');
      assert.ok(finish.usage && finish.usage.inputTokens > 0 && finish.usage.outputTokens > 0, `usage reported: ${JSON.stringify(finish.usage)}`);
      const recorded = server.requests.at(-1);
      assert.equal(recorded?.api, api, 'the adapter spoke its own wire format');
      assert.ok(!JSON.stringify(recorded?.body).includes(KEY), 'the key is not in the body');
      assert.ok(JSON.stringify(recorded?.body).includes('Be brief.'), 'the system prompt is sent');
      assert.ok(JSON.stringify(recorded?.body).includes('64'), 'the output cap is sent');
    }),
  );

  test(`${kind}: a tool call round trip (call with arguments, then the result answered)`, TIMEOUT, () =>
    withProvider(kind, async (server, provider) => {
      server.script({ toolCalls: [{ name: 'weather', arguments: { city: 'Oslo', days: 3 } }], text: 'Let me look.' });
      const first = await collect(provider.stream(request({ messages: [{ role: 'user', content: 'Weather in Oslo?' }], tools: [WEATHER] })));
      const calls = first.filter((event) => event.type === 'tool-call');
      assert.equal(calls.length, 1);
      const call = calls[0] as Extract<ModelEvent, { type: 'tool-call' }>;
      assert.equal(call.name, 'weather');
      assert.deepEqual(JSON.parse(call.arguments), { city: 'Oslo', days: 3 });
      assert.ok(call.id.length > 0);
      assert.equal(finishOf(first).reason, 'tool-calls');
      const sentTools = JSON.stringify(server.requests.at(-1)?.body);
      assert.match(sentTools, /"weather"/);
      assert.match(sentTools, /The forecast for a city/);
      const history: ChatMessage[] = [
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: textOf(first), toolCalls: [{ id: call.id, name: call.name, arguments: call.arguments }] },
        { role: 'tool', toolCallId: call.id, name: 'weather', content: 'sunny, 21 C' },
      ];
      const second = await collect(provider.stream(request({ messages: history, tools: [WEATHER] })));
      assert.equal(textOf(second), 'tool said: sunny, 21 C');
      assert.equal(finishOf(second).reason, 'stop');
      const body = JSON.stringify(server.requests.at(-1)?.body);
      assert.match(body, /Oslo/, 'the call is sent back in the history');
    }),
  );

  const errorCases: { name: string; step: () => { status: number; retryAfterSeconds?: number; body?: unknown }; code: string; retryable: boolean; retryAfterMs?: number }[] = [
    { name: 'a refused key', step: () => ({ status: 401 }), code: 'PROVIDER_AUTH', retryable: false },
    { name: 'a rate limit with retry-after', step: () => ({ status: 429, retryAfterSeconds: 7 }), code: 'PROVIDER_RATE_LIMITED', retryable: true, retryAfterMs: 7000 },
    { name: 'an overloaded server', step: () => ({ status: kind === 'anthropic-messages' ? 529 : 503 }), code: 'PROVIDER_OVERLOADED', retryable: true },
    { name: 'a context too long', step: () => contextOverflowError(api), code: 'CONTEXT_OVERFLOW', retryable: false },
    { name: 'a bad request', step: () => ({ status: 400 }), code: 'PROVIDER_ERROR', retryable: false },
  ];
  if (kind === 'google-gemini') errorCases.push({ name: "Gemini's 400 for a wrong key", step: () => ({ status: 400, body: geminiBadKeyBody() }), code: 'PROVIDER_AUTH', retryable: false });

  for (const entry of errorCases) {
    test(`${kind}: ${entry.name} is ${entry.code}`, TIMEOUT, () =>
      withProvider(kind, async (server, provider) => {
        server.script(entry.step());
        const events = await collect(provider.stream(request()));
        const finish = finishOf(events);
        assert.equal(finish.reason, 'error');
        assert.equal(finish.error?.code, entry.code, finish.error?.message);
        assert.equal(finish.error?.retryable, entry.retryable);
        if (entry.retryAfterMs !== undefined) assert.equal(finish.error?.retryAfterMs, entry.retryAfterMs);
        assert.ok(!finish.error?.message.includes(KEY), 'the key never appears in a message');
      }),
    );
  }

  test(`${kind}: an unreadable stream is PROVIDER_BAD_RESPONSE and a stall is PROVIDER_TIMEOUT`, TIMEOUT, () =>
    withProvider(
      kind,
      async (server, provider) => {
        server.script({ malformed: true });
        const bad = finishOf(await collect(provider.stream(request())));
        assert.equal(bad.error?.code, 'PROVIDER_BAD_RESPONSE', bad.error?.message);
        server.script({ stall: true, afterText: 'partial' });
        const stalled = await collect(provider.stream(request({ idleTimeoutMs: 300 })));
        assert.equal(finishOf(stalled).error?.code, 'PROVIDER_TIMEOUT');
      },
      { timeoutMs: 5000 },
    ),
  );

  test(`${kind}: aborting mid-stream ends with reason aborted and no error`, TIMEOUT, () =>
    withProvider(kind, async (server, provider) => {
      server.script({ text: 'a slow answer that goes on and on', chunkSize: 2, delayMs: 40 });
      const controller = new AbortController();
      const events: ModelEvent[] = [];
      for await (const event of provider.stream(request({ signal: controller.signal }))) {
        events.push(event);
        if (event.type === 'text-delta') controller.abort();
      }
      const finish = finishOf(events);
      assert.equal(finish.reason, 'aborted');
      assert.equal(finish.error, undefined);
      assert.ok(textOf(events).length < 'a slow answer that goes on and on'.length);
      const already = finishOf(await collect(provider.stream(request({ signal: AbortSignal.abort() }))));
      assert.equal(already.reason, 'aborted');
    }),
  );
}
