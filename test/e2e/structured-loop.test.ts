import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectGateway, type GatewayClient } from '../../src/cli/gateway-client.js';
import type { RunPlanRecord } from '../../src/contracts/structured-plan.js';
import { type FakeModelServer, type FakeStep, type RecordedRequest, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

let fake: FakeModelServer;
const homes: string[] = [];

before(async () => {
  fake = await startFakeModelServer();
});
after(async () => {
  await fake?.close();
  for (const home of homes) removeHome(home);
});

function newHome(): string {
  const home = makeHome();
  homes.push(home);
  return home;
}

/** Agents run structured plans; exec runs any command (the plan's side effects are shell appends to a file). */
function config() {
  return {
    models: { providers: { fake: { api: 'openai-chat', baseUrl: fake.openaiBaseUrl, maxRetries: 0, timeoutMs: 60_000 } } },
    agents: { defaults: { model: 'fake/echo', loop: 'structured', tools: { exec: { security: 'full', ask: 'off' } } } },
  };
}

interface RunView {
  status: string;
  toolCalls: { name: string; arguments: { command?: string } }[];
  reply: string | null;
  error: { code: string; message: string } | null;
  plan: RunPlanRecord | null;
}

const getRun = (client: GatewayClient, runId: string) => client.call<RunView>('runs.get', { runId });

/** The last user message of a model request (a step's prompt names the step it is for). */
function lastUserText(request: RecordedRequest): string {
  const messages = (request.body as { messages: { role: string; content: unknown }[] }).messages;
  const last = [...messages].reverse().find((message) => message.role === 'user');
  return typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content);
}

/** One plan step that appends its name to steps.log with exec, then answers `{"done": n}`. */
function appendingStep(n: number): FakeStep[] {
  return [{ toolCalls: [{ name: 'exec', arguments: { command: `echo step${n} >> steps.log` } }] }, { text: `{"done": ${n}}` }];
}

const fourStepPlan = {
  steps: [1, 2, 3, 4].map((n) => ({
    id: `s${n}`,
    goal: `Append step${n} to steps.log`,
    tools: ['exec'],
    preconditions: n > 1 ? [`step${n - 1} is in steps.log`] : [],
    expect: { type: 'object', properties: { done: { type: 'number' } }, required: ['done'] },
    rollback: `remove the step${n} line`,
  })),
};

test('a structured run of 4 steps killed with kill -9 after step 2 resumes at step 3; steps 1–2 are not run again', async () => {
  const home = newHome();
  const log = join(home, 'workspaces', 'main', 'steps.log');
  // The plan, steps 1 and 2, then step 3's first model call never answers: the gateway is killed there.
  fake.script({ text: JSON.stringify(fourStepPlan) }, ...appendingStep(1), ...appendingStep(2), { hang: true });
  const requestsBefore = fake.requests.length;
  const first = await startTestGateway({ home, config: config() });
  const client = await connectGateway(first.url, first.token);
  const sessionKey = 'agent:main:main';
  const { runId } = await client.call<{ runId: string }>('chat.send', { sessionKey, text: 'append four steps to steps.log', idempotencyKey: randomUUID() });
  await waitFor(async () => {
    const run = await getRun(client, runId);
    return run.plan?.steps[1]?.status === 'done' && fake.requests.length >= requestsBefore + 6;
  }, 'step 2 checkpointed and step 3 started', 20_000);
  const offered = (request: RecordedRequest) => ((request.body as { tools?: { function: { name: string } }[] }).tools ?? []).map((tool) => tool.function.name);
  const firstRun = fake.requests.slice(requestsBefore);
  assert.deepEqual(offered(firstRun[0]!), [], 'the plan is made without tools');
  assert.deepEqual(offered(firstRun[1]!), ['exec'], 'a step is offered only its own tools');
  const checkpointed = await getRun(client, runId);
  assert.deepEqual(checkpointed.plan?.steps.map((step) => step.status), ['done', 'done', 'running', 'pending']);
  client.close();
  await first.kill();
  assert.equal(readFileSync(log, 'utf8'), 'step1\nstep2\n');

  fake.script(...appendingStep(3), ...appendingStep(4));
  const restartedAt = fake.requests.length;
  const second = await startTestGateway({ home, config: config() });
  try {
    const again = await connectGateway(second.url, second.token);
    const finished = await waitFor(async () => {
      const run = await getRun(again, runId);
      return run.status === 'ok' || run.status === 'error' ? run : null;
    }, 'the resumed run to finish', 20_000);
    assert.equal(finished.status, 'ok', JSON.stringify(finished.error));
    // Every side effect exactly once: steps 1–2 before the kill, 3–4 after it.
    assert.equal(readFileSync(log, 'utf8'), 'step1\nstep2\nstep3\nstep4\n');
    const afterRestart = fake.requests.slice(restartedAt);
    assert.equal(afterRestart.length, 4, 'two model calls for each of steps 3 and 4, no new plan');
    assert.match(lastUserText(afterRestart[0]!), /Now do step 3 of 4, "s3"/u);
    assert.match(lastUserText(afterRestart[0]!), /Outputs of the finished steps:\n1\. s1: \{"done":1\}\n2\. s2: \{"done":2\}/u);
    assert.deepEqual(finished.plan?.steps.map((step) => [step.status, step.attempts, step.verification]), [
      ['done', 1, 'ok'],
      ['done', 1, 'ok'],
      ['done', 2, 'ok'],
      ['done', 1, 'ok'],
    ]);
    assert.deepEqual(
      finished.toolCalls.map((call) => call.arguments.command),
      [1, 2, 3, 4].map((n) => `echo step${n} >> steps.log`),
      'the run record lists each step\'s call once, those before the kill included',
    );
    assert.match(finished.reply ?? '', /^Done: all 4 steps of the plan\.\n1\. Append step1 to steps\.log: \{"done":1\}/u);
    const history = await again.call<{ messages: { role: string; content: string }[] }>('chat.history', { sessionKey, limit: 100 });
    assert.deepEqual(
      history.messages.map((message) => message.role),
      ['user', 'assistant'],
      'the transcript gets the message and the one reply, written together',
    );
    const shown = await runCli(['runs', 'show', runId], testEnv(home));
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^Plan {6}ok$/mu);
    assert.match(shown.stdout, /^ {2}1\. \[done\] s1: Append step1 to steps\.log {2}\(1 attempt\)$/mu);
    assert.match(shown.stdout, /^ {2}3\. \[done\] s3: Append step3 to steps\.log {2}\(2 attempts\)$/mu);
    assert.match(shown.stdout, /^ {5}tools: exec; expects a JSON object \{done: number\}$/mu);
    again.close();
  } finally {
    assert.equal(await second.stop(), 0);
  }
});

