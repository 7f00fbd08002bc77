/**
 * `hearth models probe`: every configured model (agents' models and fallbacks, provider model
 * lists) gets one tiny request; latency when it answers, the error class when not; `--json`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, testEnv, writeConfig } from '../support/gateway-harness.js';

interface Probe {
  ref: string;
  ok: boolean;
  latencyMs: number;
  reply?: string;
  error?: { code: string; message: string };
}

let fake: FakeModelServer;
let home: string;

before(async () => {
  fake = await startFakeModelServer();
  // Each provider kind answers in its own way: the probe must tell them apart whatever the order.
  fake.setDefault((request) => {
    if (request.api === 'anthropic') return { status: 401 };
    if (request.api === 'ollama') return { status: 429, retryAfterSeconds: 3 };
    return { text: 'OK' };
  });
  home = makeHome();
  writeConfig(home, {
    gateway: { port: 9 },
    models: {
      providers: {
        gem: { api: 'google-gemini', baseUrl: fake.geminiBaseUrl, apiKey: 'g-key', models: ['gemini-flash'] },
        resp: { api: 'openai-responses', baseUrl: fake.openaiBaseUrl, apiKey: 'o-key' },
        claude: { api: 'anthropic-messages', baseUrl: fake.anthropicBaseUrl, apiKey: 'bad-key' },
        local: { api: 'ollama', baseUrl: fake.ollamaBaseUrl },
      },
    },
    agents: { defaults: { model: 'resp/gpt-small', fallbacks: ['claude/haiku', 'local/qwen3:8b'] } },
  });
});

after(async () => {
  await fake?.close();
  if (home) removeHome(home);
});

test('models probe: every configured model, in failover order, with latency or the error class', { timeout: 30_000 }, async () => {
  const result = await runCli(['models', 'probe', '--json'], testEnv(home));
  assert.equal(result.code, 1, result.stderr);
  const { models } = JSON.parse(result.stdout) as { models: Probe[] };
  assert.deepEqual(
    models.map((probe) => probe.ref),
    ['resp/gpt-small', 'claude/haiku', 'local/qwen3:8b', 'gem/gemini-flash'],
  );
  const byRef = new Map(models.map((probe) => [probe.ref, probe]));
  assert.equal(byRef.get('resp/gpt-small')?.ok, true);
  assert.equal(byRef.get('resp/gpt-small')?.reply, 'OK');
  assert.equal(byRef.get('gem/gemini-flash')?.ok, true);
  assert.equal(byRef.get('claude/haiku')?.error?.code, 'PROVIDER_AUTH');
  assert.ok(!byRef.get('claude/haiku')?.error?.message.includes('bad-key'));
  assert.equal(byRef.get('local/qwen3:8b')?.error?.code, 'PROVIDER_RATE_LIMITED');
  for (const probe of models) assert.ok(probe.latencyMs >= 0);
  assert.match(result.stderr, /2 of 4 model\(s\) did not answer/);
});

test('models probe <ref>: only that model, as text; exit 0 when it answers', { timeout: 30_000 }, async () => {
  const result = await runCli(['models', 'probe', 'gem/gemini-flash'], testEnv(home));
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^ok {4}gem\/gemini-flash {2}\d+ ms/);
  const unknown = await runCli(['models', 'probe', 'nope/x'], testEnv(home));
  assert.equal(unknown.code, 1);
  assert.match(unknown.stdout, /FAIL {2}nope\/x {2}NO_MODEL/);
});
