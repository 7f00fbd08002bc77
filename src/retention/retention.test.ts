import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type BetterSqlite3 from 'better-sqlite3';
import { createFolderMediaStore } from '../media/media-store.js';
import { loadCommonJs } from '../runtime/load-commonjs.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { runRetention } from './retention.js';

const DAY = 86_400_000;
const sha = (char: string) => char.repeat(64);

test('retention archives and removes idle sessions, old runs, old finished outbox entries and unreferenced media, and nothing else', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-retention-'));
  const store = createSqliteStore({ path: join(dir, 'hearth.sqlite') });
  try {
    let runs = 0;
    const turn = async (sessionKey: string, text: string, day: number, deliver = false) => {
      const runId = `r${runs++}`;
      const now = day * DAY;
      await store.acceptTurn({ runId, sessionKey, agentId: 'main', source: 'ws', text, now });
      await store.startTurn(runId, { now, historyLimit: 0 });
      const { outboxId } = await store.completeTurn(runId, { status: 'ok', messages: [{ role: 'assistant', content: `re: ${text}` }], reply: `re: ${text}`, toolCalls: [], deliverTo: deliver ? { channel: 'telegram:default', target: '{"chatId":"1"}' } : null, now });
      return outboxId;
    };
    const delivered = await turn('agent:main:old', `a photo [image] (media/${sha('a')}, 3 bytes)`, 0, true);
    await store.markDelivered(delivered as number, 0);
    await turn('agent:main:old', 'a second line', 1);
    await turn('agent:main:alive', `kept photo (media/${sha('b')})`, 0);
    await turn('agent:main:alive', 'still talking', 200, true);
    await turn('agent:main:quiet', 'ten days in', 10);
    const mediaDir = join(dir, 'media');
    for (const hash of [sha('a'), sha('b'), sha('c')]) {
      mkdirSync(join(mediaDir, hash.slice(0, 2)), { recursive: true });
      writeFileSync(join(mediaDir, hash.slice(0, 2), hash), 'img');
      utimesSync(join(mediaDir, hash.slice(0, 2), hash), 1, 1);
    }

    const report = await runRetention({
      store,
      clock: { now: () => 200 * DAY },
      settings: () => ({ sessionsIdleDays: 180, runsDays: 90, runsMaxRows: 0, outboxDays: 14, tasksDays: 0, alertsDays: 0, vacuumFreePercent: 0 }),
      archiveDir: join(dir, 'archive', 'sessions'),
      media: createFolderMediaStore(mediaDir, Number.MAX_SAFE_INTEGER),
    });

    assert.equal(report.sessionsArchived, 2, 'old and quiet');
    assert.equal(report.linesRemoved, 6);
    assert.equal(report.runsRemoved, 4, 'every run finished before day 110');
    assert.equal(report.outboxRemoved, 1, 'the delivered entry of day 0; the pending one of day 200 stays');
    assert.deepEqual([report.mediaFilesRemoved, report.mediaBytesRemoved], [2, 6], 'the old session\'s photo and the orphan');

    assert.deepEqual((await store.readTranscript('agent:main:alive', 10)).map((entry) => entry.message.content), [`kept photo (media/${sha('b')})`, `re: kept photo (media/${sha('b')})`, 'still talking', 're: still talking']);
    assert.deepEqual(await store.readTranscript('agent:main:old', 10), []);
    assert.deepEqual((await store.listRuns({ limit: 10 })).map((run) => run.runId), ['r3']);
    assert.deepEqual([...(await store.mediaReferences())], [sha('b')]);
    assert.deepEqual(readdirSync(join(mediaDir, 'bb')), [sha('b')]);

    const [day] = readdirSync(join(dir, 'archive', 'sessions'));
    const files = readdirSync(join(dir, 'archive', 'sessions', day as string)).sort();
    assert.equal(files.length, 2);
    const archived = gunzipSync(readFileSync(join(dir, 'archive', 'sessions', day as string, files.find((name) => name.startsWith('agent_main_old')) as string))).toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(archived[0], { session: 'agent:main:old', agentId: 'main', lastTurnAt: DAY, archivedAt: 200 * DAY, lines: 4 });
    assert.deepEqual(archived.slice(1).map((line) => (line.message as { content: string }).content), [`a photo [image] (media/${sha('a')}, 3 bytes)`, `re: a photo [image] (media/${sha('a')}, 3 bytes)`, 'a second line', 're: a second line']);

    const again = await runRetention({ store, clock: { now: () => 200 * DAY }, settings: () => ({ sessionsIdleDays: 180, runsDays: 90, runsMaxRows: 0, outboxDays: 14, tasksDays: 0, alertsDays: 0, vacuumFreePercent: 0 }), archiveDir: join(dir, 'archive', 'sessions'), media: createFolderMediaStore(mediaDir, Number.MAX_SAFE_INTEGER) });
    assert.deepEqual([again.sessionsArchived, again.runsRemoved, again.outboxRemoved, again.mediaFilesRemoved], [0, 0, 0, 0], 'a second pass finds nothing more');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run records beyond runsMaxRows go oldest first; a session that got a turn after it was listed is kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-retention-'));
  const store = createSqliteStore({ path: join(dir, 'hearth.sqlite') });
  try {
    for (let i = 0; i < 5; i++) {
      await store.acceptTurn({ runId: `r${i}`, sessionKey: 's', agentId: 'main', source: 'ws', text: `t${i}`, now: i });
      await store.startTurn(`r${i}`, { now: i, historyLimit: 0 });
      await store.completeTurn(`r${i}`, { status: 'ok', messages: [], reply: '', toolCalls: [], deliverTo: null, now: i });
    }
    assert.equal(await store.pruneRunRecords({ finishedBefore: 0, maxRows: 2, limit: 100 }), 3);
    assert.deepEqual((await store.listRuns({ limit: 10 })).map((run) => run.runId), ['r4', 'r3']);
    assert.equal(await store.deleteIdleSession('s', 3), null, 'its last turn (time 4) is after the cutoff');
    assert.equal(await store.deleteIdleSession('s', 5), 5, 'its five question lines');
    assert.deepEqual(await store.readTranscript('s', 10), []);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after a large prune the database is compacted and the file shrinks; with nothing freed since, the next pass leaves it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-retention-'));
  const path = join(dir, 'hearth.sqlite');
  const store = createSqliteStore({ path });
  const fileBytes = () => statSync(path).size;
  try {
    const padding = 'x'.repeat(4000);
    for (let i = 0; i < 600; i++) {
      const [sessionKey, now] = i < 540 ? [`old${i % 54}`, 0] : [`new${i % 6}`, 200 * DAY];
      await store.acceptTurn({ runId: `r${i}`, sessionKey, agentId: 'main', source: 'ws', text: `${i} ${padding}`, now });
      await store.startTurn(`r${i}`, { now, historyLimit: 0 });
      await store.completeTurn(`r${i}`, { status: 'ok', messages: [{ role: 'assistant', content: padding }], reply: '', toolCalls: [], deliverTo: null, now });
    }
    const settings = (vacuumFreePercent: number) => () => ({ sessionsIdleDays: 180, runsDays: 0, runsMaxRows: 0, outboxDays: 0, tasksDays: 0, alertsDays: 0, vacuumFreePercent });
    const deps = { store, clock: { now: () => 200 * DAY }, archiveDir: join(dir, 'archive'), media: createFolderMediaStore(join(dir, 'media'), Number.MAX_SAFE_INTEGER), minReclaimBytes: 1024 * 1024 };

    const report = await runRetention({ ...deps, settings: settings(25) });
    assert.equal(report.sessionsArchived, 54, 'the sessions whose last turn was on day 0');
    assert.ok(report.reclaimed, 'most of the file was free pages');
    assert.ok(report.reclaimed.afterBytes < report.reclaimed.beforeBytes / 2, `${report.reclaimed.beforeBytes} → ${report.reclaimed.afterBytes}`);
    assert.ok(fileBytes() <= report.reclaimed.afterBytes, `the file shrank on disk: ${fileBytes()} bytes`);
    assert.equal((await store.readTranscript('new5', 100)).length, 20, 'the living sessions are whole: 10 questions and 10 replies');

    const again = await runRetention({ ...deps, settings: settings(25) });
    assert.equal(again.reclaimed, null, 'nothing left to give back');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('finished tasks past tasksDays go with their dependency rows, unless an unfinished task depends on them; alerts past alertsDays go unless still being delivered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-retention-'));
  const path = join(dir, 'hearth.sqlite');
  const store = createSqliteStore({ path });
  try {
    const task = (id: string, day: number, dependsOn: string[] = []) => store.createTask({ id, title: id, body: 'do it', createdBy: 'planner', dependsOn, now: day * DAY });
    const finish = async (id: string, day: number, status: 'done' | 'failed') => {
      assert.ok((await store.claimTask({ id, agentId: 'main', claimer: 'w', leaseMs: DAY, now: day * DAY })).ok);
      assert.ok((await store.finishTask({ id, claimer: 'w', status, result: status, now: day * DAY })).ok);
    };
    await task('old-done', 1);
    await finish('old-done', 2, 'done');
    await task('old-failed', 1);
    await finish('old-failed', 3, 'failed');
    await task('waiting', 4, ['old-failed']);
    await task('old-cancelled', 1);
    await task('cancelled-child', 2, ['old-cancelled']);
    await store.cancelTask('old-cancelled', 'not needed', 4 * DAY);
    await store.cancelTask('cancelled-child', 'not needed', 5 * DAY);
    await task('done-parent', 1);
    await finish('done-parent', 2, 'done');
    await task('recent-child', 3, ['done-parent']);
    await finish('recent-child', 150, 'done');
    await task('open-old', 0);
    await task('claimed-old', 0);
    assert.ok((await store.claimTask({ id: 'claimed-old', agentId: 'main', claimer: 'w', leaseMs: 300 * DAY, now: DAY })).ok);

    const logged = await store.raiseAlert({ dedupeKey: 'logged-old', event: 'budget.exceeded', payload: {}, webhook: null, now: 10 * DAY });
    const delivered = await store.raiseAlert({ dedupeKey: 'delivered-old', event: 'backup.failed', payload: {}, webhook: 'http://127.0.0.1:9/hook', now: 10 * DAY });
    await store.recordAlertDelivery(delivered.alert.id, { delivered: true, now: 10 * DAY, retryAt: null });
    await store.raiseAlert({ dedupeKey: 'pending-old', event: 'cron.escalation', payload: {}, webhook: 'http://127.0.0.1:9/hook', now: 10 * DAY });
    await store.raiseAlert({ dedupeKey: 'logged-new', event: 'channel.degraded', payload: {}, webhook: null, now: 190 * DAY });
    assert.equal(logged.alert.status, 'logged');

    const settings = () => ({ sessionsIdleDays: 0, runsDays: 0, runsMaxRows: 0, outboxDays: 0, tasksDays: 90, alertsDays: 30, vacuumFreePercent: 0 });
    const deps = { store, clock: { now: () => 200 * DAY }, settings, archiveDir: join(dir, 'archive'), media: createFolderMediaStore(join(dir, 'media'), Number.MAX_SAFE_INTEGER) };
    const report = await runRetention(deps);

    assert.equal(report.tasksRemoved, 4, 'old-done, old-cancelled, cancelled-child and done-parent');
    assert.deepEqual((await store.listTasks({ limit: 20 })).map((entry) => entry.id).sort(), ['claimed-old', 'old-failed', 'open-old', 'recent-child', 'waiting']);
    const waiting = await store.getTask('waiting');
    assert.equal(waiting?.ready, false, 'the failed task it waits for is kept, so it is still not ready');
    assert.deepEqual((await store.getTask('recent-child'))?.dependsOn, ['done-parent'], 'a kept task still says what it depended on');
    const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
    const db = new Database(path, { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT task_id, depends_on FROM task_dependencies ORDER BY task_id').all(), [{ task_id: 'waiting', depends_on: 'old-failed' }], 'no dependency row names a removed task');
    } finally {
      db.close();
    }

    assert.equal(report.alertsRemoved, 2, 'the old logged and the old delivered alert');
    assert.deepEqual((await store.listAlerts(10)).map((alert) => alert.dedupeKey), ['logged-new', 'pending-old'], 'a recent alert and one still being delivered stay');

    const again = await runRetention(deps);
    assert.deepEqual([again.tasksRemoved, again.alertsRemoved], [0, 0], 'a second pass finds nothing more');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
