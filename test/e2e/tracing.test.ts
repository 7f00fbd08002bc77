import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, REPO_ROOT, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.js';
import { createTelegramHarness } from '../support/platforms/telegram-harness.js';
import type { PlatformHarness } from './channel-contract.js';

let model: FakeModelServer;
let receiver: OtlpReceiver;
let telegram: PlatformHarness;
const homes: string[] = [];
const gateways: TestGateway[] = [];

before(async () => {
  model = await startFakeModelServer();
  receiver = await startOtlpReceiver();
  telegram = await createTelegramHarness();
});
after(async () => {
  for (const gateway of gateways) await gateway.stop();
  await model?.close();
  await receiver?.close();
  await telegram?.close();
  for (const home of homes) removeHome(home);
});

const ada = { id: '1001', name: 'Ada' };
const RECORDER = pathToFileURL(join(REPO_ROOT, 'dist', 'test', 'support', 'module-load-recorder.js')).href;

/** A gateway with a Telegram account open to everyone, the fake model, and a record of the OpenTelemetry modules it loads. */
async function start(extra: Record<string, unknown>) {
  const home = makeHome();
  homes.push(home);
  const account = await telegram.newAccount();
  const gateway = await startTestGateway({
    home,
    config: {
      models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 } } },
      agents: { defaults: { model: 'fake/echo' } },
      channels: { telegram: { ...account.settings, dmPolicy: 'open', allowFrom: ['*'] } },
      ...extra,
    },
    env: { NODE_OPTIONS: `--import=${RECORDER}`, MODULE_LOAD_LOG: join(home, 'modules.log'), MODULE_LOAD_PATTERN: 'opentelemetry' },
  });
  gateways.push(gateway);
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  await waitFor(async () => {
    const status = await runCli(['channels', 'status', '--json'], env);
    return (JSON.parse(status.stdout || '[]') as { connected: boolean }[])[0]?.connected;
  }, 'the Telegram account to connect');
  const loadedModules = () => (existsSync(join(home, 'modules.log')) ? readFileSync(join(home, 'modules.log'), 'utf8') : '');
  return { home, gateway, account, env, loadedModules };
}

interface RunShown {
  runId: string;
  status: string;
  traceId: string | null;
}

async function newestRun(env: Record<string, string>, status: string): Promise<RunShown> {
  return waitFor(async () => {
    const listed = await runCli(['runs', 'list', '--json'], env);
    const runs = JSON.parse(listed.stdout || '[]') as RunShown[];
    return runs[0]?.status === status ? runs[0] : undefined;
  }, `a run with status ${status}`);
}

