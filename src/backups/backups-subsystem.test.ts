import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureHearthDirs, resolveHearthPaths } from '../config/paths.js';
import type { Clock } from '../runtime/clock.js';
import { scheduleBackups } from './backups-subsystem.js';

async function until<T>(check: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('stopping the gateway during a scheduled backup waits for it to be stored and pruned, and schedules no more', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-backups-'));
  try {
    const paths = resolveHearthPaths({ HEARTH_HOME: join(dir, 'home') });
    ensureHearthDirs(paths);
    writeFileSync(join(paths.workspacesDir, 'NOTES.md'), 'the blue door\n');
    const folder = join(dir, 'backups');
    const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
    let now = Date.parse('2026-12-06T08:00:00Z');
    const clock: Clock = {
      now: () => now,
      setTimer: (fn, ms) => timers.push({ fn, ms, cleared: false }) - 1,
      clearTimer: (handle) => {
        const timer = typeof handle === 'number' ? timers[handle] : undefined;
        if (timer) timer.cleared = true;
      },
    };
    const config = { backups: { to: folder, every: '1h', keep: 2, includeSecrets: false }, alerts: {}, store: { kind: 'sqlite' } };
    const logged: string[] = [];
    const logger = { info: (_obj: object, msg?: string) => logged.push(msg ?? ''), warn() {}, error() {} };
    const backups = scheduleBackups({
      config: { current: () => config } as never,
      logger: logger as never,
      paths,
      version: '1.2.3',
      alerts: { raise: async () => undefined } as never,
      clock,
      env: {},
    });
    // Nothing stored yet: the first backup is due within the first minute.
    const first = await until(() => timers[0], 'the first backup to be scheduled');
    assert.ok(first.ms <= 60_000);
    for (let i = 0; i < 2; i++) {
      now += 3_600_000;
      timers.at(-1)?.fn();
      await until(() => (timers.length === i + 2 ? true : undefined), 'the next backup to be scheduled');
      assert.equal(timers.at(-1)?.ms, 3_600_000, 'the next one backups.every later');
    }
    assert.equal(readdirSync(folder).length, 2);

    now += 3_600_000;
    timers.at(-1)?.fn();
    await backups.stop();
    const left = readdirSync(folder).sort();
    assert.deepEqual(left, ['hearth-2026-12-06T10-00-00-000Z.tar.gz', 'hearth-2026-12-06T11-00-00-000Z.tar.gz'], 'the backup in progress was stored and the oldest removed before stop resolved');
    assert.equal(logged.filter((msg) => msg === 'backup stored').length, 3);
    assert.ok(timers.slice(3).every((timer) => timer.ms !== 3_600_000 && timer.cleared), 'no backup is scheduled after stopping');
    assert.match(backups.health().detail, /last hearth-2026-12-06T11-00-00-000Z\.tar\.gz/u);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
