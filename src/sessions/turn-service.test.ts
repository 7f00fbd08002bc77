import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAgentDirectory } from '../agent/agent-directory.js';
import type { AgentLoop, AgentTurnInput } from '../agent/agent-loop.js';
import { estimateStoredTokens } from '../agent/token-budget.js';
import { unpackMessages } from '../contracts/packed-messages.js';
import type { ChatMessage } from '../contracts/messages.js';
import { createWorkspaceContext } from '../agent/workspace-context.js';
import { configSchema } from '../config/schema.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { createSessionLanes } from './session-lanes.js';
import { createTurnService, type TurnEvent } from './turn-service.js';

const silent = { info() {}, warn() {}, error() {} };

/** What the model sees: the packed history, then the turn's messages. */
const contextOf = (input: AgentTurnInput): ChatMessage[] => [...(input.history ? unpackMessages(input.history) : []), ...input.messages];

function setup(runTurn: AgentLoop, options: { historyCacheBytes?: number; contextTokens?: number; maxConcurrent?: number } = {}) {
  const store = createSqliteStore({ path: ':memory:' });
  const defaults = { model: 'fake/echo', ...(options.contextTokens ? { contextTokens: options.contextTokens, maxOutputTokens: 1000 } : {}) };
  const config = configSchema().parse({ agents: { defaults } });
  const directory = createAgentDirectory(config, { workspacesDir: '/nonexistent/workspaces', home: '/nonexistent' });
  const turns = createTurnService({
    store,
    lanes: createSessionLanes({ maxConcurrent: options.maxConcurrent ?? 2 }),
    runTurn,
    workspaceContext: createWorkspaceContext(),
    agents: () => directory,
    maxTurnAttempts: () => 3,
    logger: silent,
    ...(options.historyCacheBytes !== undefined ? { historyCacheBytes: options.historyCacheBytes } : {}),
  });
  return { store, turns };
}

const echo: AgentLoop = async (input) => {
  const last = input.messages.at(-1);
  const reply = `echo: ${last?.content ?? ''}`;
  input.onDelta(reply);
  return { status: 'ok', reply, messages: [{ role: 'assistant', content: reply }], toolCalls: [], usage: { inputTokens: 1, outputTokens: 1 } };
};

test('a turn interrupted more often than allowed ends with a visible error in transcript and run record', async () => {
  let calls = 0;
  const { store, turns } = setup(async (input) => {
    calls++;
    return echo(input);
  });
  await store.acceptTurn({ runId: 'r1', sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'crashy', now: 1 });
  // Three earlier starts that never finished (the process died each time).
  for (let i = 0; i < 3; i++) await store.startTurn('r1', { now: 2 + i, historyLimit: 10 });
  await turns.recover();
  const outcome = await turns.waitFor('r1');
  assert.equal(outcome.status, 'error');
  assert.equal(outcome.error?.code, 'TURN_FAILED');
  assert.match(outcome.error?.message ?? '', /interrupted 3 times/);
  assert.equal(calls, 0);
  const transcript = await store.readTranscript('agent:main:main', 10);
  assert.deepEqual(transcript.map((entry) => entry.message.role), ['user', 'error']);
  assert.equal((await store.getRun('r1'))?.status, 'error');
  await store.close();
});

test('events reach subscribers in order and waiters get the outcome; stateless turns leave no transcript', async () => {
  const { store, turns } = setup(echo);
  const seen: TurnEvent['type'][] = [];
  const unsubscribe = turns.subscribe((event) => seen.push(event.type));
  const accepted = await turns.submit({ sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'hi' });
  const outcome = await turns.waitFor(accepted.runId);
  assert.equal(outcome.reply, 'echo: hi');
  assert.deepEqual(seen, ['started', 'delta', 'final']);
  unsubscribe();
  const stateless = await turns.submit({
    sessionKey: 'agent:main:openai:stateless',
    agentId: 'main',
    source: 'openai',
    text: 'b',
    context: { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'x' }, { role: 'user', content: 'b' }] },
  });
  assert.equal((await turns.waitFor(stateless.runId)).reply, 'echo: b');
  assert.deepEqual(await store.readTranscript('agent:main:openai:stateless', 10), []);
  assert.equal(seen.length, 3);
  await store.close();
});

