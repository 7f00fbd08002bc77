import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { type HookReceiver, startHookReceiver } from '../support/hook-receiver.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

let model: FakeModelServer;
let hooks: HookReceiver;
let hooksUrl: string;
let received: HookReceiver['received'];
const homes: string[] = [];

before(async () => {
  model = await startFakeModelServer();
  hooks = await startHookReceiver();
  hooksUrl = hooks.url;
  received = hooks.received;
});
after(async () => {
  await model?.close();
  await hooks?.close();
  for (const home of homes) removeHome(home);
});

interface Job {
  id: string;
  name: string;
  enabled: boolean;
  disabledReason: string | null;
  consecutiveErrors: number;
  lastStatus: string | null;
  nextRunAt: number | null;
}
interface LedgerEntry {
  id: string;
  status: string;
  trigger: string;
  turnRunId: string | null;
  reason: string | null;
  error: string | null;
  count: number;
  scheduledAt: number;
}

const config = (extra: Record<string, unknown> = {}) => ({
  ...fakeModelConfig(model),
  cron: { retryBaseMs: 200, escalation: { alertAfterConsecutiveErrors: 2, disableAfterConsecutiveErrors: 3, alertWebhook: `${hooksUrl}/alerts` } },
  ...extra,
});

const json = <T>(result: { code: number | null; stdout: string; stderr: string }): T => {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
};

test('a scheduled job runs its agent turn, POSTs the reply to its webhook, and each run is in the ledger and the run history', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({ home, config: config() });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  try {
    const added = json<Job>(await runCli(['cron', 'add', '--name', 'ping', '--every', '1s', '--message', 'ping from cron', '--deliver-webhook', `${hooksUrl}/results`, '--json'], env));
    const result = await waitFor(() => received.find((item) => item.path === '/results' && item.body.jobId === added.id), 'the job reply at its webhook');
    assert.equal(result.body.event, 'cron.run');
    assert.equal(result.body.jobName, 'ping');
    assert.match(String(result.body.reply), /ping from cron/u);
    const duplicate = await runCli(['cron', 'add', '--name', 'ping', '--every', '1s', '--message', 'again'], env);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, new RegExp(`same name, agent and schedule exists already \\(${added.id}\\)`, 'u'));

    const runs = await waitFor(async () => {
      const entries = json<LedgerEntry[]>(await runCli(['cron', 'runs', added.id, '--json'], env));
      return entries.filter((entry) => entry.status === 'ok').length >= 2 ? entries : null;
    }, 'two ok runs in the ledger');
    const ok = runs.find((entry) => entry.status === 'ok')!;
    assert.equal(ok.trigger, 'schedule');
    const turn = json<{ trigger: string; status: string; sessionKey: string }>(await runCli(['runs', 'show', ok.turnRunId!, '--json'], env));
    assert.equal(turn.trigger, 'cron');
    assert.equal(turn.sessionKey, `cron:${added.id}:run:${ok.turnRunId}`, 'an isolated session per run');
    assert.ok(runs.some((entry) => entry.status === 'scheduled'), 'the next run is in the ledger as scheduled');

    const text = await runCli(['cron', 'list'], env);
    assert.match(text.stdout, new RegExp(`${added.id} {2}ping {2}agent main {2}every 1s`, 'u'));
    const removed = await runCli(['cron', 'rm', added.id], env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(json<Job[]>(await runCli(['cron', 'list', '--json'], env)), []);
    assert.ok(json<LedgerEntry[]>(await runCli(['cron', 'runs', added.id, '--json'], env)).length > 0, 'its history stays');
  } finally {
    await gateway.stop();
  }
});

test('a job failing three times: retried with backoff, alert POSTed once, then disabled and still listed with the reason; metrics count it', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({ home, config: config() });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const failing = (request: { body: unknown }) => {
    const text = JSON.stringify(request.body);
    return text.includes('nightly report') ? { status: 400, body: { error: { message: 'model "echo" does not exist', type: 'invalid_request_error' } } } : { text: 'ok' };
  };
  model.setDefault(failing);
  try {
    const job = json<Job>(await runCli(['cron', 'add', '--name', 'nightly', '--every', '1h', '--message', 'nightly report', '--json'], env));
    const first = await runCli(['cron', 'run', job.id], env);
    assert.equal(first.code, 1, 'a manual run that fails exits 1');
    assert.match(first.stdout + first.stderr, /error/u);
    // Scheduled retries follow the manual failure's count: the schedule says 1h, so move it to now.
    await runCli(['cron', 'edit', job.id, '--every', '1s'], env);
    const disabled = await waitFor(async () => {
      const jobs = json<Job[]>(await runCli(['cron', 'list', '--json'], env));
      return jobs.find((item) => item.id === job.id && !item.enabled);
    }, 'the job disabled', 20_000);
    assert.match(disabled.disabledReason ?? '', /disabled after 3 consecutive errors .*does not exist/u);
    assert.equal(disabled.consecutiveErrors, 3);
    const alerts = await waitFor(() => {
      const found = received.filter((item) => item.path === '/alerts' && item.body.jobId === job.id);
      return found.length >= 2 ? found : null;
    }, 'two alerts');
    assert.deepEqual(
      alerts.map((item) => item.body),
      [
        { event: 'cron.escalation', jobId: job.id, jobName: 'nightly', agentId: 'main', consecutiveErrors: 2, action: 'alert', lastError: alerts[0]!.body.lastError, lastSuccessAt: null },
        { event: 'cron.escalation', jobId: job.id, jobName: 'nightly', agentId: 'main', consecutiveErrors: 3, action: 'disabled', lastError: alerts[1]!.body.lastError, lastSuccessAt: null },
      ],
    );
    assert.match(String(alerts[1]!.body.lastError), /does not exist/u);
    const ledger = json<LedgerEntry[]>(await runCli(['cron', 'runs', job.id, '--json'], env));
    assert.deepEqual(
      ledger.filter((entry) => entry.status === 'error').map((entry) => entry.trigger).sort(),
      ['manual', 'retry', 'schedule'].sort(),
    );
    const health = json<{ disabled: number; problems: { id: string }[] }>(await runCli(['cron', 'health', '--json'], env));
    assert.equal(health.disabled, 1);
    assert.equal(health.problems[0]?.id, job.id);
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } })).text();
    assert.match(metrics, new RegExp(`hearth_cron_job_consecutive_errors\\{job="${job.id}",name="nightly"\\} 3`, 'u'));
    assert.match(metrics, /hearth_cron_escalations_total\{action="alert"\} 1/u);
    assert.match(metrics, /hearth_cron_escalations_total\{action="disabled"\} 1/u);
    const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as { components: { cron: { status: string; detail: string } } };
    assert.equal(ready.components.cron.status, 'degraded');
    assert.match(ready.components.cron.detail, /nightly/u);
    // Fixed and enabled again: it runs and its errors are forgotten.
    model.setDefault(null);
    await runCli(['cron', 'edit', job.id, '--enable'], env);
    await waitFor(async () => json<Job[]>(await runCli(['cron', 'list', '--json'], env)).find((item) => item.id === job.id && item.lastStatus === 'ok'), 'a good run');
    assert.equal(received.filter((item) => item.path === '/alerts' && item.body.jobId === job.id).length, 2, 'no more alerts');
  } finally {
    model.setDefault(null);
    await gateway.stop();
  }
});

