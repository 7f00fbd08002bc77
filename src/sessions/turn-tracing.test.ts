import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgentDirectory } from '../agent/agent-directory.js';
import type { AgentLoop } from '../agent/agent-loop.js';
import { createWorkspaceContext } from '../agent/workspace-context.js';
import { configSchema } from '../config/schema.js';
import type { TraceContext, Tracer, TurnTraceStart } from '../contracts/tracing.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { createSessionLanes } from './session-lanes.js';
import { createTurnService, type LaneOwnership } from './turn-service.js';

const silent = { info() {}, warn() {}, error() {} };

/** A tracer that writes down what the turn service told it, one list of events per started trace (as the contract says, nothing after `end` or `discard`). */
function recordingTracer() {
  const traces: { start: TurnTraceStart; context: TraceContext; events: string[] }[] = [];
  const tracer: Tracer = {
    enabled: true,
    startTurn(start) {
      const n = traces.length + 1;
      const context = { traceId: String(n).padStart(32, '0'), spanId: String(n).padStart(16, '0') };
      const events: string[] = [];
      traces.push({ start, context, events });
      let done = false;
      const note = (event: string, last = false) => {
        if (!done) events.push(event);
        done ||= last;
      };
      return {
        context,
        discard: () => note('discard', true),
        laneWait: (from, to) => note(to >= from ? 'lane.wait' : 'lane.wait backwards'),
        step: (step) => note(`${step.kind}:${step.name}${step.error ? ' (error)' : ''}`),
        end: (outcome) => note(`end ${outcome.status}${outcome.error ? ` ${outcome.error.code}` : ''}`, true),
      };
    },
    delivery() {},
    traceIdOf: () => undefined,
  };
  return { tracer, traces };
}

function setup(runTurn: AgentLoop, tracer: Tracer, ownership?: LaneOwnership) {
  const store = createSqliteStore({ path: ':memory:' });
  const directory = createAgentDirectory(configSchema().parse({ agents: { defaults: { model: 'fake/echo' } } }), { workspacesDir: '/nonexistent/workspaces', home: '/nonexistent' });
  const turns = createTurnService({
    store,
    lanes: createSessionLanes({ maxConcurrent: 2 }),
    runTurn,
    workspaceContext: createWorkspaceContext(),
    agents: () => directory,
    maxTurnAttempts: () => 3,
    logger: silent,
    tracer,
    ...(ownership ? { ownership } : {}),
  });
  return { store, turns };
}

/** One model call asking for a tool, the tool, then the answer. */
const withTool: AgentLoop = async (input) => {
  const now = Date.now();
  await input.recordStep({ kind: 'model', name: 'fake/echo', output: { text: '', toolCalls: [{ id: 'c1', name: 'read', arguments: '{}' }] }, startedAt: now, durationMs: 2 });
  await input.recordStep({ kind: 'tool', name: 'read', input: {}, output: 'no such file', error: 'no such file', startedAt: now + 2, durationMs: 1 });
  await input.recordStep({ kind: 'model', name: 'fake/echo', output: { text: 'done', toolCalls: [] }, startedAt: now + 3, durationMs: 2 });
  return { status: 'ok', reply: 'done', messages: [{ role: 'assistant', content: 'done' }], toolCalls: [], usage: { inputTokens: 1, outputTokens: 1 } };
};

test('a traced turn: its trace ids are kept in the run record, and the trace hears the lane wait, each step and the result', async () => {
  const { tracer, traces } = recordingTracer();
  const { store, turns } = setup(withTool, tracer);
  const accepted = await turns.submit({ sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'read it' });
  await turns.waitFor(accepted.runId);
  assert.equal(traces.length, 1);
  const [trace] = traces;
  assert.deepEqual(
    { runId: trace?.start.runId, sessionKey: trace?.start.sessionKey, agentId: trace?.start.agentId, channel: trace?.start.channel },
    { runId: accepted.runId, sessionKey: 'agent:main:main', agentId: 'main', channel: 'ws' },
  );
  assert.deepEqual(trace?.events, ['lane.wait', 'model:fake/echo', 'tool:read (error)', 'model:fake/echo', 'end ok']);
  assert.deepEqual((await store.getRun(accepted.runId))?.options?.trace, trace?.context);
  await store.close();
});

test('a failed turn ends its trace with the error; a duplicate message\'s trace is discarded, never ended', async () => {
  const { tracer, traces } = recordingTracer();
  const { store, turns } = setup(async () => ({ status: 'error', reply: '', messages: [], toolCalls: [], usage: { inputTokens: 0, outputTokens: 0 }, error: Object.assign(new Error('refused'), { code: 'PROVIDER_ERROR' }) as never }), tracer);
  const idempotency = { scope: 'telegram:default', key: 'message-1' };
  const first = await turns.submit({ sessionKey: 'agent:main:main', agentId: 'main', source: 'channel', text: 'x', idempotency });
  await turns.waitFor(first.runId);
  const again = await turns.submit({ sessionKey: 'agent:main:main', agentId: 'main', source: 'channel', text: 'x', idempotency });
  assert.equal(again.duplicate, true);
  await turns.drain(1000);
  assert.deepEqual(traces[0]?.events, ['lane.wait', 'end error PROVIDER_ERROR']);
  assert.deepEqual(traces[1]?.events, ['discard']);
  await store.close();
});

test('a turn re-run after a restart continues the trace of its first attempt', async () => {
  const { tracer, traces } = recordingTracer();
  const { store, turns } = setup(withTool, tracer);
  const parent = { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8) };
  await store.acceptTurn({ runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'again', options: { trace: parent }, now: 1 });
  await store.startTurn('r1', { now: 2, historyLimit: 10 });
  await turns.recover();
  await turns.waitFor('r1');
  assert.deepEqual(traces[0]?.start.parent, parent);
  assert.equal(traces[0]?.events.at(-1), 'end ok');
  await store.close();
});

test('in a cluster, a turn whose lane another node holds drops this node\'s trace; the run record keeps the ids for the node that runs it', async () => {
  const { tracer, traces } = recordingTracer();
  const { store, turns } = setup(withTool, tracer, { claim: async () => false, release() {} });
  const accepted = await turns.submit({ sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'elsewhere' });
  assert.deepEqual(traces[0]?.events, ['discard']);
  assert.deepEqual((await store.getRun(accepted.runId))?.options?.trace, traces[0]?.context);
  assert.equal((await store.getRun(accepted.runId))?.status, 'queued');
  await turns.drain(100);
  await store.close();
});
