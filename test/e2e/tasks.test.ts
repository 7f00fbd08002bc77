import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chatTurn, type ModelRequestBody } from '../support/chat-turn.js';
import { fakeModelConfig, type FakeModelServer, type FakeStep, type RecordedRequest, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

interface ShownTask {
  id: string;
  title: string;
  status: string;
  createdBy: string;
  dependsOn: string[];
  result: string | null;
  claimedBy: string | null;
  claimAgent: string | null;
  runId: string | null;
  attempts: number;
  leaseUntil: number | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

let model: FakeModelServer;
const homes: string[] = [];
before(async () => {
  model = await startFakeModelServer();
});
after(async () => {
  await model?.close();
  for (const home of homes) removeHome(home);
});

const config = () => ({
  ...fakeModelConfig(model),
  agents: { defaults: { model: 'fake/echo' }, entries: { planner: { default: true }, builder: {} } },
  // Claims last 1.2 s unless renewed, so a turn longer than that shows the renewal, and a dead claimer's task is free soon.
  tasks: { take: ['builder'], leaseMs: 1200, pollMs: 100 },
});

const json = <T>(result: { code: number | null; stdout: string; stderr: string }): T => {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
};

const bodyOf = (request: RecordedRequest) => request.body as ModelRequestBody;
const lastUser = (body: ModelRequestBody) => body.messages.findLast((message) => message.role === 'user')?.content ?? '';
const toolResults = (body: ModelRequestBody) => body.messages.filter((message) => message.role === 'tool').map((message) => message.content);
const isTaskTurn = (body: ModelRequestBody, title: string) => lastUser(body).startsWith('You are working on task') && lastUser(body).includes(title);
const createdId = (toolResult: string) => /^Created (task-[0-9a-f]+) /.exec(toolResult)?.[1];

async function tasksOf(gateway: TestGateway): Promise<ShownTask[]> {
  return json<ShownTask[]>(await runCli(['tasks', 'list', '--json'], testEnv(gateway.home, { HEARTH_GATEWAY_URL: gateway.url })));
}

test('two agents and a dependency chain: the planner creates t1 and t2 (after t1); the builder takes t1, then t2, which sees t1\'s result', async () => {
  const home = makeHome();
  homes.push(home);
  model.setDefault((request): FakeStep => {
    const body = bodyOf(request);
    if (lastUser(body) === 'plan the invoices') {
      const results = toolResults(body);
      if (results.length === 0) return { toolCalls: [{ name: 'task', arguments: { action: 'create', title: 'collect the invoices', instructions: 'Count the invoices in inbox/.', assignees: ['builder'] } }] };
      if (results.length === 1) return { toolCalls: [{ name: 'task', arguments: { action: 'create', title: 'file the invoices', instructions: 'File what t1 found.', dependsOn: [createdId(results[0] ?? '')] } }] };
      return { text: 'Two tasks are queued for the builder.' };
    }
    if (isTaskTurn(body, 'file the invoices')) return { text: lastUser(body).includes('collect the invoices): found 3 invoices') ? 'filed the 3 invoices' : 'filed without the count' };
    // The first task's turn takes longer than the lease: the builder's gateway must renew its claim meanwhile.
    if (isTaskTurn(body, 'collect the invoices')) return { text: 'found 3 invoices', chunkSize: 4, delayMs: 1000 };
    return { text: 'unexpected request' };
  });
  const gateway = await startTestGateway({ home, config: config() });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  try {
    const planned = await chatTurn(gateway, model, 'plan the invoices', 'hearth/planner');
    assert.equal(planned.reply, 'Two tasks are queued for the builder.');
    assert.ok(planned.offered.includes('task'), 'agents get the task tool');
    const created = await tasksOf(gateway);
    const t1 = created.find((task) => task.title === 'collect the invoices');
    const t2 = created.find((task) => task.title === 'file the invoices');
    assert.equal(created.length, 2);
    assert.deepEqual(t2?.dependsOn, [t1?.id]);
    assert.equal(t2?.createdBy, 'planner');

    // While the long turn runs, the builder's gateway pushes its lease forward.
    const claimed = await waitFor(async () => (await tasksOf(gateway)).find((task) => task.id === t1?.id && task.status === 'claimed'), 't1 claimed', 10_000, 50);
    const renewed = await waitFor(async () => {
      const current = (await tasksOf(gateway)).find((task) => task.id === t1?.id);
      return current?.status === 'claimed' && (current.leaseUntil ?? 0) > (claimed.leaseUntil ?? 0) ? current : null;
    }, 'the claim on t1 renewed while its turn runs', 5000, 50);
    assert.equal(renewed.claimedBy, claimed.claimedBy);

    const finished = await waitFor(async () => {
      const tasks = await tasksOf(gateway);
      return tasks.every((task) => task.status === 'done') ? tasks : null;
    }, 'both tasks done', 20_000, 100);
    const first = finished.find((task) => task.id === t1?.id)!;
    const second = finished.find((task) => task.id === t2?.id)!;
    assert.equal(first.result, 'found 3 invoices');
    assert.equal(second.result, 'filed the 3 invoices', 't2 ran after t1 and was given its result');
    assert.ok((first.finishedAt ?? Infinity) <= (second.finishedAt ?? 0));
    assert.equal(first.claimAgent, 'builder');
    assert.equal(first.attempts, 1, 'claimed once');
    const taskTurns = model.requests.map(bodyOf).filter((body) => lastUser(body).startsWith('You are working on task'));
    assert.deepEqual(
      taskTurns.map((body) => (lastUser(body).includes('file the invoices') ? 't2' : 't1')),
      ['t1', 't2'],
      'one turn each, in dependency order',
    );

    const run = json<{ trigger: string; sessionKey: string; agentId: string }>(await runCli(['runs', 'show', first.runId!, '--json'], env));
    assert.deepEqual([run.trigger, run.sessionKey, run.agentId], ['task', `task:${first.id}`, 'builder']);
    const shown = await runCli(['tasks', 'show', second.id], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`depends on: +${first.id} \\(all done\\)`));
    assert.match(shown.stdout, /Result:\nfiled the 3 invoices/);
    const done = json<ShownTask[]>(await runCli(['tasks', 'list', '--status', 'done', '--json'], env));
    assert.equal(done.length, 2);
    const cancelDone = await runCli(['tasks', 'cancel', first.id], env);
    assert.equal(cancelDone.code, 0, cancelDone.stderr);
    assert.match(cancelDone.stdout, new RegExp(`${first.id} was already done; nothing changed`));
    const missing = await runCli(['tasks', 'show', 'task-nope'], env);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No task task-nope/);
  } finally {
    await gateway.stop();
    model.setDefault(null);
  }
});

