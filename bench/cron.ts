/**
 * Cron scheduler figures: 1,000 jobs on the real scheduler, a real SQLite store and Node's timers
 * (the agent turn is a stub, so this measures the scheduler and its ledger, not a model).
 *
 *   node dist/bench/cron.js [--runs 3]
 *
 * Prints, per run and as medians: time to add 1,000 jobs; CPU while 1,000 hourly jobs wait
 * (should be nothing: one timer, no polling); for 1,000 jobs every 2 s over 10 s, how late runs
 * started (p50 / p99 / max) and CPU per run (ledger writes included).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCronScheduler } from '../src/automation/cron-scheduler.js';
import type { CronJobSpec, CronRunRecord } from '../src/contracts/automation.js';
import { systemClock } from '../src/runtime/clock.js';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { medianOf, round, sleep } from './bench-support.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const JOBS = 1000;

const spec = (index: number, everyMs: number, anchorAt: number): CronJobSpec => ({
  name: `job ${index}`,
  agentId: 'main',
  schedule: { kind: 'every', everyMs, anchorAt },
  message: 'tick',
  session: 'isolated',
  delivery: { kind: 'none' },
  misfire: 'skip',
  catchUpWindowMs: 0,
});

const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

async function once() {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-cron-'));
  const store = createSqliteStore({ path: join(dir, 'state.sqlite') });
  const lateness: number[] = [];
  let executed = 0;
  const scheduler = createCronScheduler({
    store,
    clock: systemClock,
    logger: { info() {}, warn() {}, error() {} },
    escalation: () => ({ alertAfterConsecutiveErrors: 3, disableAfterConsecutiveErrors: 5, backoffMaxMs: 3_600_000 }),
    alerts: { raise: async () => {} },
    execute: async (_job, run: CronRunRecord) => {
      executed++;
      lateness.push((run.startedAt ?? Date.now()) - run.scheduledAt);
      return { status: 'ok' };
    },
    resume: async () => ({ status: 'ok' }),
  });
  await scheduler.start();
  try {
    // 1,000 hourly jobs: adding them, then idling.
    let started = performance.now();
    const hourly: string[] = [];
    for (let index = 0; index < JOBS; index++) hourly.push((await scheduler.add(spec(index, 3_600_000, Date.now() + 3_600_000))).id);
    const addMs = performance.now() - started;
    const idleCpuStart = cpuMs();
    await sleep(5000);
    const idleCpuPercent = ((cpuMs() - idleCpuStart) / 5000) * 100;
    for (const id of hourly) await scheduler.remove(id);

    // 1,000 jobs every 2 s for 10 s.
    const anchor = Math.ceil(Date.now() / 1000) * 1000 + 2000;
    for (let index = 0; index < JOBS; index++) await scheduler.add(spec(index, 2000, anchor));
    const busyCpuStart = cpuMs();
    started = performance.now();
    await sleep(anchor - Date.now() + 10_000 - 500);
    await scheduler.idle();
    const busyCpu = cpuMs() - busyCpuStart;
    lateness.sort((a, b) => a - b);
    return {
      addMsPerJob: addMs / JOBS,
      idleCpuPercent,
      runs: executed,
      latenessP50Ms: lateness[Math.floor(lateness.length / 2)] ?? 0,
      latenessP99Ms: lateness[Math.floor(lateness.length * 0.99)] ?? 0,
      latenessMaxMs: lateness[lateness.length - 1] ?? 0,
      cpuMsPerRun: busyCpu / Math.max(1, executed),
    };
  } finally {
    scheduler.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (let index = 0; index < runs; index++) {
  const result = await once();
  results.push(result);
  console.log(`run ${index + 1}:`, round(result));
}
console.log('median:', round(medianOf(results)));
