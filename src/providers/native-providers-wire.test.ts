import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFakeModelServer } from '../../test/support/fake-model-server.js';
import { providerSchema } from '../config/schema.js';
import type { ModelEvent } from '../contracts/model-provider.js';
import { createGeminiDecoder, createGoogleGeminiProvider, toGeminiContents, toGeminiSchema } from './google-gemini-provider.js';
import { createOllamaProvider, ollamaRoot } from './ollama-provider.js';
import { ProviderHttpError } from './sse-post.js';
import { createOpenAIResponsesProvider, toResponsesInput } from './openai-responses-provider.js';

const TIMEOUT = { timeout: 10_000 };

async function collect(events: AsyncIterable<ModelEvent>): Promise<ModelEvent[]> {
  const out: ModelEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

test('responses: transcript as input items (messages, function_call, function_call_output)', () => {
  assert.deepEqual(
    toResponsesInput([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'looking', toolCalls: [{ id: 'c1', name: 'f', arguments: '' }] },
      { role: 'tool', toolCallId: 'c1', name: 'f', content: 'done' },
    ]),
    [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'looking' },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: 'done' },
    ],
  );
});

test('responses: POST {baseUrl}/responses with bearer key, instructions, flat function tools, store false', TIMEOUT, async () => {
  const server = await startFakeModelServer();
  try {
    const provider = createOpenAIResponsesProvider('o', providerSchema().parse({ api: 'openai-responses', baseUrl: `${server.openaiBaseUrl}/`, apiKey: 'sk-abcdefgh12345' }));
    await collect(provider.stream({ model: 'gpt-x', system: 'sys', messages: [{ role: 'user', content: 'q' }], tools: [{ name: 't', description: 'd', parameters: { type: 'object' } }], maxTokens: 99, signal: new AbortController().signal }));
    const recorded = server.requests[0];
    assert.equal(recorded?.path, '/v1/responses');
    assert.equal(recorded?.headers.authorization, 'Bearer sk-abcdefgh12345');
    const body = recorded?.body as Record<string, unknown>;
    assert.equal(body.instructions, 'sys');
    assert.equal(body.max_output_tokens, 99);
    assert.equal(body.store, false);
    assert.equal(body.stream, true);
    assert.deepEqual(body.tools, [{ type: 'function', name: 't', description: 'd', parameters: { type: 'object' }, strict: false }]);
    provider.close?.();
  } finally {
    await server.close();
  }
});

test('gemini: schemas cut to the accepted subset, nullable types, nested items', () => {
  assert.deepEqual(
    toGeminiSchema({
      $schema: 'x',
      type: 'object',
      additionalProperties: false,
      properties: { a: { type: ['string', 'null'], description: 'A' }, list: { type: 'array', items: { type: 'integer', examples: [1] } } },
      required: ['a'],
    }),
    { type: 'object', properties: { a: { type: 'string', nullable: true, description: 'A' }, list: { type: 'array', items: { type: 'integer' } } }, required: ['a'] },
  );
});

test('gemini: tool results share one user turn and a call id carries its thought signature back', () => {
  const contents = toGeminiContents([
    { role: 'user', content: 'go' },
    { role: 'assistant', content: '', toolCalls: [{ id: 'a~sig~SIG1', name: 'f', arguments: '{"x":1}' }, { id: 'b', name: 'g', arguments: '{}' }] },
    { role: 'tool', toolCallId: 'a~sig~SIG1', name: 'f', content: '{"ok":true}' },
    { role: 'tool', toolCallId: 'b', name: 'g', content: 'plain', isError: true },
  ]);
  assert.deepEqual(contents, [
    { role: 'user', parts: [{ text: 'go' }] },
    { role: 'model', parts: [{ functionCall: { name: 'f', args: { x: 1 } }, thoughtSignature: 'SIG1' }, { functionCall: { name: 'g', args: {} } }] },
    { role: 'user', parts: [{ functionResponse: { name: 'f', response: { ok: true } } }, { functionResponse: { name: 'g', response: { error: 'plain' } } }] },
  ]);
});

test('gemini: x-goog-api-key, the model in the path (streamGenerateContent), systemInstruction and maxOutputTokens', TIMEOUT, async () => {
  const server = await startFakeModelServer();
  try {
    server.script({ toolCalls: [{ name: 'f', arguments: { x: 1 } }] });
    const provider = createGoogleGeminiProvider('g', providerSchema().parse({ api: 'google-gemini', baseUrl: server.geminiBaseUrl, apiKey: 'AIzaSecretKey123' }));
    const events = await collect(provider.stream({ model: 'models/gemini-2.5-flash', system: 'sys', messages: [{ role: 'user', content: 'q' }], maxTokens: 7, signal: new AbortController().signal }));
    const call = events.find((event) => event.type === 'tool-call');
    assert.ok(call && call.type === 'tool-call' && call.id.includes('~sig~'), 'the signature rides on the id');
    const recorded = server.requests[0];
    assert.equal(recorded?.path, '/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    assert.equal(recorded?.headers['x-goog-api-key'], 'AIzaSecretKey123');
    assert.equal(recorded?.headers.authorization, undefined);
    const body = recorded?.body as Record<string, unknown>;
    assert.deepEqual(body.systemInstruction, { parts: [{ text: 'sys' }] });
    assert.deepEqual(body.generationConfig, { maxOutputTokens: 7 });
    provider.close?.();
  } finally {
    await server.close();
  }
});

test('ollama: a base URL with /v1 still reaches the native /api/chat; num_predict; tool_name on results', TIMEOUT, async () => {
  assert.equal(ollamaRoot('http://h:11434/v1/'), 'http://h:11434');
  assert.equal(ollamaRoot(undefined), 'http://127.0.0.1:11434');
  const server = await startFakeModelServer();
  try {
    const provider = createOllamaProvider('l', providerSchema().parse({ api: 'ollama', baseUrl: `${server.url}/v1` }));
    const events = await collect(
      provider.stream({
        model: 'qwen3:8b',
        system: 'sys',
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: '', toolCalls: [{ id: 'c', name: 'f', arguments: '{"x":1}' }] },
          { role: 'tool', toolCallId: 'c', name: 'f', content: 'r' },
        ],
        maxTokens: 5,
        signal: new AbortController().signal,
      }),
    );
    assert.equal(events.at(-1)?.type, 'finish');
    const recorded = server.requests[0];
    assert.equal(recorded?.path, '/api/chat');
    assert.equal(recorded?.headers.authorization, undefined, 'no key, no header');
    const body = recorded?.body as { messages: unknown[]; options: unknown; stream: boolean };
    assert.deepEqual(body.options, { num_predict: 5 });
    assert.equal(body.stream, true);
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'q' },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: { x: 1 } } }] },
      { role: 'tool', content: 'r', tool_name: 'f' },
    ]);
    provider.close?.();
  } finally {
    await server.close();
  }
});

test('gemini: a reply blocked before any text is a refusal, an empty STOP is a plain answer', () => {
  const blocked = createGeminiDecoder('g');
  assert.throws(
    () => blocked.push(JSON.stringify({ candidates: [{ content: { parts: [] }, finishReason: 'SAFETY' }] })),
    (error: unknown) => error instanceof ProviderHttpError && error.status === 400 && /finishReason SAFETY/.test(JSON.stringify(error.error)),
  );
  const empty = createGeminiDecoder('g');
  assert.equal(empty.push(JSON.stringify({ candidates: [{ content: { parts: [{ text: '' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 0 } })), undefined);
  const ended = empty.end();
  assert.ok(typeof ended !== 'string' && ended.reason === 'stop' && ended.usage?.inputTokens === 3);
});
