import assert from 'node:assert/strict';
import { test } from 'node:test';
import { previewRuns } from '../../automation/cron-jobs.js';
import type { CronSchedule } from '../../contracts/automation.js';
import type { GatewayContext } from '../gateway-context.js';
import { cronMethods } from './cron-methods.js';
import type { RpcConnection } from './rpc-types.js';

const NOW = Date.parse('2026-03-27T12:00:00Z');
const connection: RpcConnection = { id: 'test', watch() {}, notify() {}, watchHealth: () => null };
/** Only the part of the gateway `cron.preview` uses: the scheduler's preview at a fixed time. */
const context = { cron: { preview: (schedule: CronSchedule, count: number) => previewRuns(schedule, NOW, count) } } as unknown as GatewayContext;

async function preview(params: Record<string, unknown>) {
  const method = cronMethods['cron.preview'];
  assert.ok(method, 'cron.preview is registered');
  return (await method.handle(method.params.parse(params), connection, context)) as { schedule: string; timeZone: string; next: string[] };
}

async function refused(params: Record<string, unknown>, pattern: RegExp) {
  await assert.rejects(preview(params), (error: { code?: string; message: string }) => {
    assert.equal(error.code, 'BAD_REQUEST');
    assert.match(error.message, pattern);
    return true;
  });
}

test('cron.preview: a cron expression runs in its zone, across the spring change of clocks', async () => {
  const result = await preview({ cron: '0 9 * * *', tz: 'Europe/Paris' });
  assert.equal(result.timeZone, 'Europe/Paris');
  assert.equal(result.schedule, 'cron "0 9 * * *" Europe/Paris');
  assert.deepEqual(result.next, ['2026-03-28T09:00:00+01:00', '2026-03-29T09:00:00+02:00', '2026-03-30T09:00:00+02:00', '2026-03-31T09:00:00+02:00', '2026-04-01T09:00:00+02:00']);
});

test('cron.preview: every counts from one period after now, as a new job does; count bounds the list', async () => {
  const result = await preview({ every: '30m', tz: 'UTC', count: 3 });
  assert.deepEqual(result.next, ['2026-03-27T12:30:00+00:00', '2026-03-27T13:00:00+00:00', '2026-03-27T13:30:00+00:00']);
});

test('cron.preview: a one-off time runs once, and not at all when it has passed', async () => {
  assert.deepEqual((await preview({ at: '2026-04-01T08:00:00Z', tz: 'America/New_York' })).next, ['2026-04-01T04:00:00-04:00']);
  assert.deepEqual((await preview({ at: '2026-01-01T08:00:00Z', tz: 'UTC' })).next, []);
});

test('cron.preview: a wrong schedule or zone is refused, naming what is wrong', async () => {
  await refused({ cron: '61 9 * * *', tz: 'UTC' }, /cron expression "61 9 \* \* \*" is not valid/u);
  await refused({ cron: '0 9 * * *', tz: 'Mars/Olympus' }, /"Mars\/Olympus" is not an IANA time zone/u);
  await refused({ every: 'often' }, /"often" is not a duration/u);
  await refused({ at: 'tomorrow' }, /"tomorrow" is not an ISO time/u);
  await refused({ every: '1h', cron: '0 9 * * *' }, /Give one schedule/u);
  await refused({ tz: 'UTC' }, /--tz goes with a --cron schedule/u);
  await refused({}, /Give a schedule to preview/u);
});
