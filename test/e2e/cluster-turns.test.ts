import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CLUSTER_LEASE_MS, conversationOf, createTestCluster, lastUserText, type TestCluster } from '../support/cluster-harness.js';
import { connectGateway } from '../../src/cli/gateway-client.js';
import { runCli, testEnv, waitFor } from '../support/gateway-harness.js';

// Three real gateway processes on one PostgreSQL database (the machine's server on 127.0.0.1:5432).
let cluster: TestCluster;

before(async () => {
  cluster = await createTestCluster('hearth_cluster');
});

after(async () => {
  await cluster?.close();
});

test('three nodes: a conversation moving between them keeps its order and history; a turn whose node is killed completes on another, once', async () => {
  const nodes = await Promise.all([0, 1, 2].map((index) => cluster.startNode(index)));
  try {
    const ranOn = new Set<string>();
    for (let index = 0; index < 6; index++) {
      assert.equal(await cluster.ask(nodes[index % 3]!, 'ada', `question ${index}`), `echo: question ${index}`);
      ranOn.add((await cluster.rows<{ holder: string }>("SELECT holder FROM cluster_leases WHERE name LIKE 'session:%ada'"))[0]?.holder ?? 'none');
      // Past the time a node keeps a quiet session, so the next turn runs on the node it is sent to.
      await new Promise((resolve) => setTimeout(resolve, CLUSTER_LEASE_MS));
    }
    assert.deepEqual([...ranOn].sort(), ['node-0', 'node-1', 'node-2'], 'the conversation ran on every node');
    const seen = conversationOf(cluster.model.requests.at(-1)!);
    assert.deepEqual(seen, ['question 0', 'echo: question 0', 'question 1', 'echo: question 1', 'question 2', 'echo: question 2', 'question 3', 'echo: question 3', 'question 4', 'echo: question 4', 'question 5'], 'each node gave the model the whole history in order');

    // A turn hangs in the model on node 0, which is then killed: another node takes the session once its lease expires.
    const lost = cluster.ask(nodes[0]!, 'ada', 'hang on node 0').catch(() => 'connection lost');
    await waitFor(() => cluster.model.requests.some((request) => lastUserText(request) === 'hang on node 0'), 'the turn to reach the model');
    const [holder] = await cluster.rows<{ holder: string }>("SELECT holder FROM cluster_leases WHERE name LIKE 'session:%ada'");
    assert.equal(holder?.holder, 'node-0', 'the node asked runs the turn');
    const killedAt = Date.now();
    await nodes[0]!.kill();
    assert.equal(await lost, 'connection lost');
    const [run] = await waitFor(
      async () => {
        const found = await cluster.rows<{ status: string; reply: string }>("SELECT status, reply FROM runs WHERE text = 'hang on node 0' AND status = 'ok'");
        return found.length > 0 ? found : null;
      },
      'another node to finish the turn',
      CLUSTER_LEASE_MS + 10_000,
    );
    const tookMs = Date.now() - killedAt;
    assert.equal(run?.reply, 'echo: hang on node 0');
    assert.ok(tookMs < CLUSTER_LEASE_MS + 5000, `finished ${tookMs} ms after the kill (lease ${CLUSTER_LEASE_MS} ms)`);
    const replies = await cluster.rows<{ n: string }>("SELECT COUNT(*) AS n FROM transcript WHERE session_key LIKE '%ada' AND body LIKE '%echo: hang on node 0%'");
    assert.equal(Number(replies[0]?.n), 1, 'the reply is in the transcript once');

    // The conversation goes on from a surviving node with everything in it.
    assert.equal(await cluster.ask(nodes[1]!, 'ada', 'question 6'), 'echo: question 6');
    const history = conversationOf(cluster.model.requests.at(-1)!);
    assert.ok(history.includes('echo: hang on node 0') && history.indexOf('echo: hang on node 0') < history.indexOf('question 6'));

    // The killed node is shown gone once its heartbeat is two leases old.
    const parsed = await waitFor(async () => {
      const status = await runCli(['cluster', 'status', '--json'], testEnv(cluster.homes[1]!, cluster.nodeEnv(1)));
      assert.equal(status.code, 0, status.stderr);
      const read = JSON.parse(status.stdout) as { nodes: { nodeId: string; alive: boolean; holds: string[] }[] };
      return read.nodes.find((node) => node.nodeId === 'node-0')?.alive === false ? read : null;
    }, 'node-0 to be shown gone', CLUSTER_LEASE_MS * 4);
    assert.deepEqual(parsed.nodes.filter((node) => node.alive).map((node) => node.nodeId), ['node-1', 'node-2']);
    assert.deepEqual(parsed.nodes.find((node) => node.nodeId === 'node-0')?.holds, [], 'a dead node holds nothing');
    // A node refreshes its view of the others at each heartbeat (every third of a lease).
    const ready = await waitFor(async () => {
      const read = (await (await fetch(`${nodes[1]!.url}/readyz`)).json()) as { components: Record<string, { status: string; detail?: string }> };
      return /2 node\(s\) alive/.test(read.components.cluster?.detail ?? '') ? read : null;
    }, 'node-1 to count two nodes alive', CLUSTER_LEASE_MS * 2);
    assert.equal(ready.components.cluster?.status, 'ok', ready.components.cluster?.detail);
    assert.match(ready.components.cluster?.detail ?? '', /node node-1, 2 node\(s\) alive/);
    const metrics = await (await fetch(`${nodes[1]!.url}/metrics`, { headers: { authorization: `Bearer ${nodes[1]!.token}` } })).text();
    assert.match(metrics, /hearth_cluster_nodes 2/);
    assert.match(metrics, /hearth_cluster_event_bus_connected 1/);
  } finally {
    await cluster.stopAll();
  }
});

