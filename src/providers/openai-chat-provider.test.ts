import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFakeModelServer, type FakeModelServer } from '../../test/support/fake-model-server.js';
import { type ProviderConfig, providerSchema } from '../config/schema.js';
import type { ModelEvent, ModelRequest } from '../contracts/model-provider.js';
import { packMessages } from '../contracts/packed-messages.js';
import { createOpenAIChatProvider, toOpenAIMessages } from './openai-chat-provider.js';

const TIMEOUT = { timeout: 10_000 };

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

async function withServer(run: (server: FakeModelServer, config: ProviderConfig) => Promise<void>, extra: Partial<ProviderConfig> = {}): Promise<void> {
  const server = await startFakeModelServer();
  try {
    await run(server, providerSchema().parse({ api: 'openai-chat', baseUrl: server.openaiBaseUrl, apiKey: 'sk-test-secret-key-123', ...extra }));
  } finally {
    await server.close();
  }
}

function recordedBody(server: FakeModelServer, index = 0): Record<string, unknown> {
  const body = server.requests[index]?.body;
  assert.ok(typeof body === 'object' && body !== null);
  return body as Record<string, unknown>;
}

test('openai: streams a text turn in chunks and reports usage', TIMEOUT, () =>
  withServer(async (server, config) => {
    server.script({ text: 'Hello there, friend!', chunkSize: 3 });
    const provider = createOpenAIChatProvider('local', config, {});
    const events = await collect(provider.stream(request({ system: 'be brief', maxTokens: 50 })));
    assert.equal(textOf(events), 'Hello there, friend!');
    assert.equal(events.filter((event) => event.type === 'text-delta').length, 7);
    const finish = finishOf(events);
    assert.equal(finish.reason, 'stop');
    assert.ok(finish.usage && finish.usage.inputTokens > 0 && finish.usage.outputTokens > 0);
    const body = recordedBody(server);
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.equal(body.max_tokens, 50);
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hello' },
    ]);
    assert.equal(server.requests[0]?.headers.authorization, 'Bearer sk-test-secret-key-123');
  }),
);

test('openai: the default echo answers the last user message', TIMEOUT, () =>
  withServer(async (_server, config) => {
    const provider = createOpenAIChatProvider('local', config);
    const events = await collect(provider.stream(request({ messages: [{ role: 'user', content: 'ping' }] })));
    assert.equal(textOf(events), 'echo: ping');
    assert.equal(finishOf(events).reason, 'stop');
  }),
);