test('a step whose output fails verification is retried, then the run stops visibly; runs resume continues at that step', async () => {
  const home = newHome();
  const plan = {
    steps: [
      { id: 'count', goal: 'Count the invoices', tools: [], expect: { type: 'object', properties: { count: { type: 'number' } }, required: ['count'] } },
      { id: 'report', goal: 'Say how many there are', tools: [], expect: { type: 'string', minLength: 3 } },
    ],
  };
  fake.script({ text: JSON.stringify(plan) }, { text: 'three invoices' }, { text: 'I counted three' }, { text: '{"total": 3}' });
  const gateway = await startTestGateway({ home, config: config() });
  try {
    const client = await connectGateway(gateway.url, gateway.token);
    const sessionKey = 'agent:main:main';
    const { runId } = await client.call<{ runId: string }>('chat.send', { sessionKey, text: 'count my invoices', idempotencyKey: randomUUID() });
    const stopped = await waitFor(async () => {
      const run = await getRun(client, runId);
      return run.status === 'ok' || run.status === 'error' ? run : null;
    }, 'the run to stop', 20_000);
    assert.equal(stopped.status, 'error');
    assert.equal(stopped.error?.code, 'STEP_FAILED');
    assert.match(stopped.error?.message ?? '', /^Stopped at step 1 of 2 \("count"\): its output failed verification 3 times: count: /u);
    assert.deepEqual(stopped.plan?.steps.map((step) => [step.status, step.attempts]), [
      ['failed', 3],
      ['pending', 0],
    ]);
    assert.equal(stopped.plan?.status, 'failed');
    // The person who asked sees why it stopped.
    const history = await client.call<{ messages: { role: string; content: string }[] }>('chat.history', { sessionKey, limit: 100 });
    assert.ok(history.messages.some((message) => /Stopped at step 1 of 2 \("count"\)/u.test(message.content)), JSON.stringify(history.messages));

    const env = testEnv(home);
    const shown = await runCli(['runs', 'show', runId], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^Plan {6}failed: Stopped at step 1 of 2 \("count"\)/mu);
    assert.match(shown.stdout, /^ {2}1\. \[failed\] count: Count the invoices {2}\(3 attempts\)$/mu);
    assert.match(shown.stdout, /^ {5}verification: failed: count: /mu);
    assert.match(shown.stdout, /^ {2}2\. \[pending\] report: Say how many there are {2}\(0 attempts\)$/mu);
    const json = JSON.parse((await runCli(['runs', 'show', runId, '--json'], env)).stdout) as RunView;
    assert.equal(json.plan?.steps[0]?.verification?.startsWith('count: '), true);

    const requestsBefore = fake.requests.length;
    fake.script({ text: '{"count": 3}' }, { text: 'There are 3 invoices.' });
    const resumed = await runCli(['runs', 'resume', runId, '--json'], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    const outcome = JSON.parse(resumed.stdout) as { runId: string; resumeOf: string; status: string; reply: string };
    assert.equal(outcome.resumeOf, runId);
    assert.equal(outcome.status, 'ok');
    assert.match(outcome.reply, /2\. Say how many there are: There are 3 invoices\./u);
    assert.equal(fake.requests.length - requestsBefore, 2, 'no new plan: only the two unfinished steps');
    const again = await getRun(client, outcome.runId);
    assert.equal(again.plan?.resumeOf, runId);
    const refused = await runCli(['runs', 'resume', outcome.runId], env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr + refused.stdout, /only a failed or stopped structured run can be resumed/u);
    client.close();
  } finally {
    assert.equal(await gateway.stop(), 0);
  }
  assert.equal(existsSync(join(home, 'workspaces', 'main', 'steps.log')), false);
});
