import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv } from '../support/gateway-harness.js';

let model: FakeModelServer;
const homes: string[] = [];

before(async () => {
  model = await startFakeModelServer();
});
after(async () => {
  await model?.close();
  for (const home of homes) removeHome(home);
});

interface RunDetail {
  runId: string;
  trigger: string;
  status: string;
  provider: string | null;
  model: string | null;
  usage: { inputTokens: number; outputTokens: number } | null;
  steps: { seq: number; kind: string; name: string; input?: unknown; output?: unknown; durationMs: number }[];
  toolCalls: { name: string; arguments: unknown; result: string }[];
}

test('runs list and runs show tell what a run did, step by step, with secrets redacted', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0, apiKey: 'provider-key-0123456789' } } },
      agents: { defaults: { model: 'fake/echo' } },
    },
  });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  try {
    model.script({ toolCalls: [{ name: 'write', arguments: { path: 'note.txt', content: 'my key is sk-abcdefghijklmnopqrstuv and provider-key-0123456789' } }] });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'hearth', user: 'ada', messages: [{ role: 'user', content: 'save my key' }] }),
    });
    const body = (await response.json()) as { hearth: { runId: string } };
    const runId = body.hearth.runId;

    const listed = await runCli(['runs', 'list', '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const runs = JSON.parse(listed.stdout) as { runId: string; trigger: string; status: string; provider: string; model: string; toolCalls: number }[];
    const summary = runs.find((run) => run.runId === runId);
    assert.deepEqual(
      { trigger: summary?.trigger, status: summary?.status, provider: summary?.provider, model: summary?.model, toolCalls: summary?.toolCalls },
      { trigger: 'openai', status: 'ok', provider: 'fake', model: 'echo', toolCalls: 1 },
    );

    const shown = await runCli(['runs', 'show', runId, '--json'], env);
    assert.equal(shown.code, 0, shown.stderr);
    const detail = JSON.parse(shown.stdout) as RunDetail;
    assert.deepEqual(
      detail.steps.map((step) => `${step.kind}:${step.name}`),
      ['model:fake/echo', 'tool:write', 'model:fake/echo'],
    );
    assert.ok(detail.steps.every((step) => typeof step.durationMs === 'number'));
    assert.doesNotMatch(shown.stdout, /sk-abcdefghijklmnopqrstuv|provider-key-0123456789/u, 'secrets never leave the gateway');
    assert.match(JSON.stringify(detail.toolCalls[0]?.arguments), /\[redacted\]/u);

    const text = await runCli(['runs', 'show', runId], env);
    assert.match(text.stdout, /Trigger {3}openai/u);
    assert.match(text.stdout, /2\. tool write/u);
    const missing = await runCli(['runs', 'show', 'run_nope'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No run run_nope/u);
  } finally {
    await gateway.stop();
  }
});

test('runs replay re-executes a run from the same context without side-effecting tools; runs diff compares the two', async () => {
  const home = makeHome();
  homes.push(home);
  const gateway = await startTestGateway({
    home,
    config: {
      ...fakeModelConfig(model),
    },
  });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  const ask = async (content: string) => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'hearth', user: 'grace', messages: [{ role: 'user', content }] }),
    });
    return ((await response.json()) as { hearth: { runId: string } }).hearth.runId;
  };
  try {
    await ask('remember the colour blue');
    model.script({ toolCalls: [{ name: 'write', arguments: { path: 'note.txt', content: 'first' } }] });
    const original = await ask('write it down');
    const note = join(home, 'workspaces', 'main', 'note.txt');
    assert.equal(readFileSync(note, 'utf8'), 'first');
    await ask('something later');

    model.script({ toolCalls: [{ name: 'write', arguments: { path: 'note.txt', content: 'second' } }] });
    const replayed = await runCli(['runs', 'replay', original, '--json'], env);
    assert.equal(replayed.code, 0, replayed.stderr);
    const replay = JSON.parse(replayed.stdout) as { runId: string; replayOf: string; status: string; finished: boolean };
    assert.equal(replay.replayOf, original);
    assert.equal(replay.finished, true);
    assert.equal(readFileSync(note, 'utf8'), 'first', 'the replay changed nothing on disk');
    const replayRequest = model.requests.filter((request) => request.path.endsWith('/chat/completions')).at(-2)?.body as {
      messages: { role: string; content: string }[];
      tools?: { function: { name: string } }[];
    };
    assert.ok(!(replayRequest.tools ?? []).some((tool) => tool.function.name === 'write'), 'write is not offered to the model');
    assert.deepEqual(
      replayRequest.messages.filter((message) => message.role === 'user').map((message) => message.content),
      ['remember the colour blue', 'write it down'],
      'the replay starts from the transcript the run started from, not from later messages',
    );
    const detail = JSON.parse((await runCli(['runs', 'show', replay.runId, '--json'], env)).stdout) as RunDetail;
    assert.equal(detail.trigger, 'replay');
    assert.match(detail.toolCalls[0]?.result ?? '', /not allowed|denied|no tool/iu);

    const diff = await runCli(['runs', 'diff', original, replay.runId], env);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /trigger {3}openai → replay/u);
    assert.match(diff.stdout, /- write \{"path":"note\.txt","content":"first"\}/u);
    assert.match(diff.stdout, /\+ write \{"path":"note\.txt","content":"second"\} \(error: /u);
    const json = JSON.parse((await runCli(['runs', 'diff', original, original, '--json'], env)).stdout) as { sameReply: boolean; fields: Record<string, { same: boolean }> };
    assert.equal(json.sameReply, true);
    assert.ok(Object.values(json.fields).every((field) => field.same));
  } finally {
    await gateway.stop();
  }
});