test('after drain starts, new messages are refused with a retryable error', async () => {
  const { store, turns } = setup(echo);
  await turns.drain(100);
  await assert.rejects(
    turns.submit({ sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'late' }),
    (error: { code?: string; retryable?: boolean }) => error.code === 'SHUTTING_DOWN' && error.retryable === true,
  );
  await store.close();
});

test('each turn sees the session history, from memory or disk alike, and a reset starts it afresh', async () => {
  const seen: string[][] = [];
  const { store, turns } = setup(async (input) => {
    seen.push(contextOf(input).map((message) => `${message.role}:${message.content}`));
    return echo(input);
  });
  const say = async (text: string) => {
    const accepted = await turns.submit({ sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text });
    await turns.waitFor(accepted.runId);
  };
  await say('one');
  await say('two');
  assert.deepEqual(seen[1], ['user:one', 'assistant:echo: one', 'user:two']);
  await turns.resetSession('agent:main:main');
  await say('three');
  assert.deepEqual(seen[2], ['user:three']);
  // Released (as the idle compactor does after a burst): the next turn reads it back from disk.
  assert.equal(turns.historyCacheStats().sessions, 1);
  turns.releaseHistory();
  assert.deepEqual(turns.historyCacheStats(), { ...turns.historyCacheStats(), sessions: 0, bytes: 0 });
  await say('four');
  assert.deepEqual(seen[3], ['user:three', 'assistant:echo: three', 'user:four']);
  assert.equal(turns.historyCacheStats().sessions, 1);
  // What the model sees matches the transcript on disk.
  const onDisk = (await store.readTranscript('agent:main:main', 10)).map((entry) => `${entry.message.role}:${entry.message.content}`);
  assert.deepEqual(onDisk, ['user:three', 'assistant:echo: three', 'user:four', 'assistant:echo: four']);
  await store.close();
});

test('a NO_REPLY answer stays in the transcript but nothing is queued for delivery; turn options pick the model and hide side-effecting tools', async () => {
  const seen: { modelRefs: string[]; deny: string[] }[] = [];
  const store = createSqliteStore({ path: ':memory:' });
  const config = configSchema().parse({ agents: { defaults: { model: 'fake/echo', fallbacks: ['fake/big'] } } });
  const directory = createAgentDirectory(config, { workspacesDir: '/nonexistent/workspaces', home: '/nonexistent' });
  const turns = createTurnService({
    store,
    lanes: createSessionLanes({ maxConcurrent: 2 }),
    runTurn: async (input) => {
      seen.push({ modelRefs: input.agent.modelRefs, deny: input.agent.toolPolicy.deny ?? [] });
      const reply = input.messages.at(-1)?.content === 'quiet' ? ' NO_REPLY\n' : 'loud';
      return { status: 'ok', reply, messages: [{ role: 'assistant', content: reply }], toolCalls: [], usage: { inputTokens: 1, outputTokens: 1 } };
    },
    workspaceContext: createWorkspaceContext(),
    agents: () => directory,
    maxTurnAttempts: () => 3,
    logger: silent,
    sideEffectTools: () => ['write', 'edit'],
  });
  const replyTo = { channel: 'telegram:default', target: '{"chatId":"1"}' };
  const quiet = await turns.submit({ sessionKey: 'agent:main:main', agentId: 'main', source: 'heartbeat', text: 'quiet', replyTo, options: { model: 'fake/cheap' } });
  await turns.waitFor(quiet.runId);
  const loud = await turns.submit({ sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'say it', replyTo, options: { readOnly: true } });
  await turns.waitFor(loud.runId);
  assert.deepEqual((await store.undeliveredOutbox(10)).map((entry) => entry.text), ['loud'], 'only the real answer is delivered');
  assert.deepEqual(
    (await store.readTranscript('agent:main:main', 10)).map((entry) => (entry.message as { content: string }).content),
    ['quiet', ' NO_REPLY\n', 'say it', 'loud'],
  );
  assert.deepEqual(seen, [
    { modelRefs: ['fake/cheap'], deny: [] },
    { modelRefs: ['fake/echo', 'fake/big'], deny: ['write', 'edit'] },
  ]);
  await store.close();
});

