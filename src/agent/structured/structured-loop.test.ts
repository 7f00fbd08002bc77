import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentProfile, AgentTurnInput, AgentTurnOutput } from '../agent-loop.js';
import { createSqliteStore } from '../../store/sqlite/sqlite-store.js';
import type { Store } from '../../contracts/store.js';
import { createStructuredLoop } from './structured-loop.js';

const agent: AgentProfile = { id: 'main', name: 'main', workspaceDir: '/tmp', modelRefs: ['fake/echo'], toolPolicy: {}, maxSteps: 4, turnTimeoutMs: 10_000, contextTokens: 32_000, maxOutputTokens: 1000 };
const toolNames = ['exec', 'read', 'write'];

const plan = {
  steps: [
    { id: 'count', goal: 'Count the files', tools: ['exec'], expect: { type: 'object', properties: { files: { type: 'number' } }, required: ['files'] } },
    { id: 'report', goal: 'Write the report', tools: ['write'], expect: { type: 'string', minLength: 3 } },
  ],
};

type Reply = string | 'aborted';

/** A scripted agent loop: each call takes the next reply and remembers what it was given. */
function scriptedLoop(replies: Reply[]) {
  const calls: AgentTurnInput[] = [];
  const runTurn = async (input: AgentTurnInput): Promise<AgentTurnOutput> => {
    calls.push(input);
    const reply = replies.shift();
    if (reply === undefined) throw new Error('unexpected model call');
    const usage = { inputTokens: 10, outputTokens: 5 };
    if (reply === 'aborted') return { status: 'aborted', reply: '', messages: [], toolCalls: [], usage };
    const allowed = toolNames.filter((name) => !Object.hasOwn(input.agent.toolPolicy.withheld ?? {}, name));
    const toolCalls = allowed.length === 1 ? [{ name: allowed[0]!, arguments: {}, result: 'ok', durationMs: 1 }] : [];
    return { status: 'ok', reply, messages: [{ role: 'assistant', content: reply }], toolCalls, usage, modelRef: 'fake/echo' };
  };
  return { calls, runTurn };
}

async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const store = createSqliteStore({ path: ':memory:' });
  await store.migrate();
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

function input(runId: string, signal = new AbortController().signal): AgentTurnInput {
  return { runId, sessionKey: 'agent:main:main', agent, system: 'You help.', messages: [{ role: 'user', content: 'count and report' }], signal, onDelta: () => {}, recordStep: async () => {} };
}

const loopWith = (store: Store, runTurn: ReturnType<typeof scriptedLoop>['runTurn']) =>
  createStructuredLoop({ runTurn, store, tools: { specs: () => toolNames.map((name) => ({ name, description: name, parameters: {} })) } });

test('a plan runs step by step with only each step\'s tools, checkpointing every step; the reply lists the outputs', async () => {
  await withStore(async (store) => {
    const model = scriptedLoop([JSON.stringify(plan), '{"files": 3}', 'three files']);
    const output = await loopWith(store, model.runTurn)(input('r1'));
    assert.equal(output.status, 'ok');
    assert.equal(output.reply, 'Done: all 2 steps of the plan.\n1. Count the files: {"files":3}\n2. Write the report: three files');
    assert.deepEqual(output.usage, { inputTokens: 30, outputTokens: 15 });
    assert.deepEqual(Object.keys(model.calls[0]!.agent.toolPolicy.withheld ?? {}), toolNames, 'no tool while planning');
    assert.deepEqual(Object.keys(model.calls[1]!.agent.toolPolicy.withheld ?? {}), ['read', 'write'], 'step 1 may only exec');
    assert.deepEqual(Object.keys(model.calls[2]!.agent.toolPolicy.withheld ?? {}), ['exec', 'read'], 'step 2 may only write');
    assert.match(model.calls[2]!.messages[0]!.content, /Outputs of the finished steps:\n1\. count: \{"files":3\}/u);
    const record = await store.getRunPlan('r1');
    assert.equal(record?.status, 'ok');
    assert.deepEqual(record?.steps.map((step) => [step.id, step.status, step.attempts, step.verification]), [
      ['count', 'done', 1, 'ok'],
      ['report', 'done', 1, 'ok'],
    ]);
  });
});

test('a run interrupted during step 2 goes on at step 2: the plan is not made again and step 1 does not run again', async () => {
  await withStore(async (store) => {
    const first = scriptedLoop([JSON.stringify(plan), '{"files": 3}', 'aborted']);
    const interrupted = await loopWith(store, first.runTurn)(input('r2'));
    assert.equal(interrupted.status, 'aborted');
    assert.equal((await store.getRunPlan('r2'))?.steps[1]?.status, 'running');
    const second = scriptedLoop(['report written']);
    const output = await loopWith(store, second.runTurn)(input('r2'));
    assert.equal(output.status, 'ok');
    assert.equal(second.calls.length, 1, 'one model call: step 2');
    assert.match(second.calls[0]!.messages[0]!.content, /Now do step 2 of 2, "report"/u);
    assert.deepEqual((await store.getRunPlan('r2'))?.steps.map((step) => step.attempts), [1, 2]);
    assert.deepEqual(output.toolCalls.map((call) => call.name), ['exec', 'write'], 'the calls of the step done before the restart are the run\'s too');
  });
});

