/**
 * A gateway with one agent per provider kind (openai-chat, openai-responses, anthropic-messages,
 * google-gemini, ollama), all on the fake model server speaking each wire format: every agent
 * answers a chat turn that runs a tool and then answers from its result.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { removeHome, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { FAKE_API_OF, fakeBaseUrl, PROVIDER_KINDS, type ProviderKind } from '../support/provider-contract.js';

let fake: FakeModelServer;
let gateway: TestGateway;
let client: OpenAI;

/** Agent ids cannot hold every character of a kind; `openai-chat` → `k-openai-chat`. */
function agentOf(kind: ProviderKind): string {
  return `k-${kind}`;
}

describe('every provider kind behind the gateway', () => {
  before(async () => {
    fake = await startFakeModelServer();
    const providers: Record<string, unknown> = {};
    const entries: Record<string, unknown> = { main: { default: true } };
    for (const kind of PROVIDER_KINDS) {
      const id = kind.replace(/-/g, '');
      providers[id] = { api: kind, baseUrl: fakeBaseUrl(fake, kind), apiKey: 'test-key', maxRetries: 0 };
      entries[agentOf(kind)] = { model: `${id}/fake-model` };
    }
    gateway = await startTestGateway({ config: { models: { providers }, agents: { defaults: { model: 'openaichat/fake-model' }, entries } } });
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

  for (const kind of PROVIDER_KINDS) {
    test(`${kind}: a chat turn that writes a file with a tool, then answers from the result`, async () => {
      const mark = fake.requests.length;
      const path = `notes/${kind}.md`;
      fake.script({ toolCalls: [{ name: 'write', arguments: { path, content: `hello from ${kind}` } }] });
      const completion = await client.chat.completions.create({ model: `hearth/${agentOf(kind)}`, messages: [{ role: 'user', content: 'write a note' }] });
      const text = completion.choices[0]?.message.content ?? '';
      assert.match(text, /^tool said: /, text);
      const hearth = (completion as unknown as { hearth: { toolCalls: { name: string; arguments: unknown; error?: string }[] } }).hearth;
      assert.equal(hearth.toolCalls.length, 1, JSON.stringify(hearth.toolCalls));
      assert.equal(hearth.toolCalls[0]?.name, 'write');
      assert.deepEqual(hearth.toolCalls[0]?.arguments, { path, content: `hello from ${kind}` });
      assert.equal(hearth.toolCalls[0]?.error, undefined);
      const file = join(gateway.home, 'workspaces', agentOf(kind), path);
      assert.ok(existsSync(file), `${file} does not exist`);
      assert.equal(readFileSync(file, 'utf8'), `hello from ${kind}`);
      const sent = fake.requests.slice(mark);
      assert.equal(sent.length, 2, sent.map((request) => request.path).join(', '));
      assert.ok(sent.every((request) => request.api === FAKE_API_OF[kind]), `spoke ${sent.map((request) => request.api).join(', ')}`);
      assert.ok(completion.usage && completion.usage.total_tokens > 0, `usage: ${JSON.stringify(completion.usage)}`);
    });
  }
});
