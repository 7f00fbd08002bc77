/**
 * The gateway's `POST /v1/responses`, driven with the official `openai` client (`responses.create`,
 * streamed and not) against the real gateway and the fake model server: same auth, sessions and
 * agents as `/v1/chat/completions`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { removeHome, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

let fake: FakeModelServer;
let gateway: TestGateway;
let client: OpenAI;

describe('OpenAI Responses API on the gateway', () => {
  before(async () => {
    fake = await startFakeModelServer();
    gateway = await startTestGateway({
      config: {
        models: { providers: { fake: { api: 'openai-chat', baseUrl: fake.openaiBaseUrl, maxRetries: 0 } } },
        agents: { defaults: { model: 'fake/echo' }, entries: { main: { default: true }, other: {} } },
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

  test('a non-streamed response carries the text, usage and the hearth object', async () => {
    const response = await client.responses.create({ model: 'hearth', input: 'hello there', instructions: 'Be kind.' });
    assert.equal(response.object, 'response');
    assert.equal(response.status, 'completed');
    assert.equal(response.output_text, 'echo: hello there');
    assert.ok(response.usage && response.usage.total_tokens > 0, JSON.stringify(response.usage));
    const hearth = (response as unknown as { hearth: { sessionKey: string; runId: string } }).hearth;
    assert.equal(hearth.sessionKey, 'agent:main:openai:stateless');
    const sent = JSON.stringify(fake.requests.at(-1)?.body);
    assert.match(sent, /Be kind\./, 'instructions reach the model as the system prompt');
  });

  test('a streamed response yields response.* events with the text in deltas', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    fake.script({ text, chunkSize: 4 });
    const stream = await client.responses.create({ model: 'hearth', input: [{ role: 'user', content: 'tell me about foxes' }], stream: true });
    const types: string[] = [];
    const deltas: string[] = [];
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') deltas.push(event.delta);
      if (event.type === 'response.completed') completed = event.response;
    }
    assert.equal(deltas.join(''), text);
    assert.ok(deltas.length >= 3, `the text came in ${deltas.length} delta(s)`);
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    assert.ok(types.includes('response.output_text.done'));
    assert.equal(completed?.status, 'completed');
    assert.ok(completed?.usage && completed.usage.output_tokens > 0);
  });

  test('items with a function call and its output, a named agent and a user session', async () => {
    const response = await client.responses.create({
      model: 'hearth/other',
      user: 'alice',
      input: [
        { role: 'user', content: 'What did the tool say?' },
        { type: 'function_call', call_id: 'c1', name: 'lookup', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: 'forty-two' },
        { role: 'user', content: [{ type: 'input_text', text: 'remember this' }] },
      ],
    });
    assert.equal(response.output_text, 'echo: remember this');
    const hearth = (response as unknown as { hearth: { sessionKey: string } }).hearth;
    assert.equal(hearth.sessionKey, 'agent:other:openai:direct:alice');
  });

  test('auth, unknown models and malformed input are refused like /v1/chat/completions', async () => {
    const stranger = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'wrong-token', maxRetries: 0 });
    await assert.rejects(stranger.responses.create({ model: 'hearth', input: 'hi' }), (error: unknown) => error instanceof OpenAI.AuthenticationError);
    await assert.rejects(client.responses.create({ model: 'gpt-nope', input: 'hi' }), (error: unknown) => error instanceof OpenAI.NotFoundError);
    await assert.rejects(client.responses.create({ model: 'hearth', input: 42 as unknown as string }), (error: unknown) => error instanceof OpenAI.BadRequestError);
    const get = await fetch(`${gateway.url}/v1/responses`, { headers: { authorization: `Bearer ${gateway.token}` } });
    assert.equal(get.status, 405);
  });

  test('a failed turn streams response.failed and a whole request gets an error status', async () => {
    fake.script({ status: 400 });
    const stream = await client.responses.create({ model: 'hearth', input: 'break', stream: true });
    const types: string[] = [];
    let failed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.failed') failed = event.response;
    }
    assert.equal(types.at(-1), 'response.failed');
    assert.ok(failed?.error?.message, JSON.stringify(failed));
    fake.script({ status: 400 });
    await assert.rejects(client.responses.create({ model: 'hearth', input: 'break again' }), (error: unknown) => error instanceof OpenAI.APIError);
  });
});
