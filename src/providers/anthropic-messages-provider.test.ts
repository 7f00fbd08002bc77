import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFakeModelServer, type FakeModelServer } from '../../test/support/fake-model-server.js';
import { type ProviderConfig, providerSchema } from '../config/schema.js';
import type { ModelEvent, ModelRequest } from '../contracts/model-provider.js';
import { createAnthropicMessagesProvider, toAnthropicMessages } from './anthropic-messages-provider.js';

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
  return { model: 'claude-test', messages: [{ role: 'user', content: 'hello' }], signal: new AbortController().signal, ...overrides };
}

async function withServer(run: (server: FakeModelServer, config: ProviderConfig) => Promise<void>): Promise<void> {
  const server = await startFakeModelServer();
  try {
    await run(server, providerSchema().parse({ api: 'anthropic-messages', baseUrl: server.anthropicBaseUrl, apiKey: 'sk-ant-test-secret-456' }));
  } finally {
    await server.close();
  }
}

function recordedBody(server: FakeModelServer, index = 0): Record<string, unknown> {
  const body = server.requests[index]?.body;
  assert.ok(typeof body === 'object' && body !== null);
  return body as Record<string, unknown>;
}

test('anthropic: streams a text turn with system prompt, default max_tokens and usage', TIMEOUT, () =>
  withServer(async (server, config) => {
    server.script({ text: 'Bonjour tout le monde', chunkSize: 4 });
    const provider = createAnthropicMessagesProvider('claude', config);
    const events = await collect(provider.stream(request({ system: 'be kind' })));
    assert.equal(textOf(events), 'Bonjour tout le monde');
    assert.equal(events.filter((event) => event.type === 'text-delta').length, 6);
    const finish = finishOf(events);
    assert.equal(finish.reason, 'stop');
    assert.ok(finish.usage && finish.usage.inputTokens > 0 && finish.usage.outputTokens > 0);
    const body = recordedBody(server);
    assert.equal(body.system, 'be kind');
    assert.equal(body.max_tokens, 4096);
    assert.equal(body.stream, true);
    assert.equal(server.requests[0]?.path, '/v1/messages');
    // SDK 1.x sends the key as a bearer token; older versions used x-api-key.
    const headers = server.requests[0]?.headers ?? {};
    assert.ok(headers.authorization === 'Bearer sk-ant-test-secret-456' || headers['x-api-key'] === 'sk-ant-test-secret-456');
  }),
);

test('anthropic: assembles tool_use input_json_delta fragments into tool calls', TIMEOUT, () =>
  withServer(async (server, config) => {
    const args = { path: 'notes/today.md', lines: [1, 20] };
    server.script({ toolCalls: [{ name: 'read_file', arguments: args }, { name: 'now', arguments: {} }], text: 'Reading.' });
    const provider = createAnthropicMessagesProvider('claude', config);
    const tools = [{ name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } }];
    const events = await collect(provider.stream(request({ tools, maxTokens: 100 })));
    assert.equal(textOf(events), 'Reading.');
    const calls = events.filter((event) => event.type === 'tool-call');
    assert.equal(calls.length, 2);
    assert.equal(calls[0]?.name, 'read_file');
    assert.deepEqual(JSON.parse(calls[0]?.arguments ?? ''), args);
    assert.equal(calls[1]?.arguments, '{}');
    assert.equal(finishOf(events).reason, 'tool-calls');
    const body = recordedBody(server);
    assert.equal(body.max_tokens, 100);
    assert.deepEqual(body.tools, [{ name: 'read_file', description: 'Read a file', input_schema: tools[0]?.parameters }]);
  }),
);

test('anthropic: consecutive tool results become one user message', TIMEOUT, () =>
  withServer(async (server, config) => {
    const provider = createAnthropicMessagesProvider('claude', config);
    const events = await collect(
      provider.stream(
        request({
          messages: [
            { role: 'user', content: 'two things' },
            {
              role: 'assistant',
              content: 'On it.',
              toolCalls: [
                { id: 'tu_1', name: 'a', arguments: '{"x":1}' },
                { id: 'tu_2', name: 'b', arguments: 'not json' },
              ],
            },
            { role: 'tool', toolCallId: 'tu_1', name: 'a', content: 'one' },
            { role: 'tool', toolCallId: 'tu_2', name: 'b', content: 'two failed', isError: true },
          ],
        }),
      ),
    );
    assert.equal(textOf(events), 'tool said: one\ntwo failed');
    assert.deepEqual(recordedBody(server).messages, [
      { role: 'user', content: [{ type: 'text', text: 'two things' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'On it.' },
          { type: 'tool_use', id: 'tu_1', name: 'a', input: { x: 1 } },
          { type: 'tool_use', id: 'tu_2', name: 'b', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'tu_1', content: 'one' },
          { type: 'tool_result', tool_use_id: 'tu_2', content: 'two failed', is_error: true },
        ],
      },
    ]);
  }),
);