test('a step whose output fails verification is retried with the reason, then the run stops saying which step and why', async () => {
  await withStore(async (store) => {
    const model = scriptedLoop([JSON.stringify(plan), 'three', 'still three', '{"count": 3}']);
    const output = await loopWith(store, model.runTurn)(input('r3'));
    assert.equal(output.status, 'error');
    assert.equal(output.error?.code, 'STEP_FAILED');
    assert.match(output.reply, /^Stopped at step 1 of 2 \("count"\): its output failed verification 3 times: files: /u);
    assert.match(output.reply, /hearth runs resume r3/u);
    assert.match(model.calls[2]!.messages[0]!.content, /Your previous output for this step was refused: the output is not JSON/u);
    const record = await store.getRunPlan('r3');
    assert.equal(record?.status, 'failed');
    assert.equal(record?.reason, output.reply);
    assert.deepEqual([record?.steps[0]?.status, record?.steps[0]?.attempts, record?.steps[1]?.status], ['failed', 3, 'pending']);

    // Resumed as a new run: the failed step runs again, from a clean count.
    const resumed = scriptedLoop(['{"files": 3}', 'done now']);
    const again = await loopWith(store, resumed.runTurn)({ ...input('r4'), resumeOf: 'r3' } as AgentTurnInput);
    assert.equal(again.status, 'ok');
    assert.equal(resumed.calls.length, 2, 'no new plan: the two steps only');
    assert.equal((await store.getRunPlan('r4'))?.resumeOf, 'r3');
  });
});

test('a step already done in the stopped run is not run again when it is resumed', async () => {
  await withStore(async (store) => {
    const model = scriptedLoop([JSON.stringify(plan), '{"files": 3}', 'x', 'y', 'z']);
    assert.equal((await loopWith(store, model.runTurn)(input('r5'))).status, 'error');
    const resumed = scriptedLoop(['fine report']);
    const output = await loopWith(store, resumed.runTurn)({ ...input('r6'), resumeOf: 'r5' } as AgentTurnInput);
    assert.equal(output.status, 'ok');
    assert.equal(resumed.calls.length, 1);
    assert.match(resumed.calls[0]!.messages[0]!.content, /Now do step 2 of 2/u);
  });
});

test('a plan that is invalid twice stops the run before anything is done, saying why', async () => {
  await withStore(async (store) => {
    const model = scriptedLoop(['I will simply do it.', '{"steps": []}']);
    const output = await loopWith(store, model.runTurn)(input('r7'));
    assert.equal(output.status, 'error');
    assert.equal(output.error?.code, 'PLAN_INVALID');
    assert.match(output.reply, /did not give a valid plan after 2 tries \(steps: /u);
    assert.match(model.calls[1]!.messages.at(-1)!.content, /That plan is not valid: the reply holds no JSON plan/u);
    assert.equal(await store.getRunPlan('r7'), null);
  });
});

test('a step interrupted after a side-effecting call is told that the call already ran', async () => {
  await withStore(async (store) => {
    await store.acceptTurn({ runId: 'r8', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'count and report', now: 1 });
    let clock = 1000;
    const model = scriptedLoop([JSON.stringify(plan), 'aborted']);
    const loop = (runTurn: ReturnType<typeof scriptedLoop>['runTurn']) =>
      createStructuredLoop({ runTurn, store, now: () => clock++, sideEffectTools: () => ['exec', 'write'], tools: { specs: () => toolNames.map((name) => ({ name, description: name, parameters: {} })) } });
    await loop(model.runTurn)(input('r8'));
    const startedAt = (await store.getRunPlan('r8'))!.steps[0]!.startedAt!;
    await store.recordStep('r8', { kind: 'tool', name: 'exec', input: { command: 'mv invoices/a.pdf filed/' }, output: 'ok', startedAt: startedAt + 1, durationMs: 2 });
    await store.recordStep('r8', { kind: 'tool', name: 'read', input: { path: 'a' }, output: 'x', startedAt: startedAt + 2, durationMs: 1 });
    const again = scriptedLoop(['{"files": 1}', 'report']);
    assert.equal((await loop(again.runTurn)(input('r8'))).status, 'ok');
    assert.match(again.calls[0]!.messages[0]!.content, /interrupted after these calls had already run: exec \{"command":"mv invoices\/a\.pdf filed\/"\}\. Do not run them again/u);
    assert.doesNotMatch(again.calls[0]!.messages[0]!.content, /read \{"path"/u, 'calls that change nothing are not listed');
    assert.doesNotMatch(again.calls[1]!.messages[0]!.content, /interrupted/u, 'the next step starts clean');
  });
});