test('three nodes: a client watching a session on one node sees the turn another node runs, and can stop it from there', async () => {
  const nodes = await Promise.all([0, 1, 2].map((index) => cluster.startNode(index)));
  const sender = await connectGateway(nodes[0]!.url, nodes[0]!.token);
  const watcher = await connectGateway(nodes[1]!.url, nodes[1]!.token);
  try {
    const events: { runId: string; state: string; text?: string }[] = [];
    watcher.onEvent((event, payload) => {
      if (event === 'chat') events.push(payload as { runId: string; state: string; text?: string });
    });
    const { sessionKey } = await watcher.call<{ sessionKey: string }>('chat.history', {});
    const sent = await sender.call<{ runId: string }>('chat.send', { sessionKey, text: 'watched from another node', idempotencyKey: 'watch-1' });
    await waitFor(() => events.find((event) => event.runId === sent.runId && event.state === 'final'), 'the final event on the other node');
    assert.equal(events.find((event) => event.runId === sent.runId && event.state === 'final')?.text, 'echo: watched from another node');

    const hung = await sender.call<{ runId: string }>('chat.send', { sessionKey, text: 'hang until stopped', idempotencyKey: 'watch-2' });
    await waitFor(() => cluster.model.requests.some((request) => lastUserText(request) === 'hang until stopped'), 'the turn to reach the model');
    const stop = await watcher.call<{ aborted: boolean }>('chat.abort', { runId: hung.runId });
    assert.equal(stop.aborted, false, 'not running on the node asked');
    const [run] = await waitFor(async () => {
      const found = await cluster.rows<{ status: string }>("SELECT status FROM runs WHERE id = $1 AND status IN ('ok', 'error', 'aborted')", [hung.runId]);
      return found.length > 0 ? found : null;
    }, 'the node running the turn to stop it');
    assert.equal(run?.status, 'aborted');
    await waitFor(() => events.find((event) => event.runId === hung.runId && event.state !== 'delta'), 'the stopped turn\'s last event on the watching node');
  } finally {
    sender.close();
    watcher.close();
    await cluster.stopAll();
  }
});
