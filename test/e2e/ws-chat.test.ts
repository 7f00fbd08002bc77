import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectGateway, type GatewayClient } from '../../src/cli/gateway-client.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { removeHome, runCli, startTestGateway, type TestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

interface ChatEvent {
  runId: string;
  sessionKey: string;
  state: string;
  text: string;
  error?: { code: string; message: string };
  toolCalls?: { name: string; result: string; error?: string }[];
}

let fake: FakeModelServer;
let gateway: TestGateway;
let client: GatewayClient;
const events: ChatEvent[] = [];

before(async () => {
  fake = await startFakeModelServer();
  gateway = await startTestGateway({
    config: {
      models: {
        providers: {
          fake: { api: 'openai-chat', baseUrl: fake.openaiBaseUrl, maxRetries: 0 },
          claude: { api: 'anthropic-messages', baseUrl: fake.anthropicBaseUrl, apiKey: 'test-key', maxRetries: 0 },
        },
      },
      agents: {
        defaults: { model: 'fake/echo', maxConcurrent: 4 },
        entries: {
          main: { default: true },
          scribe: { model: 'claude/claude-test', tools: { deny: ['write', 'edit'] } },
        },
      },
    },
  });
  client = await connectGateway(gateway.url, gateway.token);
  client.onEvent((event, payload) => {
    if (event === 'chat') events.push(payload as ChatEvent);
  });
});

after(async () => {
  client?.close();
  await gateway?.stop();
  await fake?.close();
  if (gateway) removeHome(gateway.home);
});

function finalOf(runId: string): Promise<ChatEvent> {
  return waitFor(() => events.find((event) => event.runId === runId && (event.state === 'final' || event.state === 'error')), `the end of ${runId}`);
}

async function send(text: string, sessionKey?: string): Promise<{ runId: string; sessionKey: string }> {
  return client.call('chat.send', { text, idempotencyKey: randomUUID(), ...(sessionKey ? { sessionKey } : {}) });
}

test('a streamed turn arrives as deltas, then the final reply', async () => {
  fake.script({ text: 'Streaming works nicely', chunkSize: 5, delayMs: 5 });
  const { runId } = await send('stream please', 'agent:main:ws:direct:streamer');
  const final = await finalOf(runId);
  assert.equal(final.state, 'final');
  assert.equal(final.text, 'Streaming works nicely');
  const deltas = events.filter((event) => event.runId === runId && event.state === 'delta').map((event) => event.text);
  assert.ok(deltas.length >= 4, `expected several deltas, got ${deltas.length}`);
  assert.equal(deltas.join(''), 'Streaming works nicely');
});

test('a tool-call turn writes into the workspace and answers with the result', async () => {
  fake.script({ toolCalls: [{ name: 'write', arguments: { path: 'notes/todo.md', content: '- buy milk\n' } }] });
  const { runId } = await send('note that I need milk', 'agent:main:ws:direct:tools');
  const final = await finalOf(runId);
  assert.equal(final.state, 'final');
  assert.match(final.text, /^tool said: Wrote 11 bytes to notes\/todo\.md/);
  assert.equal(final.toolCalls?.[0]?.name, 'write');
  assert.equal(readFileSync(join(gateway.home, 'workspaces', 'main', 'notes', 'todo.md'), 'utf8'), '- buy milk\n');
  const history = await client.call<{ messages: { role: string }[] }>('chat.history', { sessionKey: 'agent:main:ws:direct:tools' });
  assert.deepEqual(
    history.messages.map((message) => message.role),
    ['user', 'assistant', 'tool', 'assistant'],
  );
});