test('openai: assembles a tool call whose arguments arrive in fragments', TIMEOUT, () =>
  withServer(async (server, config) => {
    const args = { city: 'Paris', units: 'metric', days: [1, 2, 3] };
    server.script({ toolCalls: [{ name: 'weather', arguments: args }, { name: 'clock', arguments: {} }], text: 'Checking.' });
    const provider = createOpenAIChatProvider('local', config);
    const tools = [{ name: 'weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const events = await collect(provider.stream(request({ tools })));
    assert.equal(textOf(events), 'Checking.');
    const calls = events.filter((event) => event.type === 'tool-call');
    assert.equal(calls.length, 2);
    assert.equal(calls[0]?.name, 'weather');
    assert.deepEqual(JSON.parse(calls[0]?.arguments ?? ''), args);
    assert.equal(calls[1]?.name, 'clock');
    assert.ok(calls[0]?.id && calls[1]?.id && calls[0].id !== calls[1].id);
    assert.equal(finishOf(events).reason, 'tool-calls');
    assert.deepEqual(recordedBody(server).tools, [{ type: 'function', function: tools[0] }]);
  }),
);

test('openai: sends assistant tool calls and tool results in the wire format', TIMEOUT, () =>
  withServer(async (server, config) => {
    const provider = createOpenAIChatProvider('local', config);
    const events = await collect(
      provider.stream(
        request({
          messages: [
            { role: 'user', content: 'weather?' },
            { role: 'assistant', content: '', toolCalls: [{ id: 'call_a', name: 'weather', arguments: '{"city":"Oslo"}' }] },
            { role: 'tool', toolCallId: 'call_a', name: 'weather', content: 'sunny' },
          ],
        }),
      ),
    );
    assert.equal(textOf(events), 'tool said: sunny');
    assert.deepEqual(recordedBody(server).messages, [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_a', content: 'sunny' },
    ]);
  }),
);

test('openai: toOpenAIMessages keeps assistant text next to tool calls', () => {
  const messages = toOpenAIMessages({ messages: [{ role: 'assistant', content: 'Let me look.', toolCalls: [{ id: 'c1', name: 't', arguments: '' }] }] });
  assert.deepEqual(messages, [{ role: 'assistant', content: 'Let me look.', tool_calls: [{ id: 'c1', type: 'function', function: { name: 't', arguments: '{}' } }] }]);
});

test('openai: 401 finishes with PROVIDER_AUTH and never shows the key', TIMEOUT, () =>
  withServer(async (server, config) => {
    server.script({ status: 401, body: { error: { message: 'Incorrect API key provided: sk-test-secret-key-123', type: 'invalid_request_error', code: 'invalid_api_key' } } });
    const provider = createOpenAIChatProvider('local', config);
    const finish = finishOf(await collect(provider.stream(request())));
    assert.equal(finish.reason, 'error');
    assert.equal(finish.error?.code, 'PROVIDER_AUTH');
    assert.equal(finish.error?.retryable, false);
    assert.match(finish.error?.message ?? '', /models\.providers\.local\.apiKey/);
    assert.doesNotMatch(finish.error?.message ?? '', /sk-test-secret-key-123/);
    assert.equal(server.requests.length, 1, 'the SDK does not retry on its own');
  }),
);

test('openai: 429 carries retryAfterMs and 400 context overflow is CONTEXT_OVERFLOW', TIMEOUT, () =>
  withServer(async (server, config) => {
    server.script(
      { status: 429, retryAfterSeconds: 3 },
      { status: 400, body: { error: { message: "This model's maximum context length is 8192 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } } },
      { status: 500 },
    );
    const provider = createOpenAIChatProvider('local', config);
    const limited = finishOf(await collect(provider.stream(request())));
    assert.equal(limited.error?.code, 'PROVIDER_RATE_LIMITED');
    assert.equal(limited.error?.retryable, true);
    assert.equal(limited.error?.retryAfterMs, 3000);
    const overflow = finishOf(await collect(provider.stream(request())));
    assert.equal(overflow.error?.code, 'CONTEXT_OVERFLOW');
    const failed = finishOf(await collect(provider.stream(request())));
    assert.equal(failed.error?.code, 'PROVIDER_ERROR');
    assert.equal(failed.error?.retryable, true);
  }),
);

test('openai: a stalled stream finishes with PROVIDER_TIMEOUT within the idle timeout', TIMEOUT, () =>
  withServer(async (server, config) => {
    server.script({ stall: true }, { stall: true, afterText: 'partial' });
    const provider = createOpenAIChatProvider('local', config);
    const started = Date.now();
    const finish = finishOf(await collect(provider.stream(request({ idleTimeoutMs: 200 }))));
    assert.equal(finish.error?.code, 'PROVIDER_TIMEOUT');
    assert.equal(finish.error?.retryable, true);
    assert.ok(Date.now() - started < 2000, 'gave up promptly');
    const events = await collect(provider.stream(request({ idleTimeoutMs: 200 })));
    assert.equal(textOf(events), 'partial');
    assert.equal(finishOf(events).error?.code, 'PROVIDER_TIMEOUT');
  }),
);

test('openai: a malformed chunk finishes with PROVIDER_BAD_RESPONSE', TIMEOUT, () =>
  withServer(async (server, config) => {
    server.script({ malformed: true });
    const provider = createOpenAIChatProvider('local', config);
    const finish = finishOf(await collect(provider.stream(request())));
    assert.equal(finish.reason, 'error');
    assert.equal(finish.error?.code, 'PROVIDER_BAD_RESPONSE');
    assert.equal(finish.error?.retryable, true);
  }),
);

test('openai: abort mid-stream finishes with reason aborted', TIMEOUT, () =>
  withServer(async (server, config) => {
    server.script({ text: 'a long slow answer that never gets finished', chunkSize: 2, delayMs: 50 });
    const provider = createOpenAIChatProvider('local', config);
    const controller = new AbortController();
    const events: ModelEvent[] = [];
    const started = Date.now();
    for await (const event of provider.stream(request({ signal: controller.signal }))) {
      events.push(event);
      if (event.type === 'text-delta') controller.abort();
    }
    assert.equal(finishOf(events).reason, 'aborted');
    assert.ok(Date.now() - started < 1000);
    const again = finishOf(await collect(provider.stream(request({ signal: controller.signal }))));
    assert.equal(again.reason, 'aborted', 'an already-aborted signal finishes at once');
  }),
);

test('openai: an unreachable server is PROVIDER_NETWORK; no key sends a placeholder', TIMEOUT, async () => {
  const server = await startFakeModelServer();
  const baseUrl = server.openaiBaseUrl;
  server.script({ text: 'ok' });
  const keyless = createOpenAIChatProvider('local', providerSchema().parse({ api: 'ollama', baseUrl, headers: { 'x-extra': 'yes' } }));
  const events = await collect(keyless.stream(request()));
  assert.equal(textOf(events), 'ok');
  assert.equal(server.requests[0]?.headers.authorization, 'Bearer hearth-no-api-key');
  assert.equal(server.requests[0]?.headers['x-extra'], 'yes');
  await server.close();
  const finish = finishOf(await collect(keyless.stream(request())));
  assert.equal(finish.error?.code, 'PROVIDER_NETWORK');
  assert.equal(finish.error?.retryable, true);
  assert.match(finish.error?.message ?? '', /baseUrl/);
});

test('openai: a packed history goes before the new messages, as Chat Completions messages', TIMEOUT, () =>
  withServer(async (server, config) => {
    const provider = createOpenAIChatProvider('local', config, {});
    assert.equal(provider.readsPackedHistory, true);
    const plain = packMessages([
      { role: 'user', content: 'first "quoted"' },
      { role: 'assistant', content: 'reply' },
    ]);
    await collect(provider.stream(request({ system: 's', history: plain })));
    assert.deepEqual(recordedBody(server).messages, [
      { role: 'system', content: 's' },
      { role: 'user', content: 'first "quoted"' },
      { role: 'assistant', content: 'reply' },
      { role: 'user', content: 'hello' },
    ]);
    const mixed = packMessages([
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'weather', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'c1', name: 'weather', content: 'sunny' },
      { role: 'assistant', content: 'Sunny.' },
    ]);
    await collect(provider.stream(request({ history: mixed })));
    assert.deepEqual(recordedBody(server, 1).messages, [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'assistant', content: 'Sunny.' },
      { role: 'user', content: 'hello' },
    ]);
  }),
);
