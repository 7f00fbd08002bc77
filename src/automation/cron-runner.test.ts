import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CronJob, CronJobSpec, CronRunRecord } from '../contracts/automation.js';
import type { TurnOutcome, TurnRequest } from '../sessions/turn-service.js';
import { startHookReceiver } from '../../test/support/hook-receiver.js';
import { createCronRunner } from './cron-runner.js';

const job = (overrides: Partial<CronJobSpec>): CronJob => ({
  id: 'job_1',
  spec: {
    name: 'digest',
    agentId: 'main',
    schedule: { kind: 'every', everyMs: 60_000 },
    message: 'Summarise',
    session: 'isolated',
    delivery: { kind: 'none' },
    misfire: 'skip',
    catchUpWindowMs: 0,
    ...overrides,
  },
  state: {} as CronJob['state'],
  createdAt: 0,
  updatedAt: 0,
});

const run = (turnRunId: string): CronRunRecord => ({
  id: `job_1@${turnRunId}`,
  jobId: 'job_1',
  status: 'running',
  scheduledAt: Date.parse('2026-11-21T08:00:00Z'),
  startedAt: null,
  finishedAt: null,
  trigger: 'schedule',
  turnRunId,
  reason: null,
  error: null,
  count: 1,
  createdAt: 0,
});

function fakeTurns(outcome: Partial<TurnOutcome> = {}) {
  const submitted: TurnRequest[] = [];
  return {
    submitted,
    turns: {
      submit: async (request: TurnRequest) => {
        submitted.push(request);
        return { runId: request.runId!, sessionKey: request.sessionKey, duplicate: false, status: 'queued' as const };
      },
      awaitRun: async (runId: string): Promise<TurnOutcome> => ({
        runId,
        sessionKey: 's',
        status: 'ok',
        reply: 'the digest',
        toolCalls: [],
        usage: null,
        modelRef: null,
        costUsd: null,
        error: null,
        ...outcome,
      }),
      forgetRun: () => {},
      waitFor: async () => {
        throw new Error('not used');
      },
    },
  };
}

test('a cron run is a cron turn in its session, with its reply to a chat through the outbox, its model and its budget scope', async () => {
  const { turns, submitted } = fakeTurns();
  const runner = createCronRunner({ turns });
  const channel = { kind: 'channel' as const, channel: 'telegram', accountId: 'work', to: '42', threadId: '7' };
  assert.deepEqual(await runner.execute(job({ delivery: channel, model: 'local/small' }), run('run_a')), { status: 'ok' });
  await runner.execute(job({ session: 'main' }), run('run_b'));
  await runner.execute(job({ session: 'agent:main:telegram:direct:42' }), run('run_c'));
  assert.deepEqual(submitted[0], {
    runId: 'run_a',
    sessionKey: 'cron:job_1:run:run_a',
    agentId: 'main',
    source: 'cron',
    text: 'Summarise',
    replyTo: { channel: 'telegram:work', target: '{"chatId":"42","threadId":"7"}' },
    options: { model: 'local/small', budgetScopes: ['cron:job_1'] },
  });
  assert.deepEqual(
    submitted.slice(1).map((request) => [request.sessionKey, request.replyTo]),
    [
      ['agent:main:main', null],
      ['agent:main:telegram:direct:42', null],
    ],
  );
});

test('a job with loop "structured" runs its turns as plans; without it the turn takes the agent\'s loop', async () => {
  const { turns, submitted } = fakeTurns();
  const runner = createCronRunner({ turns });
  await runner.execute(job({ loop: 'structured' }), run('run_s'));
  await runner.execute(job({}), run('run_t'));
  assert.deepEqual(submitted.map((request) => request.options), [{ loop: 'structured', budgetScopes: ['cron:job_1'] }, { budgetScopes: ['cron:job_1'] }]);
});

test('a failed turn is a failed run with its code; a webhook that never answers 2xx makes the run an error naming the run that keeps the reply', async () => {
  const failing = createCronRunner({ turns: fakeTurns({ status: 'error', reply: '', error: { code: 'PROVIDER_AUTH', message: 'the key was refused' } }).turns });
  assert.deepEqual(await failing.execute(job({}), run('run_d')), { status: 'error', error: 'PROVIDER_AUTH: the key was refused' });

  const hooks = await startHookReceiver();
  try {
    const runner = createCronRunner({ turns: fakeTurns().turns, webhookRetryMs: 5 });
    const delivery = { kind: 'webhook' as const, url: `${hooks.url}/results` };
    assert.deepEqual(await runner.execute(job({ delivery }), run('run_e')), { status: 'ok' });
    assert.deepEqual(hooks.received[0]?.body, {
      event: 'cron.run',
      jobId: 'job_1',
      jobName: 'digest',
      agentId: 'main',
      runId: 'run_e',
      scheduledAt: '2026-11-21T08:00:00.000Z',
      reply: 'the digest',
    });
    hooks.failNext(500, 3);
    const outcome = await runner.execute(job({ delivery }), run('run_f'));
    assert.equal(outcome.status, 'error');
    assert.match(outcome.error ?? '', /could not be POSTed to the job's webhook \(HTTP 500\); it is kept in run run_f/u);
    assert.equal(hooks.received.length, 1);
  } finally {
    await hooks.close();
  }
});
