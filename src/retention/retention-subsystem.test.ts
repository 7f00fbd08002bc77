import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configSchema } from '../config/schema.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { scheduleRetention } from './retention-subsystem.js';

const DAY = 86_400_000;

test('the retention component shows its last pass in status: when it ran and what it removed', async () => {
  const home = mkdtempSync(join(tmpdir(), 'hearth-retention-status-'));
  const store = createSqliteStore({ path: join(home, 'hearth.sqlite') });
  const config = configSchema().parse({ retention: { sessionsIdleDays: 1, vacuumFreePercent: 0 } });
  const clock = { now: () => 10 * DAY, setTimer: () => undefined, clearTimer: () => {} };
  const retention = scheduleRetention({ config: { current: () => config } as never, logger: { info: () => {}, warn: () => {} } as never, paths: { home } as never, store, clock });
  try {
    assert.deepEqual(retention.health(), { status: 'ok', detail: 'no pass yet' });
    for (let i = 0; i < 3; i++) {
      await store.acceptTurn({ runId: `r${i}`, sessionKey: `s${i}`, agentId: 'main', source: 'ws', text: 'hello', now: 0 });
      await store.startTurn(`r${i}`, { now: 0, historyLimit: 0 });
      await store.completeTurn(`r${i}`, { status: 'ok', messages: [{ role: 'assistant', content: 'hi' }], reply: 'hi', toolCalls: [], deliverTo: null, now: 0 });
    }
    const report = await retention.runNow();
    assert.equal(report?.sessionsArchived, 3);
    const health = retention.health();
    assert.equal(health.status, 'ok');
    assert.match(health.detail, /^last pass 1970-01-11T00:00:00\.000Z: 3 sessions archived \(6 lines\), 0 run records, 0 outbox entries, 0 tasks, 0 alerts, 0 media files removed$/u);
  } finally {
    retention.stop();
    await store.close();
    rmSync(home, { recursive: true, force: true });
  }
});
