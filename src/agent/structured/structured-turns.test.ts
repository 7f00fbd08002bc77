import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgentDirectory } from '../agent-directory.js';
import type { AgentLoop } from '../agent-loop.js';
import { createWorkspaceContext } from '../workspace-context.js';
import { configSchema } from '../../config/schema.js';
import { createSqliteStore } from '../../store/sqlite/sqlite-store.js';
import { createSessionLanes } from '../../sessions/session-lanes.js';
import { createTurnService } from '../../sessions/turn-service.js';

const silent = { info() {}, warn() {}, error() {} };

/** A turn service whose conversational and structured loops only say which one ran. */
function setup(agents: Record<string, unknown>) {
  const store = createSqliteStore({ path: ':memory:' });
  const directory = createAgentDirectory(configSchema().parse({ agents }), { workspacesDir: '/nonexistent/workspaces', home: '/nonexistent' });
  const answer = (reply: string): AgentLoop => async () => ({ status: 'ok', reply, messages: [{ role: 'assistant', content: reply }], toolCalls: [], usage: { inputTokens: 1, outputTokens: 1 } });
  const resumed: (string | undefined)[] = [];
  const structured = answer('structured');
  const turns = createTurnService({
    store,
    lanes: createSessionLanes({ maxConcurrent: 2 }),
    runTurn: answer('conversational'),
    runStructuredTurn: async (input) => {
      resumed.push(input.resumeOf);
      return structured(input);
    },
    workspaceContext: createWorkspaceContext(),
    agents: () => directory,
    maxTurnAttempts: () => 3,
    logger: silent,
  });
  const send = async (agentId: string, options?: Parameters<typeof turns.submit>[0]['options']) => {
    const accepted = await turns.submit({ sessionKey: `agent:${agentId}:main`, agentId, source: 'ws', text: 'go', ...(options ? { options } : {}) });
    return (await turns.waitFor(accepted.runId)).reply;
  };
  return { store, send, resumed };
}

test('agents.*.loop chooses the loop (conversational by default); a turn\'s own loop option wins', async () => {
  const { store, send, resumed } = setup({ defaults: { model: 'fake/echo' }, entries: { main: { default: true }, planner: { loop: 'structured' }, chatty: { loop: 'conversational' } } });
  try {
    assert.equal(await send('main'), 'conversational');
    assert.equal(await send('chatty'), 'conversational');
    assert.equal(await send('planner'), 'structured');
    assert.equal(await send('main', { loop: 'structured' }), 'structured', 'a cron job with loop "structured"');
    assert.equal(await send('planner', { loop: 'conversational' }), 'conversational');
    assert.equal(await send('main', { loop: 'structured', resumeOf: 'run_old' }), 'structured');
    assert.deepEqual(resumed, [undefined, undefined, 'run_old']);
  } finally {
    await store.close();
  }
});

test('agents.defaults.loop "structured" applies to every agent that does not set its own', async () => {
  const { store, send } = setup({ defaults: { model: 'fake/echo', loop: 'structured' }, entries: { main: { default: true }, chatty: { loop: 'conversational' } } });
  try {
    assert.equal(await send('main'), 'structured');
    assert.equal(await send('chatty'), 'conversational');
  } finally {
    await store.close();
  }
});
