import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestCluster, type TestCluster } from '../support/cluster-harness.js';
import { runCli, testEnv, waitFor } from '../support/gateway-harness.js';

// Three real gateway processes on one PostgreSQL database (the machine's server on 127.0.0.1:5432).
let cluster: TestCluster;

before(async () => {
  cluster = await createTestCluster('hearth_cluster');
});

after(async () => {
  await cluster?.close();
});

test('three nodes: a cron job every second for 60 s while the node firing it is killed twice: every occurrence is in the ledger exactly once', { timeout: 110_000 }, async () => {
  const nodes = await Promise.all([0, 1, 2].map((index) => cluster.startNode(index)));
  try {
    const added = await runCli(['cron', 'add', '--name', 'tick', '--every', '1s', '--message', 'tick', '--deliver-none', '--misfire', 'skip', '--json'], testEnv(cluster.homes[1]!, cluster.nodeEnv(1)));
    assert.equal(added.code, 0, added.stderr);
    const jobId = (JSON.parse(added.stdout) as { id: string }).id;
    const leader = async () => (await cluster.rows<{ holder: string }>("SELECT holder FROM cluster_leases WHERE name = 'cron:schedule' AND expires_at > (extract(epoch from clock_timestamp()) * 1000)::bigint"))[0]?.holder;
    const startedAt = Date.now();
    for (const killAt of [15_000, 35_000]) {
      await new Promise((resolve) => setTimeout(resolve, startedAt + killAt - Date.now()));
      const firing = await waitFor(leader, 'a node firing the schedule');
      const index = Number(firing.replace('node-', ''));
      await nodes[index]!.kill();
      nodes[index] = await cluster.startNode(index);
    }
    await new Promise((resolve) => setTimeout(resolve, startedAt + 60_000 - Date.now()));
    await cluster.stopAll();
    const ledger = await cluster.rows<{ scheduled_at: string; status: string; count: number }>('SELECT scheduled_at, status, count FROM cron_runs WHERE job_id = $1 ORDER BY scheduled_at', [jobId]);
    const slots = new Map<number, number>();
    for (const entry of ledger) {
      for (let index = 0; index < entry.count; index++) {
        const slot = Number(entry.scheduled_at) + index * 1000;
        slots.set(slot, (slots.get(slot) ?? 0) + 1);
      }
    }
    const times = [...slots.keys()].sort((a, b) => a - b);
    const twice = [...slots.entries()].filter(([, count]) => count > 1);
    assert.deepEqual(twice, [], 'no occurrence is in the ledger twice');
    const gaps = times.slice(1).filter((time, index) => time - times[index]! !== 1000);
    assert.deepEqual(gaps, [], 'no occurrence is missing between the first and the last');
    assert.ok(times.length >= 55, `${times.length} occurrences over 60 s`);
    const ran = ledger.filter((entry) => entry.status === 'ok').length;
    assert.ok(ran >= 40, `${ran} occurrences ran (the rest fell while no node held the schedule, and say so)`);
  } finally {
    await cluster.stopAll();
  }
});