test('a denied tool is refused with an error the model reads, and nothing is written', async () => {
  fake.script({ toolCalls: [{ name: 'write', arguments: { path: 'x.md', content: 'nope' } }] });
  const { runId } = await send('write something', 'agent:scribe:main');
  const final = await finalOf(runId);
  assert.equal(final.state, 'final');
  assert.match(final.text, /not allowed for agent "scribe"/);
  assert.equal(existsSync(join(gateway.home, 'workspaces', 'scribe', 'x.md')), false);
  // The scribe agent talks to the Anthropic wire format, and its tool list leaves write out.
  const request = fake.requests.filter((item) => item.api === 'anthropic').at(-2);
  const tools = ((request?.body as { tools?: { name: string }[] } | undefined)?.tools ?? []).map((tool) => tool.name);
  assert.ok(tools.includes('read') && !tools.includes('write'), `tools sent: ${tools.join(',')}`);
});

test('the workspace files shape the system prompt', async () => {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(gateway.home, 'workspaces', 'main', 'SOUL.md'), 'You speak like a lighthouse keeper.');
  // Workspace files are checked again at most once a second.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const { runId } = await send('who are you', 'agent:main:ws:direct:soul');
  await finalOf(runId);
  const request = fake.requests.filter((item) => item.api === 'openai').at(-1);
  const system = (request?.body as { messages: { role: string; content: string }[] } | undefined)?.messages[0];
  assert.equal(system?.role, 'system');
  assert.match(system?.content ?? '', /lighthouse keeper/);
});

test('concurrent sessions run in parallel while each session keeps its order', async () => {
  fake.setDefault((request) => {
    const body = request.body as { messages: { role: string; content: unknown }[] };
    return { text: `ok ${String(body.messages.at(-1)?.content)}`, chunkSize: 3, delayMs: 100 };
  });
  try {
    const started = Date.now();
    const runs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => send(`n${i}`, `agent:main:ws:direct:par${i % 4}`)),
    );
    const finals = await Promise.all(runs.map((run) => finalOf(run.runId)));
    assert.ok(finals.every((event) => event.state === 'final'));
    // Each reply streams for about 400 ms. Four sessions, two turns each, four at once: about two
    // replies' time (~1 s), where one at a time would take eight (over 3 s).
    assert.ok(Date.now() - started < 2400, `took ${Date.now() - started} ms`);
    for (let lane = 0; lane < 4; lane++) {
      const history = await client.call<{ messages: { role: string; content: string }[] }>('chat.history', {
        sessionKey: `agent:main:ws:direct:par${lane}`,
      });
      assert.deepEqual(
        history.messages.map((message) => message.content),
        [`n${lane}`, `ok n${lane}`, `n${lane + 4}`, `ok n${lane + 4}`],
      );
    }
  } finally {
    fake.setDefault(null);
  }
});

test('chat.abort stops a running turn and says so', async () => {
  fake.script({ stall: true, afterText: 'I was about to' });
  const { runId } = await send('long story please', 'agent:main:ws:direct:abort');
  await waitFor(() => events.some((event) => event.runId === runId && event.state === 'delta'), 'the first delta');
  const result = await client.call<{ aborted: boolean }>('chat.abort', { runId });
  assert.equal(result.aborted, true);
  const final = await finalOf(runId);
  assert.equal(final.state, 'error');
  assert.equal(final.error?.code, 'ABORTED');
  const history = await client.call<{ messages: { role: string; content: string; code?: string }[] }>('chat.history', {
    sessionKey: 'agent:main:ws:direct:abort',
  });
  assert.deepEqual(
    history.messages.map((message) => [message.role, message.code ?? message.content]),
    [
      ['user', 'long story please'],
      ['assistant', 'I was about to'],
      ['error', 'ABORTED'],
    ],
  );
  // The session takes the next message as usual.
  const next = await send('are you still there?', 'agent:main:ws:direct:abort');
  assert.equal((await finalOf(next.runId)).text, 'echo: are you still there?');
});

