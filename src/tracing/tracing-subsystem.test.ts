import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createConfigState } from '../config/config-state.js';
import { configSchema } from '../config/schema.js';
import { NO_TRACING } from '../contracts/tracing.js';
import { createLogger } from '../observability/logger.js';
import { tracingSubsystem } from './tracing-subsystem.js';

/** The log file once it holds `text` in a whole line: it is opened and written in the background, so this flushes and reads again until then (5 s at most). */
async function logFileWith(path: string, flush: () => void, text: string): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    flush();
    const file = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (file.includes(text) && file.endsWith('\n')) return file;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${text} in ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function base(tracing: unknown, logsDir?: string) {
  const config = createConfigState({ config: configSchema().parse({ tracing }), hash: 'h', source: '{}' });
  const { logger, flush, addFields } = createLogger({ level: 'info', terminal: null, ...(logsDir ? { logsDir } : {}) });
  let fieldSources = 0;
  const addLogFields: typeof addFields = (fieldsOf) => {
    fieldSources += 1;
    return addFields(fieldsOf);
  };
  return { deps: { config, logger, version: '1.0.0', addLogFields }, flush, fieldSources: () => fieldSources };
}

test('tracing off (the default) hands out the tracer that does nothing, and adds nothing to log lines', async () => {
  const { deps, fieldSources } = base({});
  const started = await tracingSubsystem.start(deps);
  assert.equal(started.api, NO_TRACING);
  assert.equal(started.health, undefined, '/readyz shows no tracing component');
  assert.equal(fieldSources(), 0);
  const turn = started.api.startTurn({ runId: 'run_1', sessionKey: 's', agentId: 'main', channel: 'webchat', startedAt: Date.now() });
  assert.equal(turn.context, null, 'no trace id goes into the run record');
});

test('tracing on: a traced turn\'s log lines carry its trace id until it ends, and health names the endpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-tracing-'));
  try {
    // Nothing listens on port 9 of the loopback: exports fail quietly, which this test does not wait for.
    const { deps, flush } = base({ enabled: true, endpoint: 'http://127.0.0.1:9/v1/traces', exportTimeoutMs: 200 }, dir);
    const started = await tracingSubsystem.start(deps);
    assert.equal(started.api.enabled, true);
    const turn = started.api.startTurn({ runId: 'run_2', sessionKey: 's', agentId: 'main', channel: 'webchat', startedAt: Date.now() });
    deps.logger.warn({ runId: 'run_2', code: 'PROVIDER_ERROR' }, 'the model refused');
    deps.logger.info({ runId: 'run_other' }, 'another run');
    turn.end({ status: 'error' });
    deps.logger.info({ runId: 'run_2' }, 'after the turn');
    assert.match(started.health?.().detail ?? '', /127\.0\.0\.1:9\/v1\/traces/u);
    await started.stop?.();
    const lines = (await logFileWith(join(dir, 'gateway.log'), flush, '"msg":"after the turn"')).trim().split('\n').map((line) => JSON.parse(line) as { msg: string; traceId?: string });
    assert.equal(lines.find((line) => line.msg === 'the model refused')?.traceId, turn.context?.traceId);
    assert.match(turn.context?.traceId ?? '', /^[0-9a-f]{32}$/u);
    assert.equal(lines.find((line) => line.msg === 'another run')?.traceId, undefined);
    assert.equal(lines.find((line) => line.msg === 'after the turn')?.traceId, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