test('with many more sessions than the memory bound holds, every turn still sees its own history and memory stays bounded', async () => {
  const seen = new Map<string, string[][]>();
  const { store, turns } = setup(
    async (input) => {
      const list = seen.get(input.sessionKey) ?? [];
      list.push(contextOf(input).map((message) => message.content));
      seen.set(input.sessionKey, list);
      return echo(input);
    },
    { historyCacheBytes: 4000, maxConcurrent: 8 },
  );
  const sessions = Array.from({ length: 40 }, (_, index) => `agent:main:bench:${index}`);
  for (let round = 0; round < 3; round++) {
    const runs = await Promise.all(sessions.map((sessionKey) => turns.submit({ sessionKey, agentId: 'main', source: 'ws', text: `${sessionKey} #${round}` })));
    await Promise.all(runs.map((accepted) => turns.waitFor(accepted.runId)));
    assert.ok(turns.historyCacheStats().bytes <= 4000, `cache holds ${turns.historyCacheStats().bytes} bytes`);
  }
  assert.ok(turns.historyCacheStats().sessions < sessions.length);
  for (const sessionKey of sessions) {
    assert.deepEqual(seen.get(sessionKey)?.[2], [`${sessionKey} #0`, `echo: ${sessionKey} #0`, `${sessionKey} #1`, `echo: ${sessionKey} #1`, `${sessionKey} #2`]);
  }
  await store.close();
});

test('a long conversation sends the model only the newest part that fits the context, read from disk or from memory alike', async () => {
  for (const historyCacheBytes of [0, 1_000_000]) {
    const contexts: ChatMessage[][] = [];
    // 6,000-token window - 1,000 for the reply - 2,000 for the system prompt: 3,000 tokens of history.
    const { store, turns } = setup(
      async (input) => {
        contexts.push(contextOf(input));
        return echo(input);
      },
      { historyCacheBytes, contextTokens: 6000 },
    );
    for (let i = 0; i < 40; i++) {
      const accepted = await turns.submit({ sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: `${i} ${'x'.repeat(400)}` });
      await turns.waitFor(accepted.runId);
    }
    const last = contexts.at(-1)!;
    const tokens = last.slice(0, -1).reduce((sum, message) => sum + estimateStoredTokens(JSON.stringify(message).length), 0);
    assert.ok(tokens <= 3000 && tokens > 2000, `history of ${tokens} tokens`);
    assert.equal(last[0]?.role, 'user');
    assert.equal(last.at(-1)?.content, `39 ${'x'.repeat(400)}`);
    assert.equal(last.at(-2)?.content, `echo: 38 ${'x'.repeat(400)}`);
    await store.close();
  }
});

test('a turn accepted with untrustedInput runs untrusted (kept through the store); other turns do not', async () => {
  const seen: (string | undefined)[] = [];
  const { store, turns } = setup(async (input) => {
    seen.push(input.untrustedInput);
    return echo(input);
  });
  const outside = await turns.submit({ sessionKey: 'agent:main:telegram:group:-1', agentId: 'main', source: 'channel', text: 'Bob: hi', options: { untrustedInput: 'a group message on telegram:default, where others can write' } });
  await turns.waitFor(outside.runId);
  const owner = await turns.submit({ sessionKey: 'agent:main:main', agentId: 'main', source: 'ws', text: 'hi' });
  await turns.waitFor(owner.runId);
  assert.deepEqual(seen, ['a group message on telegram:default, where others can write', undefined]);
  await store.close();
});
