import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chatTurn } from '../support/chat-turn.js';
import { fakeModelConfig, type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { makeHome, removeHome, runCli, startTestGateway, testEnv, waitFor } from '../support/gateway-harness.js';

let model: FakeModelServer;
const dirs: string[] = [];

before(async () => {
  model = await startFakeModelServer();
});
after(async () => {
  await model?.close();
  for (const dir of dirs) removeHome(dir);
});

interface StatusJson {
  retention: {
    settings: Record<string, number>;
    lastPass: { at: number; sessionsArchived: number; runsRemoved: number; outboxRemoved: number; tasksRemoved: number; alertsRemoved: number } | null;
    lastError: unknown;
    nextPassAt: number | null;
  };
  backups: {
    settings: { to: string; every: string; keep: number; includeSecrets: boolean } | null;
    last: { at: number; name: string; where: string; sizeBytes: number } | null;
    lastError: unknown;
    nextAt: number | null;
  };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/gu, '\\$&');

test('hearth status shows the retention and backup settings in force, the last retention pass and what it removed, the last backup, and when the next of each is due', async () => {
  const home = makeHome();
  const folder = mkdtempSync(join(tmpdir(), 'hearth-backups-'));
  dirs.push(home, folder);
  const gateway = await startTestGateway({
    home,
    config: {
      ...fakeModelConfig(model),
      retention: { sessionsIdleDays: 30, runsDays: 7, runsMaxRows: 1, outboxDays: 3, tasksDays: 10, alertsDays: 20, intervalMinutes: 0.15, vacuumFreePercent: 0 },
      cron: { historyDays: 5, historyMaxRows: 200 },
      backups: { to: folder, every: '3s', keep: 2 },
    },
  });
  const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
  try {
    // Two runs before the first pass (one interval, 9 s, after start): runsMaxRows 1 removes one.
    for (const content of ['first question', 'second question']) await chatTurn(gateway, model, content);
    const before = JSON.parse((await runCli(['status', '--json'], env)).stdout) as StatusJson;
    assert.equal(before.retention.lastPass, null, 'no pass yet');
    assert.ok(before.retention.nextPassAt !== null && before.retention.nextPassAt > Date.now(), 'the first pass is still to come');

    const status = await waitFor(
      async () => {
        const report = JSON.parse((await runCli(['status', '--json'], env)).stdout) as StatusJson;
        return report.retention.lastPass && report.backups.last ? report : null;
      },
      'a retention pass and a backup',
      30_000,
      250,
    );
    assert.deepEqual(status.retention.settings, {
      sessionsIdleDays: 30,
      runsDays: 7,
      runsMaxRows: 1,
      outboxDays: 3,
      tasksDays: 10,
      alertsDays: 20,
      intervalMinutes: 0.15,
      vacuumFreePercent: 0,
      cronHistoryDays: 5,
      cronHistoryMaxRows: 200,
    });
    const pass = status.retention.lastPass;
    assert.ok(pass);
    assert.deepEqual([pass.sessionsArchived, pass.runsRemoved, pass.outboxRemoved, pass.tasksRemoved, pass.alertsRemoved], [0, 1, 0, 0, 0], 'the run beyond runsMaxRows');
    assert.equal(status.retention.lastError, null);
    const wait = (status.retention.nextPassAt ?? 0) - pass.at;
    assert.ok(wait >= 9000 && wait < 12_000, `the next pass is one interval after the last (${wait} ms)`);

    assert.deepEqual(status.backups.settings, { to: folder, every: '3s', keep: 2, includeSecrets: false });
    assert.match(status.backups.last?.name ?? '', /^hearth-\S+\.tar\.gz$/u);
    assert.equal(status.backups.last?.where, folder);
    assert.ok((status.backups.last?.sizeBytes ?? 0) > 0);
    assert.equal(status.backups.lastError, null);
    assert.ok(readdirSync(folder).some((name) => name.endsWith('.tar.gz')), 'the backup is in the folder');

    const text = await runCli(['status'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^Retention last pass \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ removed 0 sessions \(archived\), 1 run records, 0 outbox entries, 0 tasks, 0 alerts, 0 media files; next \d{4}-\S+Z$/mu,
    );
    assert.match(text.stdout, /^ {10}keeps idle sessions 30 d; runs 7 d, at most 1; outbox 3 d; tasks 10 d; alerts 20 d; cron ledger 5 d, at most 200; every 0\.15 min, never compacts$/mu);
    assert.match(
      text.stdout,
      new RegExp(`^Backups {3}every 3s to ${escapeRegExp(folder)}, keeping 2: last hearth-\\S+\\.tar\\.gz \\S+Z \\(\\d+(\\.\\d)? (bytes|KiB|MiB)\\)(, \\d+ older removed)?; (next \\S+Z|a backup is running)$`, 'mu'),
    );
  } finally {
    await gateway.stop();
  }
});
