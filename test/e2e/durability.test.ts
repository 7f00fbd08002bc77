import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { connectGateway, type GatewayClient } from '../../src/cli/gateway-client.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, startTestGateway, waitFor } from '../support/gateway-harness.js';

interface HistoryMessage {
  role: string;
  content: string;
  runId: string | null;
}

let fake: FakeModelServer;
const homes: string[] = [];

before(async () => {
  fake = await startFakeModelServer();
});
after(async () => {
  await fake?.close();
  for (const home of homes) removeHome(home);
});

function config(extra: Record<string, unknown> = {}) {
  return {
    models: { providers: { fake: { api: 'openai-chat', baseUrl: fake.openaiBaseUrl, maxRetries: 0, timeoutMs: 60_000 } } },
    agents: { defaults: { model: 'fake/echo' } },
    ...extra,
  };
}

async function history(client: GatewayClient, sessionKey: string): Promise<HistoryMessage[]> {
  const result = await client.call<{ messages: HistoryMessage[] }>('chat.history', { sessionKey, limit: 1000 });
  return result.messages;
}

function newHome(): string {
  const home = makeHome();
  homes.push(home);
  return home;
}

test('kill -9 mid-turn: the next start re-runs the turn and the reply arrives exactly once', async () => {
  const home = newHome();
  fake.script({ stall: true, afterText: 'half an ans' });
  const requestsBefore = fake.requests.length;
  const first = await startTestGateway({ home, config: config() });
  const client = await connectGateway(first.url, first.token);
  const sessionKey = 'agent:main:main';
  const idempotencyKey = randomUUID();
  const accepted = await client.call<{ runId: string; duplicate: boolean }>('chat.send', { sessionKey, text: 'remember the milk', idempotencyKey });
  assert.equal(accepted.duplicate, false);
  await waitFor(() => fake.requests.length > requestsBefore, 'the model to receive the turn');
  client.close();
  await first.kill();

  const second = await startTestGateway({ home, config: config() });
  try {
    const again = await connectGateway(second.url, second.token);
    const messages = await waitFor(async () => {
      const list = await history(again, sessionKey);
      return list.some((message) => message.role === 'assistant') ? list : null;
    }, 'the re-run reply');
    assert.deepEqual(
      messages.map((message) => [message.role, message.content]),
      [
        ['user', 'remember the milk'],
        ['assistant', 'echo: remember the milk'],
      ],
    );
    // The sender retrying with the same idempotency key does not start a second turn.
    const retry = await again.call<{ runId: string; duplicate: boolean }>('chat.send', { sessionKey, text: 'remember the milk', idempotencyKey });
    assert.equal(retry.duplicate, true);
    assert.equal(retry.runId, accepted.runId);
    assert.equal((await history(again, sessionKey)).length, 2);
    again.close();
  } finally {
    assert.equal(await second.stop(), 0);
  }
});

test('kill -9 during a burst: every acknowledged message gets exactly one reply after restart', async () => {
  const home = newHome();
  fake.setDefault((request) => {
    const body = request.body as { messages: { role: string; content: unknown }[] };
    const last = body.messages.at(-1);
    return { text: `reply to ${String(last?.content)}`, chunkSize: 4, delayMs: 15 };
  });
  try {
    const first = await startTestGateway({ home, config: config({ agents: { defaults: { model: 'fake/echo', maxConcurrent: 4 } } }) });
    const client = await connectGateway(first.url, first.token);
    const acked: { sessionKey: string; text: string }[] = [];
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 24; i++) {
      const sessionKey = `agent:main:burst:direct:${i % 4}`;
      const text = `message ${i}`;
      sends.push(
        client
          .call('chat.send', { sessionKey, text, idempotencyKey: `burst-${i}` })
          .then(() => void acked.push({ sessionKey, text }))
          .catch(() => undefined),
      );
    }
    await waitFor(() => acked.length >= 12, 'some acknowledgements');
    await first.kill();
    await Promise.allSettled(sends);
    client.close();
    assert.ok(acked.length >= 12);

    const second = await startTestGateway({ home, config: config() });
    try {
      const again = await connectGateway(second.url, second.token);
      for (const sessionKey of new Set(acked.map((item) => item.sessionKey))) {
        const expected = acked.filter((item) => item.sessionKey === sessionKey).map((item) => item.text);
        const messages = await waitFor(
          async () => {
            const list = await history(again, sessionKey);
            const replies = list.filter((message) => message.role === 'assistant');
            const users = list.filter((message) => message.role === 'user');
            return replies.length >= users.length && users.length >= expected.length ? list : null;
          },
          `all replies in ${sessionKey}`,
          20_000,
        );
        const users = messages.filter((message) => message.role === 'user').map((message) => message.content);
        for (const text of expected) assert.equal(users.filter((content) => content === text).length, 1, `${text} once in ${sessionKey}`);
        assert.equal(new Set(users).size, users.length, 'no user message doubled');
        for (const text of users) {
          const replies = messages.filter((message) => message.role === 'assistant' && message.content === `reply to ${text}`);
          assert.equal(replies.length, 1, `exactly one reply to ${text}`);
        }
        assert.equal(messages.filter((message) => message.role === 'error').length, 0);
      }
      again.close();
    } finally {
      assert.equal(await second.stop(), 0);
    }
  } finally {
    fake.setDefault(null);
  }
});

