import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MAX_LOG_SCAN_BYTES, readLog } from './log-reader.js';

const line = (level: number, msg: string, extra: Record<string, unknown> = {}) => `${JSON.stringify({ level, time: 1_700_000_000_000, msg, ...extra })}\n`;

describe('readLog', () => {
  let dir = '';
  let path = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-logs-'));
    path = join(dir, 'gateway.log');
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('returns the newest lines, filtered by level and component; lines without one are the gateway\'s', async () => {
    writeFileSync(
      path,
      [
        line(30, 'gateway listening'),
        line(40, 'slow model', { component: 'models' }),
        'not json\n',
        line(50, 'turn failed', { component: 'turns', runId: 'r1' }),
        line(30, 'turn recovered', { component: 'turns' }),
      ].join(''),
    );
    const all = await readLog(path);
    assert.deepEqual(all.entries.map((entry) => entry.msg), ['gateway listening', 'slow model', 'turn failed', 'turn recovered']);
    assert.equal(all.entries[0]?.component, 'gateway');
    assert.deepEqual((await readLog(path, { level: 'warn' })).entries.map((entry) => entry.msg), ['slow model', 'turn failed']);
    assert.deepEqual((await readLog(path, { component: 'turns', level: 'error' })).entries.map((entry) => entry.level), ['error']);
    assert.deepEqual((await readLog(path, { limit: 2 })).entries.map((entry) => entry.msg), ['turn failed', 'turn recovered']);
  });

  it('follows from a cursor: only complete lines written since, and again after the file was cut short', async () => {
    writeFileSync(path, line(30, 'one'));
    const first = await readLog(path);
    appendFileSync(path, `${line(30, 'two')}{"level":30,"msg":"unfini`);
    const second = await readLog(path, { after: first.cursor });
    assert.deepEqual(second.entries.map((entry) => entry.msg), ['two']);
    appendFileSync(path, 'shed"}\n');
    const third = await readLog(path, { after: second.cursor });
    assert.deepEqual(third.entries.map((entry) => entry.msg), ['unfinished']);
    writeFileSync(path, line(30, 'fresh file'));
    assert.deepEqual((await readLog(path, { after: third.cursor })).entries.map((entry) => entry.msg), ['fresh file']);
  });

  it('a follower limited to fewer entries than were written resumes where it stopped, even over identical lines', async () => {
    writeFileSync(path, line(30, 'same').repeat(5));
    const first = await readLog(path, { after: 0, limit: 3 });
    assert.equal(first.entries.length, 3);
    assert.equal(first.truncated, true);
    const rest = await readLog(path, { after: first.cursor, limit: 3 });
    assert.equal(rest.entries.length, 2);
  });

  it('reads at most the last 4 MiB of a big file, and nothing of a missing one', async () => {
    const filler = line(20, 'x'.repeat(1000));
    writeFileSync(path, filler.repeat(Math.ceil((MAX_LOG_SCAN_BYTES * 1.5) / filler.length)) + line(30, 'last'));
    const page = await readLog(path, { limit: 1000 });
    assert.equal(page.truncated, true);
    assert.ok(page.entries.length < MAX_LOG_SCAN_BYTES / 1000 + 1);
    assert.equal(page.entries.at(-1)?.msg, 'last');
    assert.deepEqual(await readLog(join(dir, 'nothing.log')), { entries: [], cursor: 0, truncated: false });
  });
});
