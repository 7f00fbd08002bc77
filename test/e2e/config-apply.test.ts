/**
 * Editing the running gateway's config through its RPC methods, from the CLI: `hearth config get`
 * never shows a secret, `hearth config apply` refuses an invalid file (exit 78, the line, nothing
 * changed, remembered as the last rejected edit) and puts a valid one in force at once, keeping
 * every secret written as "[hidden secret]". `hearth usage` sums the stored runs.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chatTurn } from '../support/chat-turn.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv } from '../support/gateway-harness.js';

const EXIT_CONFIG = 78;
const API_KEY = 'sk-provider-key-0123456789';
const GATEWAY_TOKEN = 'config-apply-gateway-token-42';
const MASK = '[hidden secret]';

let model: FakeModelServer;
let gateway: TestGateway;
let env: Record<string, string>;

function configText(baseUrl: string): string {
  return `// written by config-apply.test.ts
{
  gateway: { auth: { token: "${GATEWAY_TOKEN}" } },
  models: {
    providers: { fake: { api: "openai-chat", baseUrl: "${baseUrl}", maxRetries: 0, apiKey: "${API_KEY}" } },
    pricing: { "fake/echo": { inputPerMillion: 1000, outputPerMillion: 2000 } },
  },
  agents: { defaults: { model: "fake/echo" } },
}
`;
}

interface ConfigView {
  path: string;
  text: string;
  effective: { agents: { entries: Record<string, unknown> } };
  hash: string;
  lastRejected: { at: number; text?: string; issues: { path: string; line: number | null; message: string }[] } | null;
}

async function configGet(): Promise<ConfigView> {
  const shown = await runCli(['config', 'get', '--json'], env);
  assert.equal(shown.code, 0, shown.stderr);
  return JSON.parse(shown.stdout) as ConfigView;
}

before(async () => {
  model = await startFakeModelServer();
  const home = makeHome();
  gateway = await startTestGateway({ home, configText: configText(model.openaiBaseUrl) });
  env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url, HEARTH_GATEWAY_TOKEN: GATEWAY_TOKEN });
});

after(async () => {
  await gateway?.stop();
  if (gateway) removeHome(gateway.home);
  await model?.close();
});

test('config get shows the file and the config in force with every secret masked', async () => {
  const view = await configGet();
  const shown = JSON.stringify(view);
  assert.ok(!shown.includes(API_KEY) && !shown.includes(GATEWAY_TOKEN), 'no secret in clear');
  assert.ok(view.text.includes(`apiKey: "${MASK}"`), view.text);
  assert.equal(view.lastRejected, null);
  const plain = await runCli(['config', 'get'], env);
  assert.equal(plain.code, 0, plain.stderr);
  assert.ok(plain.stdout.startsWith('// written by config-apply.test.ts') && !plain.stdout.includes(API_KEY));
});

test('config apply refuses an invalid file with the line of each problem, and nothing changes', async () => {
  const before = await configGet();
  const statusBefore = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { config: { hash: string } };
  const bad = join(gateway.home, 'bad.json5');
  writeFileSync(bad, before.text.replace('agents: { defaults: { model:', 'agents: { defaults: { modle:'));
  const refused = await runCli(['config', 'apply', bad], env);
  assert.equal(refused.code, EXIT_CONFIG, refused.stdout);
  assert.match(refused.stderr, /bad\.json5:8:\d+ agents\.defaults\.modle: .*did you mean "model"/u);
  const dryRun = await runCli(['config', 'apply', '--dry-run', bad], env);
  assert.equal(dryRun.code, EXIT_CONFIG);
  const after = await configGet();
  assert.equal(after.hash, before.hash, 'the file is as it was');
  assert.equal(readFileSync(join(gateway.home, 'hearth.json5'), 'utf8'), configText(model.openaiBaseUrl));
  const statusAfter = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { config: { hash: string } };
  assert.equal(statusAfter.config.hash, statusBefore.config.hash, 'the config in force is the same');
  assert.deepEqual(
    after.lastRejected?.issues.map((issue) => [issue.path, issue.line]),
    [['agents.defaults.modle', 8]],
  );
  assert.ok(after.lastRejected?.text?.includes('modle'));
});

test('config apply puts a valid edit in force at once and keeps the masked secrets', async () => {
  const before = await configGet();
  const good = join(gateway.home, 'good.json5');
  writeFileSync(good, before.text.replace('agents: { defaults: { model: "fake/echo" } }', 'agents: { defaults: { model: "fake/echo" }, entries: { main: { default: true }, helper: {} } }'));
  const applied = await runCli(['config', 'apply', good], env);
  assert.equal(applied.code, 0, applied.stderr);
  const status = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { agents: { id: string }[] };
  assert.deepEqual(status.agents.map((agent) => agent.id).sort(), ['helper', 'main']);
  const written = readFileSync(join(gateway.home, 'hearth.json5'), 'utf8');
  assert.ok(written.includes(`apiKey: "${API_KEY}"`) && written.includes(`token: "${GATEWAY_TOKEN}"`), 'the secrets are kept');
  assert.equal(readFileSync(join(gateway.home, 'hearth.json5.bak'), 'utf8'), configText(model.openaiBaseUrl));
  assert.ok(Object.keys((await configGet()).effective.agents.entries).includes('helper'));
  const stale = await runCli(['config', 'apply', '--json', good], env);
  assert.equal(stale.code, 0, 'applying the same text again is fine');
});

test('usage sums the tokens and cost of the stored runs per day, agent and model', async () => {
  await chatTurn(gateway, model, 'count my tokens');
  await chatTurn(gateway, model, 'and these too');
  const shown = await runCli(['usage', '--days', '3', '--json'], env);
  assert.equal(shown.code, 0, shown.stderr);
  const report = JSON.parse(shown.stdout) as {
    totals: { tokens: number; costUsd: number; runs: number };
    days: { day: string; tokens: number }[];
    agents: { agentId: string; tokens: number }[];
    models: { model: string; tokens: number; costUsd: number }[];
  };
  assert.equal(report.days.length, 3);
  const today = report.days[2];
  assert.ok(today && today.tokens > 0, JSON.stringify(report.days));
  assert.equal(report.totals.runs, 2);
  assert.ok(report.totals.costUsd > 0);
  assert.deepEqual(report.agents.map((row) => row.agentId), ['main']);
  assert.equal(report.models[0]?.model, 'fake/echo');
  assert.equal(report.models[0]?.tokens, report.totals.tokens);
  const text = await runCli(['usage'], env);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /fake\/echo/u);
  assert.equal((await runCli(['usage', '--days', '91'], env)).code, 1);
});
