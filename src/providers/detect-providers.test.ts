import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFakeModelServer } from '../../test/support/fake-model-server.js';
import { isHearthError } from '../contracts/errors.js';
import { createOllamaProbe, detectProviders } from './detect-providers.js';

const TIMEOUT = { timeout: 10_000 };
const noOllama = async (): Promise<null> => null;

test('detect: ANTHROPIC_API_KEY wins and config defaults are filled', async () => {
  const found = await detectProviders({ ANTHROPIC_API_KEY: 'sk-ant-1', OPENAI_API_KEY: 'sk-2' }, { probeOllama: noOllama });
  assert.equal(found.source, 'env:ANTHROPIC_API_KEY');
  assert.equal(found.defaultModel, 'anthropic/claude-sonnet-4-5');
  const anthropic = found.providers.anthropic;
  assert.equal(anthropic?.api, 'anthropic-messages');
  assert.equal(anthropic?.apiKey, 'sk-ant-1');
  assert.equal(anthropic?.timeoutMs, 120_000);
  assert.equal(anthropic?.maxRetries, 2);
  assert.deepEqual(Object.keys(found.providers), ['anthropic']);
});

test('detect: OPENAI_API_KEY with OPENAI_BASE_URL', async () => {
  const found = await detectProviders({ OPENAI_API_KEY: 'sk-2', OPENAI_BASE_URL: 'https://llm.example/v1' }, { probeOllama: noOllama });
  assert.equal(found.source, 'env:OPENAI_API_KEY');
  assert.equal(found.defaultModel, 'openai/gpt-4o-mini');
  assert.equal(found.providers.openai?.api, 'openai-chat');
  assert.equal(found.providers.openai?.baseUrl, 'https://llm.example/v1');
  const plain = await detectProviders({ OPENAI_API_KEY: 'sk-2', ANTHROPIC_API_KEY: '  ' }, { probeOllama: noOllama });
  assert.equal(plain.providers.openai?.baseUrl, undefined);
});

test('detect: an invalid OPENAI_BASE_URL is CONFIG_INVALID', async () => {
  await assert.rejects(
    detectProviders({ OPENAI_API_KEY: 'sk-2', OPENAI_BASE_URL: 'not a url' }, { probeOllama: noOllama }),
    (error: unknown) => isHearthError(error) && error.code === 'CONFIG_INVALID' && !error.message.includes('sk-2'),
  );
});

test('detect: a local Ollama server with models', async () => {
  const found = await detectProviders({}, { probeOllama: async () => ['qwen3:8b', 'llama3.2:3b'] });
  assert.equal(found.source, 'ollama');
  assert.equal(found.defaultModel, 'ollama/qwen3:8b');
  assert.equal(found.providers.ollama?.api, 'ollama');
  assert.equal(found.providers.ollama?.baseUrl, 'http://127.0.0.1:11434/v1');
  assert.deepEqual(found.providers.ollama?.models, ['qwen3:8b', 'llama3.2:3b']);
  const empty = await detectProviders({}, { probeOllama: async () => [] });
  assert.equal(empty.source, 'ollama');
  assert.equal(empty.defaultModel, undefined);
});

test('detect: nothing found, including a probe that hangs or throws', TIMEOUT, async () => {
  assert.deepEqual(await detectProviders({}, { probeOllama: noOllama }), { providers: {}, source: 'none' });
  const started = Date.now();
  const hanging = await detectProviders({}, { probeOllama: () => new Promise(() => {}), timeoutMs: 50 });
  assert.equal(hanging.source, 'none');
  assert.ok(Date.now() - started < 1000);
  const throwing = await detectProviders({}, { probeOllama: async () => Promise.reject(new Error('nope')) });
  assert.equal(throwing.source, 'none');
});

test('detect: createOllamaProbe reads /api/tags and returns null when nothing answers', TIMEOUT, async () => {
  const server = await startFakeModelServer();
  const signal = new AbortController().signal;
  assert.deepEqual(await createOllamaProbe(server.url)(signal), ['fake-model']);
  await server.close();
  assert.equal(await createOllamaProbe(server.url)(signal), null);
});