test('a task whose gateway was killed mid-turn is claimed again after its lease and completed once, by the restarted gateway', async () => {
  const home = makeHome();
  homes.push(home);
  let attempts = 0;
  model.setDefault((request): FakeStep => {
    const body = bodyOf(request);
    if (lastUser(body) === 'queue the summary') {
      return toolResults(body).length === 0 ? { toolCalls: [{ name: 'task', arguments: { action: 'create', title: 'summarise the week', instructions: 'Summarise notes/.' } }] } : { text: 'queued' };
    }
    if (isTaskTurn(body, 'summarise the week')) {
      attempts += 1;
      return attempts === 1 ? { hang: true } : { text: 'the week, summarised' };
    }
    return { text: 'unexpected request' };
  });
  let gateway = await startTestGateway({ home, config: config() });
  try {
    await chatTurn(gateway, model, 'queue the summary', 'hearth/planner');
    await waitFor(() => attempts === 1, 'the builder working on the task', 10_000);
    const [claimed] = await tasksOf(gateway);
    assert.equal(claimed?.status, 'claimed');
    const deadClaimer = claimed?.claimedBy;
    await gateway.kill();

    gateway = await startTestGateway({ home, config: config() });
    const task = await waitFor(async () => {
      const [current] = await tasksOf(gateway);
      return current?.status === 'done' ? current : null;
    }, 'the task done after the restart', 20_000, 100);
    assert.equal(task.result, 'the week, summarised');
    assert.equal(task.attempts, 2, 'claimed a second time, once the dead claim\'s lease ran out');
    assert.notEqual(task.claimedBy, deadClaimer);
    assert.match(task.claimedBy ?? '', /^worker:.*:builder$/);
    assert.equal(attempts, 2, 'the interrupted turn ran once more, not once per claimer');
  } finally {
    await gateway.stop();
    model.setDefault(null);
  }
});