test('history survives a restart', async () => {
  const home = newHome();
  const first = await startTestGateway({ home, config: config() });
  const client = await connectGateway(first.url, first.token);
  const done = new Promise<void>((resolve) => {
    client.onEvent((event, payload) => {
      if (event === 'chat' && (payload as { state: string }).state === 'final') resolve();
    });
  });
  await client.call('chat.send', { text: 'first words', idempotencyKey: randomUUID() });
  await done;
  client.close();
  assert.equal(await first.stop(), 0);

  const second = await startTestGateway({ home, config: config() });
  const again = await connectGateway(second.url, second.token);
  const messages = await history(again, 'agent:main:main');
  assert.deepEqual(
    messages.map((message) => [message.role, message.content]),
    [
      ['user', 'first words'],
      ['assistant', 'echo: first words'],
    ],
  );
  again.close();
  assert.equal(await second.stop(), 0);
});

test('SIGTERM the moment the gateway prints its address still drains it and exits 0', async () => {
  // Whoever reads the "Hearth is running" line (a supervisor, a script) may stop it at once.
  for (let round = 0; round < 8; round++) {
    const gateway = await startTestGateway({ home: newHome(), config: config() });
    assert.equal(await gateway.stop(), 0, `round ${round}: ${gateway.output()}`);
  }
});

test('SIGTERM lets a running turn finish, then exits 0', async () => {
  const home = newHome();
  fake.script({ text: 'a slow but complete answer', chunkSize: 3, delayMs: 40 });
  const gateway = await startTestGateway({ home, config: config() });
  const client = await connectGateway(gateway.url, gateway.token);
  const started = new Promise<void>((resolve) => {
    client.onEvent((event, payload) => {
      if (event === 'chat' && (payload as { state: string }).state === 'delta') resolve();
    });
  });
  await client.call('chat.send', { text: 'take your time', idempotencyKey: randomUUID() });
  await started;
  assert.equal(await gateway.stop(), 0);

  const second = await startTestGateway({ home, config: config() });
  const again = await connectGateway(second.url, second.token);
  const messages = await history(again, 'agent:main:main');
  assert.equal(messages.at(-1)?.content, 'a slow but complete answer');
  assert.equal(messages.filter((message) => message.role === 'assistant').length, 1);
  again.close();
  assert.equal(await second.stop(), 0);
});

test('SIGTERM past the drain bound checkpoints the turn; the next start answers it', async () => {
  const home = newHome();
  fake.script({ stall: true });
  const gateway = await startTestGateway({ home, config: config({ gateway: { drainTimeoutMs: 200 } }) });
  const client = await connectGateway(gateway.url, gateway.token);
  const requestsBefore = fake.requests.length;
  await client.call('chat.send', { text: 'are you there', idempotencyKey: randomUUID() });
  await waitFor(() => fake.requests.length > requestsBefore, 'the model call');
  const stoppedAt = Date.now();
  assert.equal(await gateway.stop(), 0);
  assert.ok(Date.now() - stoppedAt < 8000, 'the drain is bounded');
  client.close();

  const second = await startTestGateway({ home, config: config() });
  const again = await connectGateway(second.url, second.token);
  const messages = await waitFor(async () => {
    const list = await history(again, 'agent:main:main');
    return list.some((message) => message.role === 'assistant') ? list : null;
  }, 'the checkpointed turn to be answered');
  assert.deepEqual(
    messages.map((message) => message.role),
    ['user', 'assistant'],
  );
  again.close();
  assert.equal(await second.stop(), 0);
});
