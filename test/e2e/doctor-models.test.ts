import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv, writeConfig } from '../support/gateway-harness.js';

interface Report {
  ok: boolean;
  findings: { check: string; status: string; message: string; fix?: string }[];
}

const homes: string[] = [];
let model: FakeModelServer | undefined;
let silent: Server | undefined;
const silentSockets = new Set<Socket>();
let gateway: TestGateway | undefined;

after(async () => {
  await gateway?.stop();
  await model?.close();
  for (const socket of silentSockets) socket.destroy();
  await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
  for (const home of homes) removeHome(home);
});

function home(config: unknown): string {
  const dir = makeHome();
  homes.push(dir);
  writeConfig(dir, config);
  return dir;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return address.port;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('doctor: no model configured is an error that says how to configure one', { timeout: 30_000 }, async () => {
  // Port 9 (discard) is never a Hearth gateway: the port check finds it free.
  const dir = home({ gateway: { port: 9 } });
  const result = await runCli(['doctor', '--json'], testEnv(dir));
  const report = JSON.parse(result.stdout) as Report;
  const models = report.findings.filter((finding) => finding.check === 'models');
  assert.equal(models[0]?.status, 'error', result.stdout);
  assert.match(models[0]?.message ?? '', /no model is configured for agent "main"/u);
  assert.match(models[0]?.fix ?? '', /agents\.defaults\.model.*OPENAI_API_KEY or ANTHROPIC_API_KEY, or start Ollama/u);
  assert.equal(result.code, 1);
  const text = await runCli(['doctor'], testEnv(dir));
  assert.doesNotMatch(text.stdout, /No errors/u);
  assert.match(text.stdout, /FAIL {2}models: no model is configured/u);
});

test('doctor: probes every configured model provider: reachable, connection refused, never answering', { timeout: 30_000 }, async () => {
  model = await startFakeModelServer();
  silent = createServer((socket) => {
    silentSockets.add(socket);
    socket.on('close', () => silentSockets.delete(socket));
  });
  const silentPort = await listen(silent);
  const refusedPort = await closedPort();
  const dir = home({
    gateway: { port: 9 },
    models: {
      providers: {
        up: { api: 'openai-chat', baseUrl: model.openaiBaseUrl },
        down: { api: 'openai-chat', baseUrl: `http://127.0.0.1:${refusedPort}/v1` },
        mute: { api: 'anthropic-messages', baseUrl: `http://127.0.0.1:${silentPort}`, apiKey: 'sk-ant-secret-key-1234', timeoutMs: 500 },
      },
    },
    agents: { defaults: { model: 'up/m' }, entries: { main: { default: true }, second: { model: 'down/m', fallbacks: ['mute/m'] } } },
  });
  const started = performance.now();
  const result = await runCli(['doctor', '--json'], testEnv(dir));
  const elapsed = performance.now() - started;
  const report = JSON.parse(result.stdout) as Report;
  const models = report.findings.filter((finding) => finding.check === 'models');
  const about = (provider: string) => models.find((finding) => finding.message.includes(`provider '${provider}'`));
  assert.equal(about('up')?.status, 'ok', result.stdout);
  assert.match(about('up')?.message ?? '', /answered with 1 model\(s\)/u);
  assert.equal(about('down')?.status, 'error');
  assert.match(about('down')?.message ?? '', /refused the connection/u);
  assert.match(about('down')?.fix ?? '', /models\.providers\.down\.baseUrl/u);
  assert.equal(about('mute')?.status, 'error');
  assert.match(about('mute')?.message ?? '', /did not answer within 500 ms/u);
  assert.doesNotMatch(result.stdout, /sk-ant-secret-key-1234/u);
  assert.ok(elapsed < 15_000, `doctor took ${Math.round(elapsed)} ms`);
  assert.equal(result.code, 1);
  assert.ok(model.requests.some((request) => request.method === 'GET' && request.path === '/v1/models'));
});

test('status and doctor after a connection-refused failure: models degraded, naming the provider and its last failure', { timeout: 30_000 }, async () => {
  const refusedPort = await closedPort();
  const dir = makeHome();
  homes.push(dir);
  gateway = await startTestGateway({
    home: dir,
    config: { models: { providers: { down: { api: 'openai-chat', baseUrl: `http://127.0.0.1:${refusedPort}/v1`, maxRetries: 0 } } }, agents: { defaults: { model: 'down/m' } } },
  });
  const env = testEnv(dir, { HEARTH_GATEWAY_URL: gateway.url });
  const before = await runCli(['status'], env);
  assert.match(before.stdout, /^Models {4}ok/mu, 'nothing failed yet');
  const reply = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'hearth', user: 'ada', messages: [{ role: 'user', content: 'hello' }] }),
  });
  assert.equal(reply.status, 502);
  const status = await runCli(['status'], env);
  assert.match(status.stdout, /^Models {4}degraded: down: breaker closed; no answer yet; last failure \d+ s ago: PROVIDER_NETWORK/mu);
  assert.match(status.stdout, /^Provider {2}down: breaker closed; no answer yet; last failure \d+ s ago: Could not reach the provider 'down'/mu);
  const doctor = JSON.parse((await runCli(['doctor', '--json'], env)).stdout) as Report;
  const seen = doctor.findings.find((finding) => finding.check === 'gateway models');
  assert.equal(seen?.status, 'warn');
  assert.match(seen?.message ?? '', /models is degraded: down: .*last failure \d+ s ago: PROVIDER_NETWORK/u);
  assert.ok(doctor.findings.some((finding) => finding.check === 'models' && /refused the connection/u.test(finding.message)));
});
