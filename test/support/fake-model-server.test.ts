import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { startFakeModelServer } from './fake-model-server.js';

const TIMEOUT = { timeout: 10_000 };

async function post(url: string, body: unknown): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

test('fake server: non-streaming replies in both wire formats, with tool calls', TIMEOUT, async () => {
  const server = await startFakeModelServer();
  try {
    const openai = await post(`${server.openaiBaseUrl}/chat/completions`, { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'parts' }] }] });
    assert.equal(openai.status, 200);
    const completion = JSON.parse(openai.text);
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.choices[0].message.content, 'echo: parts');
    assert.equal(completion.choices[0].finish_reason, 'stop');
    assert.ok(completion.usage.prompt_tokens > 0);

    server.script({ toolCalls: [{ name: 'lookup', arguments: { q: 1 } }] });
    const anthropic = await post(`${server.anthropicBaseUrl}/v1/messages`, { model: 'c', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    const message = JSON.parse(anthropic.text);
    assert.equal(message.type, 'message');
    assert.equal(message.stop_reason, 'tool_use');
    assert.deepEqual(message.content[0].input, { q: 1 });
    assert.equal(message.content[0].name, 'lookup');
  } finally {
    await server.close();
  }
});

test('fake server: streamed OpenAI chunks include usage only when asked, then [DONE]', TIMEOUT, async () => {
  const server = await startFakeModelServer();
  try {
    server.script({ text: 'abcdef', chunkSize: 2 }, { text: 'abcdef', chunkSize: 2 });
    const withUsage = await post(`${server.openaiBaseUrl}/chat/completions`, { model: 'm', stream: true, stream_options: { include_usage: true }, messages: [] });
    assert.match(withUsage.headers.get('content-type') ?? '', /text\/event-stream/);
    const frames = withUsage.text.trim().split('\n\n');
    assert.equal(frames[frames.length - 1], 'data: [DONE]');
    assert.match(frames[frames.length - 2] ?? '', /"usage":/);
    assert.equal(frames.filter((frame) => frame.includes('"content":"')).length, 4, 'role chunk + three text chunks');
    const without = await post(`${server.openaiBaseUrl}/chat/completions`, { model: 'm', stream: true, messages: [] });
    assert.doesNotMatch(without.text, /"usage":/);
  } finally {
    await server.close();
  }
});

test('fake server: status steps, Retry-After, function steps, setDefault and /v1/models', TIMEOUT, async () => {
  const server = await startFakeModelServer({ defaultStep: { text: 'default' } });
  try {
    server.script({ status: 429, retryAfterSeconds: 7 }, (request) => ({ text: `saw ${request.api} ${request.path}` }));
    const limited = await post(`${server.anthropicBaseUrl}/v1/messages`, { model: 'c', messages: [] });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '7');
    assert.equal(JSON.parse(limited.text).error.type, 'rate_limit_error');
    const fromFunction = JSON.parse((await post(`${server.openaiBaseUrl}/chat/completions`, { model: 'm', messages: [] })).text);
    assert.equal(fromFunction.choices[0].message.content, 'saw openai /v1/chat/completions');
    const fromDefault = JSON.parse((await post(`${server.openaiBaseUrl}/chat/completions`, { model: 'm', messages: [] })).text);
    assert.equal(fromDefault.choices[0].message.content, 'default');
    server.setDefault(null);
    const echoed = JSON.parse((await post(`${server.openaiBaseUrl}/chat/completions`, { model: 'm', messages: [{ role: 'tool', tool_call_id: 'a', content: 'done' }] })).text);
    assert.equal(echoed.choices[0].message.content, 'tool said: done');
    const models = await (await fetch(`${server.openaiBaseUrl}/models`)).json();
    assert.equal(models.data[0].id, 'fake-model');
    assert.equal(server.requests.length, 5);
    assert.equal((await fetch(`${server.url}/nowhere`)).status, 404);
  } finally {
    await server.close();
  }
});

test('fake server: close() destroys stalled responses', TIMEOUT, async () => {
  const server = await startFakeModelServer();
  server.script({ stall: true });
  const ended = new Promise<string>((resolve) => {
    const request = httpRequest(`${server.openaiBaseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (response) => {
      response.on('data', () => {});
      response.on('error', () => resolve('error'));
      response.on('close', () => resolve('closed'));
    });
    request.on('error', () => resolve('error'));
    request.end(JSON.stringify({ model: 'm', stream: true, messages: [] }));
  });
  while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await server.close();
  assert.ok(['closed', 'error'].includes(await ended));
});

test('fake server: a hang step never sends headers, until close() ends the request', TIMEOUT, async () => {
  const server = await startFakeModelServer({ defaultStep: { hang: true } });
  let headers = false;
  const ended = new Promise<string>((resolve) => {
    const request = httpRequest(`${server.openaiBaseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, () => {
      headers = true;
    });
    request.on('error', () => resolve('error'));
    request.on('close', () => resolve('closed'));
    request.end(JSON.stringify({ model: 'm', stream: true, messages: [] }));
  });
  while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await server.close();
  assert.ok(['closed', 'error'].includes(await ended));
  assert.equal(headers, false);
});