test('restart at the scheduled time: run-once runs the missed job once, skip records it missed', async () => {
  const home = makeHome();
  homes.push(home);
  let gateway = await startTestGateway({ home, config: config() });
  let env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const at = new Date(Date.now() + 4000).toISOString();
  const once = json<Job>(await runCli(['cron', 'add', '--name', 'once', '--at', at, '--message', 'run-once job', '--misfire', 'run-once', '--json'], env));
  const skip = json<Job>(await runCli(['cron', 'add', '--name', 'skipper', '--at', at, '--message', 'skip job', '--misfire', 'skip', '--json'], env));
  await gateway.stop();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(at) + 500 - Date.now())));
  gateway = await startTestGateway({ home, config: config() });
  env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  try {
    const ran = await waitFor(async () => json<LedgerEntry[]>(await runCli(['cron', 'runs', once.id, '--json'], env)).find((entry) => entry.status === 'ok'), 'the run-once job ran');
    assert.equal(ran.trigger, 'misfire');
    assert.equal(ran.scheduledAt, Date.parse(at));
    const skipped = json<LedgerEntry[]>(await runCli(['cron', 'runs', skip.id, '--json'], env));
    assert.deepEqual(
      skipped.map((entry) => entry.status),
      ['missed'],
    );
    assert.match(skipped[0]?.reason ?? '', /the gateway was not running at .*misfire policy "skip"/u);
    const jobs = json<Job[]>(await runCli(['cron', 'list', '--json'], env));
    assert.equal(jobs.find((job) => job.id === skip.id)?.nextRunAt, null);
  } finally {
    await gateway.stop();
  }
});

test('a job\'s alert chat is checked when the job is added or edited: a malformed one is refused naming the field and the form, a Matrix room id is taken', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({ home, config: config() });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  try {
    const job = ['cron', 'add', '--name', 'watched', '--every', '1h', '--message', 'look around'];
    const form = /alertChannel: write <platform>:<chat>, <platform>:<account>:<chat> or <platform>:<account>:<chat>:<thread>, e\.g\. telegram:default:12345 or matrix:default:!room:example\.org/u;
    for (const malformed of ['matrix:default:!abc', 'telegram', 'telegram:default:with space']) {
      const refused = await runCli([...job, '--alert-channel', malformed], env);
      assert.equal(refused.code, 1, `${malformed} is refused`);
      assert.match(refused.stderr, form);
    }
    assert.deepEqual(json<Job[]>(await runCli(['cron', 'list', '--json'], env)), [], 'no job was added');

    const added = json<Job & { spec: { escalation?: { alertChannel?: string } } }>(await runCli([...job, '--alert-channel', 'matrix:default:!room:example.org', '--json'], env));
    assert.equal(added.spec.escalation?.alertChannel, 'matrix:default:!room:example.org');

    const edit = await runCli(['cron', 'edit', added.id, '--alert-channel', 'matrix:default:!abc'], env);
    assert.equal(edit.code, 1);
    assert.match(edit.stderr, form);
    const [kept] = json<(Job & { spec: { escalation?: { alertChannel?: string } } })[]>(await runCli(['cron', 'list', '--json'], env));
    assert.equal(kept?.spec.escalation?.alertChannel, 'matrix:default:!room:example.org', 'the refused edit changed nothing');
    json<Job>(await runCli(['cron', 'edit', added.id, '--alert-channel', 'telegram:ops:-100123:7', '--json'], env));
    const [edited] = json<(Job & { spec: { escalation?: { alertChannel?: string } } })[]>(await runCli(['cron', 'list', '--json'], env));
    assert.equal(edited?.spec.escalation?.alertChannel, 'telegram:ops:-100123:7');
  } finally {
    await gateway.stop();
  }
});