test('a traced Telegram turn arrives at the OTLP receiver as one trace: turn → lane wait, model calls, tool call, delivery; its trace id is in the run record and the log', async () => {
  const { home, account, env, loadedModules } = await start({ tracing: { enabled: true, endpoint: receiver.endpoint, serviceName: 'hearth-under-test', headers: { 'x-collector-key': 'k-123' } } });
  model.script({ toolCalls: [{ name: 'write', arguments: { path: 'note.txt', content: 'milk' } }] }, { text: 'Noted: milk.' });
  await account.dm(ada, 'remember milk');
  await waitFor(() => account.sent().some((message) => message.text.includes('Noted: milk.')), 'the reply on Telegram');
  const run = await newestRun(env, 'ok');
  assert.match(run.traceId ?? '', /^[0-9a-f]{32}$/u, 'the run record names its trace');

  const shown = await runCli(['runs', 'show', run.runId], env);
  assert.match(shown.stdout, new RegExp(`Trace {5}${run.traceId}`, 'u'));

  const spansOf = () => receiver.spans.filter((span) => span.traceId === run.traceId);
  await waitFor(() => spansOf().some((span) => span.name === 'delivery'), 'the delivery span', 15_000);
  const spans = spansOf();
  const root = spans.find((span) => span.name === 'turn');
  assert.ok(root, 'the trace has a turn span');
  assert.equal(root.parentSpanId, '', 'the turn span is the root');
  assert.equal(root.attributes['hearth.run_id'], run.runId);
  assert.equal(root.attributes['hearth.agent_id'], 'main');
  assert.equal(root.attributes['hearth.channel'], 'telegram:default');
  assert.match(String(root.attributes['hearth.session_key']), /^agent:main:telegram:direct:1001$/u);
  assert.equal(root.resource['service.name'], 'hearth-under-test');

  const children = spans.filter((span) => span !== root);
  assert.deepEqual(
    children.map((span) => span.name).sort(),
    ['delivery', 'lane.wait', 'model.call', 'model.call', 'tool.call'],
  );
  for (const child of children) assert.equal(child.parentSpanId, root.spanId, `${child.name} is a child of the turn`);
  const byStart = (a: ReceivedSpan, b: ReceivedSpan) => a.startMs - b.startMs;
  assert.deepEqual(
    children.filter((span) => span.name !== 'delivery').sort(byStart).map((span) => span.name),
    ['lane.wait', 'model.call', 'tool.call', 'model.call'],
    'the spans are in the order the turn ran them',
  );
  const [firstModel] = children.filter((span) => span.name === 'model.call');
  assert.equal(firstModel?.attributes['gen_ai.system'], 'fake');
  assert.equal(firstModel?.attributes['gen_ai.request.model'], 'echo');
  assert.equal(typeof firstModel?.attributes['gen_ai.usage.input_tokens'], 'number');
  const tool = children.find((span) => span.name === 'tool.call');
  assert.equal(tool?.attributes['hearth.tool.name'], 'write');
  assert.equal(tool?.attributes['hearth.tool.outcome'], 'ok');
  const delivery = children.find((span) => span.name === 'delivery');
  assert.equal(delivery?.attributes['hearth.delivery.outcome'], 'delivered');
  assert.ok((delivery?.startMs ?? 0) >= root.startMs && (root.endMs ?? 0) >= (firstModel?.endMs ?? Infinity), 'the turn span covers its model calls');
  assert.ok(receiver.requests.every((request) => request.headers['x-collector-key'] === 'k-123'), 'the configured headers go with every export');
  assert.match(loadedModules(), /@opentelemetry/u, 'the tracing gateway loaded OpenTelemetry');

  // A failing turn: its error is on the turn span, and its log line carries the trace id.
  model.script({ status: 400, body: { error: { message: 'the model refused this request', type: 'invalid_request_error' } } });
  await account.dm(ada, 'this one fails');
  const failed = await newestRun(env, 'error');
  assert.match(failed.traceId ?? '', /^[0-9a-f]{32}$/u);
  await waitFor(() => receiver.spans.some((span) => span.traceId === failed.traceId && span.name === 'turn'), 'the failed turn span', 15_000);
  const failedRoot = receiver.spans.find((span) => span.traceId === failed.traceId && span.name === 'turn');
  assert.equal(failedRoot?.statusCode, 2, 'a failed turn is an error span');
  assert.equal(failedRoot?.attributes['hearth.status'], 'error');
  const logLines = await waitFor(() => {
    const lines = readFileSync(join(home, 'logs', 'gateway.log'), 'utf8')
      .split('\n')
      .filter((line) => line.includes(failed.runId));
    return lines.length > 0 ? lines : undefined;
  }, 'a log line about the failed run');
  assert.ok(
    logLines.some((line) => (JSON.parse(line) as { traceId?: string }).traceId === failed.traceId),
    `a log line of the turn names its trace id:\n${logLines.join('\n')}`,
  );
});

test('with tracing off (the default) a turn loads no OpenTelemetry module and its run record has no trace id', async () => {
  const { account, env, loadedModules } = await start({});
  model.script({ text: 'Hello without traces.' });
  await account.dm(ada, 'hello');
  await waitFor(() => account.sent().some((message) => message.text.includes('Hello without traces.')), 'the reply on Telegram');
  const run = await newestRun(env, 'ok');
  assert.equal(run.traceId, null);
  assert.equal(loadedModules(), '', 'no @opentelemetry module was resolved');
});

test('a tracing section with a wrong value is refused with the key named', async () => {
  const home = makeHome();
  homes.push(home);
  await assert.rejects(
    startTestGateway({ home, config: { tracing: { enabled: true, sampleRatio: 2 } } }),
    (error: Error & { exitCode?: number }) => {
      assert.equal(error.exitCode, 78);
      assert.match(error.message, /tracing\.sampleRatio/u);
      return true;
    },
  );
});