test('a provider failure ends the turn with a visible error, not a hang', async () => {
  fake.script({ status: 500 });
  const { runId } = await send('fail please', 'agent:main:ws:direct:fail');
  const final = await finalOf(runId);
  assert.equal(final.state, 'error');
  assert.equal(final.error?.code, 'PROVIDER_ERROR');
  const run = await client.call<{ messages: { role: string }[] }>('chat.history', { sessionKey: 'agent:main:ws:direct:fail' });
  assert.deepEqual(
    run.messages.map((message) => message.role),
    ['user', 'error'],
  );
});

test('sessions list, history and reset through the CLI', async () => {
  const env = { ...testEnv(gateway.home), HEARTH_GATEWAY_URL: gateway.url };
  const { runId } = await send('cli visible', 'agent:main:ws:direct:cli');
  await finalOf(runId);
  const list = await runCli(['sessions', 'list', '--json'], env);
  assert.equal(list.code, 0, list.stderr);
  const sessions = JSON.parse(list.stdout) as { sessionKey: string; messageCount: number }[];
  assert.equal(sessions.find((session) => session.sessionKey === 'agent:main:ws:direct:cli')?.messageCount, 2);
  const history = await runCli(['sessions', 'history', 'agent:main:ws:direct:cli'], env);
  assert.match(history.stdout, /\[user\] cli visible\n\[assistant\] echo: cli visible/);
  const reset = await runCli(['sessions', 'reset', 'agent:main:ws:direct:cli'], env);
  assert.equal(reset.code, 0);
  const after = await runCli(['sessions', 'history', 'agent:main:ws:direct:cli', '--json'], env);
  assert.deepEqual((JSON.parse(after.stdout) as { messages: unknown[] }).messages, []);
});

test('hearth chat streams a reply in the terminal', async () => {
  const env = { ...testEnv(gateway.home), HEARTH_GATEWAY_URL: gateway.url };
  const result = await runCli(['chat', '--session', 'agent:main:cli:direct:term'], env, 'hello terminal\n/exit\n');
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /Chatting in agent:main:cli:direct:term/);
  assert.match(result.stdout, /echo: hello terminal/);
});

test('hearth chat /reset starts a fresh session: what was said before it is gone from the history', async () => {
  const env = { ...testEnv(gateway.home), HEARTH_GATEWAY_URL: gateway.url };
  const sessionKey = 'agent:main:cli:direct:reset';
  const result = await runCli(['chat', '--session', sessionKey], env, 'before the reset\n/reset\nafter the reset\n/exit\n');
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /echo: before the reset[\s\S]*Started a fresh session\.[\s\S]*echo: after the reset/u);
  const history = await runCli(['sessions', 'history', sessionKey, '--json'], env);
  const messages = (JSON.parse(history.stdout) as { messages: { role: string; content: string }[] }).messages;
  assert.deepEqual(
    messages.map((message) => [message.role, message.content]),
    [
      ['user', 'after the reset'],
      ['assistant', 'echo: after the reset'],
    ],
  );
});

test('one address cannot hold more than 64 open connections; closing one frees a place', async () => {
  const { default: WebSocket } = await import('ws');
  const open = (): Promise<{ socket: InstanceType<typeof WebSocket>; status: number }> =>
    new Promise((resolve) => {
      const socket = new WebSocket(`${gateway.url.replace('http', 'ws')}/ws`);
      socket.once('open', () => resolve({ socket, status: 101 }));
      socket.once('unexpected-response', (_request, response) => resolve({ socket, status: response.statusCode ?? 0 }));
      socket.once('error', () => resolve({ socket, status: 0 }));
    });
  // The test's own client already holds one connection.
  const held = await Promise.all(Array.from({ length: 63 }, open));
  try {
    assert.ok(held.every((item) => item.status === 101));
    const refused = await open();
    assert.equal(refused.status, 429);
    held.pop()!.socket.close();
    await waitFor(async () => {
      const next = await open();
      next.socket.close();
      return next.status === 101;
    }, 'a free place after closing one');
  } finally {
    for (const item of held) item.socket.close();
  }
  // The established client is unaffected.
  assert.equal((await client.call<{ ok: boolean }>('health')).ok !== undefined, true);
});
