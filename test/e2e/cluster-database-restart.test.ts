import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestCluster, type TestCluster } from '../support/cluster-harness.js';
import { waitFor } from '../support/gateway-harness.js';
import { type PrivatePostgres, startPrivatePostgres } from '../support/private-postgres.js';

// Three real gateway processes on a PostgreSQL server of this test's own, which it restarts.
let server: PrivatePostgres;
let cluster: TestCluster;

before(async () => {
  server = await startPrivatePostgres();
  cluster = await createTestCluster('hearth_cluster', { url: server.url });
});

after(async () => {
  await cluster?.close();
  server?.stop();
});

test('three nodes: the database server restarted mid-load: the nodes reconnect and every accepted turn is answered', async (t) => {
  const nodes = await Promise.all([0, 1, 2].map((index) => cluster.startNode(index)));
  try {
    const asked = Array.from({ length: 30 }, (_, index) => index);
    const answers = asked.map(async (index) => {
      await new Promise((resolve) => setTimeout(resolve, index * 40));
      return cluster.ask(nodes[index % 3]!, `user-${index}`, `load ${index}`).catch((error: unknown) => `refused: ${String(error)}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    // The server stops as in a crash (no clean shutdown) and starts again.
    server.restart();
    const results = await Promise.all(answers);
    const accepted = results.filter((text) => !text.startsWith('refused'));
    for (const text of accepted) assert.match(text, /^echo: load \d+$/);
    t.diagnostic(`${accepted.length} answered, ${results.length - accepted.length} refused while the server was down: ${results.filter((text) => text.startsWith('refused')).slice(0, 2).join(' | ')}`);
    await waitFor(async () => {
      const open = await cluster.rows<{ n: string }>("SELECT COUNT(*) AS n FROM runs WHERE text LIKE 'load %' AND status NOT IN ('ok', 'error', 'aborted')");
      return Number(open[0]?.n) === 0;
    }, 'every accepted turn to finish', 20_000);
    const statuses = await cluster.rows<{ status: string; n: string }>("SELECT status, COUNT(*) AS n FROM runs WHERE text LIKE 'load %' GROUP BY status");
    assert.deepEqual(statuses.map((row) => row.status), ['ok'], 'every turn the store accepted ran to its reply, none failed on the restart');
    assert.ok(Number(statuses[0]?.n) >= accepted.length, `${statuses[0]?.n} turns finished, ${accepted.length} answered`);
    for (const text of results.filter((result) => result.startsWith('refused'))) assert.match(text, /STORE_ERROR|fetch failed/, 'a message the store could not take is refused with the reason');
    // And the cluster works on afterwards from every node.
    for (const node of nodes) assert.equal(await cluster.ask(node, 'after', `after ${node.port}`), `echo: after ${node.port}`);
  } finally {
    await cluster.stopAll();
  }
});
