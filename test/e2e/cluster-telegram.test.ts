import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fakeTelegramToken, type FakeTelegramServer, startFakeTelegramServer } from '../support/fake-telegram/fake-telegram-server.js';
import { CLUSTER_LEASE_MS, createTestCluster, type TestCluster } from '../support/cluster-harness.js';
import { waitFor } from '../support/gateway-harness.js';

// Three real gateway processes on one PostgreSQL database (the machine's server on 127.0.0.1:5432).
let cluster: TestCluster;
let telegram: FakeTelegramServer;
const BOT_TOKEN = fakeTelegramToken(5_100_000_001);

before(async () => {
  cluster = await createTestCluster('hearth_cluster');
  telegram = await startFakeTelegramServer({ tokens: [BOT_TOKEN] });
});

after(async () => {
  await cluster?.close();
  await telegram?.close();
});

test('three nodes: one polls the Telegram account; when it is killed another takes it over within seconds, and no message is lost or answered twice', async () => {
  const channels = { channels: { telegram: { botToken: BOT_TOKEN, apiRoot: telegram.apiRoot, pollTimeoutSeconds: 1, dmPolicy: 'open', allowFrom: ['*'] } } };
  const nodes = await Promise.all([0, 1, 2].map((index) => cluster.startNode(index, channels)));
  try {
    const holderOf = async () => (await cluster.rows<{ holder: string }>("SELECT holder FROM cluster_leases WHERE name = 'channel:telegram:default'"))[0]?.holder;
    const first = await waitFor(holderOf, 'a node to take the Telegram account');
    const say = (text: string, id: number) => telegram.injectMessage({ token: BOT_TOKEN, chatType: 'private', chatId: 4242, from: { id: 4242, first_name: 'Ada', username: 'ada' }, text: `${text} ${id}` });
    const answers = (text: string) => telegram.sent.filter((message) => message.token === BOT_TOKEN && message.method === 'sendMessage' && message.renderedText.includes(text)).length;
    say('hello', 1);
    await waitFor(() => answers('echo: hello 1') === 1, 'the answer to the first message', 15_000);
    // Killed after its reply is recorded as delivered (a send cut off between the platform's answer
    // and that record is the one piece a new holder may send again).
    await waitFor(async () => (await cluster.rows("SELECT 1 FROM outbox WHERE text = 'echo: hello 1' AND status = 'delivered'")).length === 1, 'the reply to be recorded as delivered');

    const holder = nodes[Number(first.replace('node-', ''))]!;
    const killedAt = Date.now();
    await holder.kill();
    // Sent while nobody polls: it waits on the Bot API server for the next holder.
    say('hello', 2);
    say('hello', 3);
    const next = await waitFor(async () => {
      const name = await holderOf();
      const lease = (await cluster.rows<{ expires_in: string }>("SELECT expires_at - (extract(epoch from clock_timestamp()) * 1000)::bigint AS expires_in FROM cluster_leases WHERE name = 'channel:telegram:default'"))[0];
      return name && name !== first && Number(lease?.expires_in) > 0 ? name : null;
    }, 'another node to take the account', CLUSTER_LEASE_MS + 10_000);
    assert.ok(Date.now() - killedAt < CLUSTER_LEASE_MS + 5000, `${next} took the account ${Date.now() - killedAt} ms after the kill`);
    await waitFor(() => answers('echo: hello 2') === 1 && answers('echo: hello 3') === 1, 'the answers to the messages sent meanwhile', 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const id of [1, 2, 3]) assert.equal(answers(`echo: hello ${id}`), 1, `message ${id} answered once`);
    const turns = await cluster.rows<{ n: string }>("SELECT COUNT(*) AS n FROM runs WHERE text LIKE 'hello %'");
    assert.equal(Number(turns[0]?.n), 3, 'one turn per message');
  } finally {
    await cluster.stopAll();
  }
});
