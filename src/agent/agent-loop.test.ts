import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelRouter, RoutedModelEvent } from '../contracts/model-provider.js';
import type { RunStepInput } from '../contracts/store.js';
import { createBuiltinTools, createToolRegistry } from '../tools/tool-registry.js';
import { type AgentProfile, createAgentLoop } from './agent-loop.js';

const agent: AgentProfile = {
  id: 'main',
  name: 'main',
  workspaceDir: '/nonexistent',
  modelRefs: ['fake/m'],
  toolPolicy: {},
  maxSteps: 3,
  turnTimeoutMs: 5000,
  contextTokens: 32_000,
  maxOutputTokens: 1000,
};

/** A router that plays one scripted list of events per model call. */
function scriptedRouter(calls: ((signal: AbortSignal) => AsyncIterable<RoutedModelEvent>)[]): ModelRouter {
  let index = 0;
  return {
    stream: (_refs, request) => {
      const next = calls[Math.min(index++, calls.length - 1)]!;
      return next(request.signal);
    },
    has: () => true,
    list: () => [],
  };
}

async function* events(...list: RoutedModelEvent[]): AsyncIterable<RoutedModelEvent> {
  for (const event of list) yield event;
}

function input(overrides: Partial<AgentProfile> = {}, signal = new AbortController().signal) {
  const steps: RunStepInput[] = [];
  return {
    steps,
    value: {
      runId: 'r1',
      sessionKey: 'agent:main:main',
      agent: { ...agent, ...overrides },
      system: 'system',
      messages: [{ role: 'user' as const, content: 'hi' }],
      signal,
      onDelta: () => {},
      recordStep: async (step: RunStepInput) => void steps.push(step),
    },
  };
}

const tools = createToolRegistry(createBuiltinTools());

test('tool calls with bad JSON or unknown tools come back to the model as errors, and the loop goes on', async () => {
  const runTurn = createAgentLoop({
    models: scriptedRouter([
      () =>
        events(
          { type: 'tool-call', id: 'c1', name: 'nope', arguments: '{}' },
          { type: 'tool-call', id: 'c2', name: 'current_time', arguments: '{not json' },
          { type: 'finish', reason: 'tool-calls', modelRef: 'fake/m' },
        ),
      () => events({ type: 'text-delta', text: 'sorry' }, { type: 'finish', reason: 'stop', modelRef: 'fake/m' }),
    ]),
    tools,
  });
  const { value, steps } = input();
  const output = await runTurn(value);
  assert.equal(output.status, 'ok');
  assert.equal(output.reply, 'sorry');
  assert.match(output.toolCalls[0]?.error ?? '', /no tool named "nope"/);
  assert.match(output.toolCalls[1]?.error ?? '', /not valid JSON/);
  assert.deepEqual(steps.map((step) => step.kind), ['model', 'tool', 'tool', 'model']);
  assert.deepEqual(output.messages.map((message) => message.role), ['assistant', 'tool', 'tool', 'assistant']);
});

test('the step limit ends a turn that keeps calling tools', async () => {
  const runTurn = createAgentLoop({
    models: scriptedRouter([() => events({ type: 'tool-call', id: 'c', name: 'current_time', arguments: '{}' }, { type: 'finish', reason: 'tool-calls' })]),
    tools,
  });
  const output = await runTurn(input({ maxSteps: 2 }).value);
  assert.equal(output.status, 'error');
  assert.equal(output.error?.code, 'TURN_FAILED');
  assert.equal(output.toolCalls.length, 2);
});

test('the turn timeout stops a stalled model', async () => {
  const stalled = (signal: AbortSignal): AsyncIterable<RoutedModelEvent> => ({
    async *[Symbol.asyncIterator]() {
      yield { type: 'text-delta', text: 'hm' };
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      yield { type: 'finish', reason: 'aborted' };
    },
  });
  const runTurn = createAgentLoop({ models: scriptedRouter([stalled]), tools });
  const started = Date.now();
  const output = await runTurn(input({ turnTimeoutMs: 100 }).value);
  assert.ok(Date.now() - started < 2000);
  assert.equal(output.status, 'error');
  assert.equal(output.error?.code, 'TURN_TIMEOUT');
  assert.equal(output.reply, 'hm');
});

test('with no model the turn says how to add one', async () => {
  const runTurn = createAgentLoop({ models: scriptedRouter([]), tools });
  const output = await runTurn(input({ modelRefs: [] }).value);
  assert.equal(output.error?.code, 'NO_MODEL');
  assert.match(output.error?.message ?? '', /models\.providers/);
});

test('plugin hooks: before_tool_call may refuse a call before it runs; after_tool_call sees each call that ran, with its result', async () => {
  const after: { tool: string; content: string }[] = [];
  const runTurn = createAgentLoop({
    models: scriptedRouter([
      () =>
        events(
          { type: 'tool-call', id: 'c1', name: 'list', arguments: '{}' },
          { type: 'tool-call', id: 'c2', name: 'current_time', arguments: '{}' },
          { type: 'finish', reason: 'tool-calls', modelRef: 'fake/m' },
        ),
      () => events({ type: 'text-delta', text: 'ok' }, { type: 'finish', reason: 'stop', modelRef: 'fake/m' }),
    ]),
    tools,
    toolHooks: {
      before: async ({ tool }) => (tool === 'list' ? { refuse: 'no listing today', plugin: 'guard' } : null),
      after: async ({ tool, result }) => void after.push({ tool, content: result.content }),
    },
  });
  const output = await runTurn(input().value);
  assert.equal(output.toolCalls[0]?.outcome, 'refused');
  assert.equal(output.toolCalls[0]?.refusedBy, 'plugin guard');
  assert.equal(output.toolCalls[0]?.result, 'Refused by the plugin "guard": no listing today');
  assert.equal(output.toolCalls[1]?.outcome, 'ok');
  assert.deepEqual(after.map((entry) => entry.tool), ['current_time'], 'a refused call did not run, so after_tool_call does not see it');
  assert.equal(after[0]?.content, output.toolCalls[1]?.result);
});
