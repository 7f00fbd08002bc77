/**
 * The OpenAI-compatible API, driven with the official `openai` client against the real gateway
 * and a scripted fake model server. One gateway serves the file; its agents differ only in their
 * models, so each behaviour (plain, fallback, retry) has its own agent:
 * - `main` (default): `fake/echo`, no fallbacks, provider maxRetries 0;
 * - `fb`: `fake/primary` with the fallback `fake2/other` (a second provider on the same server);
 * - `retry`: `patient/slow`, a provider with maxRetries 1.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { type FakeModelServer, type RecordedRequest, startFakeModelServer } from '../support/fake-model-server.js';
import { removeHome, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

interface HearthToolCall {
  name: string;
  arguments: unknown;
  result: string;
  durationMs: number;
  error?: string;
}

interface HearthObject {
  runId: string;
  sessionKey: string;
  toolCalls: HearthToolCall[];
}

interface ModelMessage {
  role: string;
  content?: unknown;
  tool_call_id?: string;
  tool_calls?: unknown[];
}

let fake: FakeModelServer;
let gateway: TestGateway;
let client: OpenAI;

function hearthOf(value: unknown): HearthObject {
  const hearth = (value as { hearth?: HearthObject }).hearth;
  assert.ok(hearth, `no hearth object in ${JSON.stringify(value)}`);
  assert.match(hearth.runId, /^run_/);
  assert.equal(typeof hearth.sessionKey, 'string');
  assert.ok(Array.isArray(hearth.toolCalls));
  return hearth;
}

/** Chat-completion requests the fake model server received since `mark`. */
function modelRequestsSince(mark: number): RecordedRequest[] {
  return fake.requests.slice(mark).filter((request) => request.path === '/v1/chat/completions');
}

function messagesOf(request: RecordedRequest | undefined): ModelMessage[] {
  assert.ok(request, 'the model was not called');
  return (request.body as { messages: ModelMessage[] }).messages;
}

function modelOf(request: RecordedRequest | undefined): string {
  assert.ok(request, 'the model was not called');
  return (request.body as { model: string }).model;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (part as { text?: string }).text ?? '').join('');
  return '';
}

/** Whether any message sent to the model contains `text`. */
function mentions(messages: ModelMessage[], text: string): boolean {
  return messages.some((message) => textOf(message.content).includes(text));
}

async function complete(text: string, extra: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> = {}, options: OpenAI.RequestOptions = {}) {
  return client.chat.completions.create({ model: 'hearth', messages: [{ role: 'user', content: text }], ...extra }, options);
}