test('anthropic: toAnthropicMessages puts a user message after tool results in the same turn and drops empty text', () => {
  const turns = toAnthropicMessages([
    { role: 'assistant', content: '', toolCalls: [{ id: 't', name: 'n', arguments: '{}' }] },
    { role: 'tool', toolCallId: 't', name: 'n', content: 'r' },
    { role: 'user', content: 'and now?' },
    { role: 'assistant', content: '' },
  ]);
  assert.deepEqual(turns, [
    { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'n', input: {} }] },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 't', content: 'r' },
        { type: 'text', text: 'and now?' },
      ],
    },
  ]);
});

test('anthropic: 529 is PROVIDER_OVERLOADED, 401 is PROVIDER_AUTH without the key, prompt too long is CONTEXT_OVERFLOW', TIMEOUT, () =>
  withServer(async (server, config) => {
    server.script(
      { status: 529 },
      { status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key sk-ant-test-secret-456' } } },
      { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' } } },
    );
    const provider = createAnthropicMessagesProvider('claude', config);
    const overloaded = finishOf(await collect(provider.stream(request())));
    assert.equal(overloaded.error?.code, 'PROVIDER_OVERLOADED');
    assert.equal(overloaded.error?.retryable, true);
    const auth = finishOf(await collect(provider.stream(request())));
    assert.equal(auth.error?.code, 'PROVIDER_AUTH');
    assert.match(auth.error?.message ?? '', /models\.providers\.claude\.apiKey/);
    assert.doesNotMatch(auth.error?.message ?? '', /sk-ant-test-secret-456/);
    const overflow = finishOf(await collect(provider.stream(request())));
    assert.equal(overflow.error?.code, 'CONTEXT_OVERFLOW');
    assert.equal(server.requests.length, 3, 'the SDK does not retry on its own');
  }),
);

test('anthropic: a stalled stream finishes with PROVIDER_TIMEOUT within the idle timeout', TIMEOUT, () =>
  withServer(async (server, config) => {
    server.script({ stall: true, afterText: 'half' });
    const provider = createAnthropicMessagesProvider('claude', config);
    const started = Date.now();
    const events = await collect(provider.stream(request({ idleTimeoutMs: 200 })));
    assert.equal(textOf(events), 'half');
    assert.equal(finishOf(events).error?.code, 'PROVIDER_TIMEOUT');
    assert.ok(Date.now() - started < 2000);
  }),
);

test('anthropic: a malformed event finishes with PROVIDER_BAD_RESPONSE', TIMEOUT, () =>
  withServer(async (server, config) => {
    server.script({ malformed: true });
    const provider = createAnthropicMessagesProvider('claude', config);
    const finish = finishOf(await collect(provider.stream(request())));
    assert.equal(finish.error?.code, 'PROVIDER_BAD_RESPONSE');
  }),
);

test('anthropic: abort mid-stream finishes with reason aborted', TIMEOUT, () =>
  withServer(async (server, config) => {
    server.script({ text: 'slow slow slow slow slow slow', chunkSize: 2, delayMs: 50 });
    const provider = createAnthropicMessagesProvider('claude', config);
    const controller = new AbortController();
    const events: ModelEvent[] = [];
    for await (const event of provider.stream(request({ signal: controller.signal }))) {
      events.push(event);
      if (event.type === 'text-delta') controller.abort();
    }
    assert.equal(finishOf(events).reason, 'aborted');
    assert.equal(textOf(events), 'sl');
  }),
);

test('anthropic: a base URL ending in /v1 is accepted', TIMEOUT, async () => {
  const server = await startFakeModelServer();
  try {
    const provider = createAnthropicMessagesProvider('claude', providerSchema().parse({ api: 'anthropic-messages', baseUrl: `${server.url}/v1/`, apiKey: 'k' }));
    const events = await collect(provider.stream(request({ messages: [{ role: 'user', content: 'hi' }] })));
    assert.equal(textOf(events), 'echo: hi');
    assert.equal(server.requests[0]?.path, '/v1/messages');
  } finally {
    await server.close();
  }
});