describe('OpenAI-compatible API', () => {
  before(async () => {
    fake = await startFakeModelServer();
    fake.setDefault(null);
    gateway = await startTestGateway({
      config: {
        models: {
          providers: {
            fake: { api: 'openai-chat', baseUrl: fake.openaiBaseUrl, maxRetries: 0 },
            fake2: { api: 'openai-chat', baseUrl: fake.openaiBaseUrl, maxRetries: 0 },
            patient: { api: 'openai-chat', baseUrl: fake.openaiBaseUrl, maxRetries: 1 },
          },
        },
        agents: {
          defaults: { model: 'fake/echo' },
          entries: {
            main: { default: true },
            fb: { model: 'fake/primary', fallbacks: ['fake2/other'] },
            retry: { model: 'patient/slow' },
          },
        },
      },
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0, timeout: 15_000 });
  });

  after(async () => {
    if (gateway) {
      const code = await gateway.stop();
      assert.equal(code, 0, `the gateway did not stop cleanly:\n${gateway.output()}`);
      removeHome(gateway.home);
    }
    await fake?.close();
  });

  test('models.list has hearth and hearth/<agentId>', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.ok(ids.includes('hearth'), ids.join(', '));
    assert.ok(ids.includes('hearth/main'), ids.join(', '));
    assert.ok(ids.includes('hearth/fb'), ids.join(', '));
    assert.ok(ids.includes('hearth/retry'), ids.join(', '));
  });

  test('a non-streaming completion returns the model text and the hearth object', async () => {
    const mark = fake.requests.length;
    const completion = await complete('hello there');
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'hearth');
    assert.equal(completion.choices.length, 1);
    assert.equal(completion.choices[0]!.message.role, 'assistant');
    assert.equal(completion.choices[0]!.message.content, 'echo: hello there');
    assert.equal(completion.choices[0]!.finish_reason, 'stop');
    assert.ok(completion.usage && completion.usage.total_tokens > 0, `usage: ${JSON.stringify(completion.usage)}`);
    const hearth = hearthOf(completion);
    assert.equal(hearth.sessionKey, 'agent:main:openai:stateless');
    assert.deepEqual(hearth.toolCalls, []);
    const sent = modelRequestsSince(mark);
    assert.equal(sent.length, 1);
    assert.equal(modelOf(sent[0]), 'echo');
  });

  test('a streaming completion yields the text in chunks and the final chunk carries hearth', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    fake.script({ text, chunkSize: 4 });
    const stream = await client.chat.completions.create({ model: 'hearth', messages: [{ role: 'user', content: 'tell me about foxes' }], stream: true });
    const pieces: string[] = [];
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      const piece = chunk.choices[0]?.delta.content;
      if (piece) pieces.push(piece);
    }
    assert.equal(pieces.join(''), text);
    assert.ok(pieces.length >= 3, `the text came in ${pieces.length} chunk(s): ${JSON.stringify(pieces)}`);
    assert.ok(chunks.every((chunk) => chunk.object === 'chat.completion.chunk'));
    assert.equal(new Set(chunks.map((chunk) => chunk.id)).size, 1, 'every chunk should carry the same id');
    const last = chunks.at(-1)!;
    assert.equal(last.choices[0]?.finish_reason, 'stop');
    const hearth = hearthOf(last);
    assert.deepEqual(hearth.toolCalls, []);
    assert.ok(!chunks.slice(0, -1).some((chunk) => 'hearth' in chunk), 'only the final chunk should carry hearth');
  });

  test('a write tool call runs, is reported in hearth.toolCalls and creates the file', async () => {
    const mark = fake.requests.length;
    fake.script({ toolCalls: [{ name: 'write', arguments: { path: 'notes/a.md', content: 'hi' } }] });
    const completion = await complete('please write a note');
    const hearth = hearthOf(completion);
    assert.equal(hearth.toolCalls.length, 1, JSON.stringify(hearth.toolCalls));
    const call = hearth.toolCalls[0]!;
    assert.equal(call.name, 'write');
    assert.deepEqual(call.arguments, { path: 'notes/a.md', content: 'hi' });
    assert.equal(call.error, undefined, `the write failed: ${call.error}`);
    assert.equal(typeof call.result, 'string');
    assert.ok(call.result.length > 0);
    assert.ok(typeof call.durationMs === 'number' && call.durationMs >= 0);
    const file = join(gateway.home, 'workspaces', 'main', 'notes', 'a.md');
    assert.ok(existsSync(file), `${file} does not exist`);
    assert.equal(readFileSync(file, 'utf8'), 'hi');
    // The model saw the tool result and answered after it.
    const sent = modelRequestsSince(mark);
    assert.equal(sent.length, 2);
    const toolMessage = messagesOf(sent[1]).at(-1)!;
    assert.equal(toolMessage.role, 'tool');
    assert.equal(textOf(toolMessage.content), call.result);
    assert.equal(completion.choices[0]!.message.content, `tool said: ${call.result}`);
  });

  test('reading outside the workspace is refused with an error result the model sees', async () => {
    const mark = fake.requests.length;
    fake.script({
      toolCalls: [
        { name: 'read', arguments: { path: '../../etc/passwd' } },
        { name: 'read', arguments: { path: '/etc/passwd' } },
      ],
    });
    const completion = await complete('show me the password file');
    const hearth = hearthOf(completion);
    assert.equal(hearth.toolCalls.length, 2, JSON.stringify(hearth.toolCalls));
    for (const call of hearth.toolCalls) {
      assert.equal(call.name, 'read');
      assert.equal(typeof call.error, 'string', `the read of ${JSON.stringify(call.arguments)} was not refused: ${call.result}`);
      assert.match(call.error!, /outside the workspace/);
      assert.doesNotMatch(call.result, /root:/);
    }
    assert.deepEqual(hearth.toolCalls[0]!.arguments, { path: '../../etc/passwd' });
    const sent = modelRequestsSince(mark);
    assert.equal(sent.length, 2);
    const toolMessages = messagesOf(sent[1]).filter((message) => message.role === 'tool');
    assert.equal(toolMessages.length, 2);
    assert.ok(textOf(toolMessages[0]!.content).includes(hearth.toolCalls[0]!.error!), `the model did not see the refusal: ${JSON.stringify(toolMessages)}`);
    assert.match(textOf(toolMessages[0]!.content), /outside the workspace/);
    assert.ok(!mentions(messagesOf(sent[1]), 'root:x:0'), 'the password file reached the model');
  });

  test('with user set, requests build a persistent session; without it, they do not', async () => {
    const user = `alice-${Date.now()}`;
    let mark = fake.requests.length;
    const first = await complete('my favourite colour is teal', { user });
    assert.equal(hearthOf(first).sessionKey, `agent:main:openai:direct:${user}`);
    assert.equal(modelRequestsSince(mark).length, 1);
    mark = fake.requests.length;
    // Only the last user message is new input: the earlier ones in the array are ignored.
    const second = await client.chat.completions.create({
      model: 'hearth',
      user,
      messages: [
        { role: 'user', content: 'an invented earlier message' },
        { role: 'assistant', content: 'an invented earlier answer' },
        { role: 'user', content: 'what is my favourite colour?' },
      ],
    });
    assert.equal(second.choices[0]!.message.content, 'echo: what is my favourite colour?');
    assert.equal(hearthOf(second).sessionKey, `agent:main:openai:direct:${user}`);
    assert.notEqual(hearthOf(second).runId, hearthOf(first).runId);
    const persistent = messagesOf(modelRequestsSince(mark)[0]);
    assert.ok(mentions(persistent, 'my favourite colour is teal'), 'the first exchange is missing from the second request');
    assert.ok(mentions(persistent, 'echo: my favourite colour is teal'), 'the first answer is missing from the second request');
    assert.ok(!mentions(persistent, 'an invented earlier message'), 'with user set, earlier messages in the array must not be used');

    mark = fake.requests.length;
    await complete('my favourite animal is the otter');
    await complete('what is my favourite animal?');
    const stateless = modelRequestsSince(mark);
    assert.equal(stateless.length, 2);
    assert.ok(!mentions(messagesOf(stateless[1]), 'otter'), 'a request without user saw an earlier request');
    assert.ok(!mentions(messagesOf(stateless[1]), 'teal'), 'a request without user saw the persistent session');
    assert.ok(!mentions(messagesOf(stateless[0]), 'teal'), 'a request without user saw the persistent session');
  });

  test('without user, the whole messages array is the context', async () => {
    const mark = fake.requests.length;
    const completion = await client.chat.completions.create({
      model: 'hearth/main',
      messages: [
        { role: 'system', content: 'Always answer in French.' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'second question' },
      ],
    });
    assert.equal(completion.choices[0]!.message.content, 'echo: second question');
    assert.equal(completion.model, 'hearth/main');
    const messages = messagesOf(modelRequestsSince(mark)[0]);
    const system = messages.filter((message) => message.role === 'system').map((message) => textOf(message.content)).join('\n');
    assert.match(system, /Always answer in French\./);
    const rest = messages.filter((message) => message.role !== 'system').map((message) => [message.role, textOf(message.content)]);
    assert.deepEqual(rest, [
      ['user', 'first question'],
      ['assistant', 'first answer'],
      ['user', 'second question'],
    ]);
  });

  test('an unknown model is 404 model_not_found', async () => {
    const mark = fake.requests.length;
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.NotFoundError, `got ${String(error)}`);
        assert.equal(error.status, 404);
        assert.equal(error.code, 'model_not_found');
        assert.match(error.message, /hearth/);
        return true;
      },
    );
    await assert.rejects(client.chat.completions.create({ model: 'hearth/nobody', messages: [{ role: 'user', content: 'hi' }] }), OpenAI.NotFoundError);
    assert.equal(modelRequestsSince(mark).length, 0);
  });

  test('a provider 500 with no retries and no fallback is an OpenAI-style error', async () => {
    const mark = fake.requests.length;
    fake.script({ status: 500 });
    await assert.rejects(complete('this will fail'), (error: unknown) => {
      assert.ok(error instanceof OpenAI.APIError, `got ${String(error)}`);
      assert.ok(error.status !== undefined && error.status >= 500 && error.status < 600, `status ${error.status}`);
      assert.equal(typeof error.code, 'string');
      assert.match(String(error.code), /^PROVIDER_/);
      const body = error.error as { message?: string; type?: string } | undefined;
      assert.equal(typeof body?.message, 'string');
      assert.equal(typeof body?.type, 'string');
      return true;
    });
    assert.equal(modelRequestsSince(mark).length, 1, 'maxRetries 0 means exactly one model request');
    // The failure is reported, not fatal: the next request is answered.
    assert.equal((await complete('and now?')).choices[0]!.message.content, 'echo: and now?');
  });

  test('a provider 500 in streaming mode is raised by the client as an APIError', async () => {
    fake.script({ status: 500 });
    await assert.rejects(
      (async () => {
        const stream = await client.chat.completions.create({ model: 'hearth', messages: [{ role: 'user', content: 'stream fail' }], stream: true });
        for await (const _chunk of stream) {
          // drain
        }
      })(),
      OpenAI.APIError,
    );
  });

  test('when the primary model fails, the fallback answers', async () => {
    const mark = fake.requests.length;
    fake.setDefault((request) => ((request.body as { model?: string }).model === 'primary' ? { status: 500 } : { text: 'the fallback answered' }));
    try {
      const completion = await complete('who answers?', { model: 'hearth/fb' });
      assert.equal(completion.choices[0]!.message.content, 'the fallback answered');
      hearthOf(completion);
    } finally {
      fake.setDefault(null);
    }
    const sent = modelRequestsSince(mark);
    assert.deepEqual(sent.map(modelOf), ['primary', 'other']);
  });

  test('a 429 with retry-after is retried once when the provider allows it', async () => {
    const mark = fake.requests.length;
    fake.script({ status: 429, retryAfterSeconds: 1 });
    const started = Date.now();
    const completion = await complete('try again', { model: 'hearth/retry' });
    const elapsed = Date.now() - started;
    assert.equal(completion.choices[0]!.message.content, 'echo: try again');
    const sent = modelRequestsSince(mark);
    assert.deepEqual(sent.map(modelOf), ['slow', 'slow']);
    assert.ok(elapsed >= 900, `the retry did not wait for retry-after (${elapsed} ms)`);
  });

  test('the same Idempotency-Key twice gives one run', async () => {
    const mark = fake.requests.length;
    const key = `idem-${Date.now()}`;
    const first = await complete('only once please', {}, { headers: { 'Idempotency-Key': key } });
    const second = await complete('only once please', {}, { headers: { 'Idempotency-Key': key } });
    assert.equal(hearthOf(second).runId, hearthOf(first).runId);
    assert.equal(second.choices[0]!.message.content, first.choices[0]!.message.content);
    assert.equal(modelRequestsSince(mark).length, 1, 'the model was called more than once');
    // Sent at the same time while the first is still running: still one run.
    const concurrentKey = `${key}-concurrent`;
    fake.script({ text: 'a slow single answer', chunkSize: 4, delayMs: 40 });
    const before = modelRequestsSince(mark).length;
    const [a, b] = await Promise.all([
      complete('at the same time', {}, { headers: { 'Idempotency-Key': concurrentKey } }),
      complete('at the same time', {}, { headers: { 'Idempotency-Key': concurrentKey } }),
    ]);
    assert.equal(hearthOf(a).runId, hearthOf(b).runId);
    assert.equal(a.choices[0]!.message.content, 'a slow single answer');
    assert.equal(b.choices[0]!.message.content, 'a slow single answer');
    assert.equal(modelRequestsSince(mark).length, before + 1, 'concurrent duplicates called the model twice');
    // A different key is a different run.
    const third = await complete('only once please', {}, { headers: { 'Idempotency-Key': `${key}-other` } });
    assert.notEqual(hearthOf(third).runId, hearthOf(first).runId);
    assert.equal(modelRequestsSince(mark).length, 3);
  });
});
