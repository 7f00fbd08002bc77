import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AgentProfile } from '../agent/agent-loop.js';
import type { Clock } from '../runtime/clock.js';
import type { TurnRequest } from '../sessions/turn-service.js';
import { checklistOf, createHeartbeats, withinActiveHours } from './heartbeat.js';

const MIN = 60_000;

function manualClock(start: number) {
  let now = start;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let seq = 0;
  const clock: Clock & { advance(ms: number): Promise<void>; timers: number } = {
    now: () => now,
    setTimer(fn, ms) {
      timers.set(++seq, { at: now + ms, fn });
      return seq;
    },
    clearTimer(handle) {
      timers.delete(handle as number);
    },
    async advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, timer]) => timer.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
        // The beat reads HEARTBEAT.md from disk before it re-arms.
        for (let index = 0; index < 100 && timers.size === 0; index++) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      now = until;
    },
    get timers() {
      return timers.size;
    },
  };
  return clock;
}

test('active hours, including a window past midnight, in the configured time zone', () => {
  const at = (iso: string) => Date.parse(iso);
  const day = { start: '08:00', end: '22:00', timezone: 'Europe/Berlin' };
  assert.equal(withinActiveHours(at('2026-11-21T06:59:00Z'), day), false, '07:59 in Berlin');
  assert.equal(withinActiveHours(at('2026-11-21T07:00:00Z'), day), true, '08:00 in Berlin');
  assert.equal(withinActiveHours(at('2026-11-21T21:00:00Z'), day), false, '22:00 in Berlin');
  const night = { start: '22:00', end: '06:00', timezone: 'UTC' };
  assert.equal(withinActiveHours(at('2026-11-21T23:30:00Z'), night), true);
  assert.equal(withinActiveHours(at('2026-11-21T05:59:00Z'), night), true);
  assert.equal(withinActiveHours(at('2026-11-21T12:00:00Z'), night), false);
  assert.equal(checklistOf('# Heartbeat\n\n<!-- nothing yet -->\n#\n'), '# Heartbeat');
  assert.equal(checklistOf('<!-- only a comment -->\n\n'), '');
});

test('a heartbeat turn every N minutes with its own model; skipped with a reason when the checklist is empty, the session is busy, out of hours or over budget', async () => {
  const workspace = mkdtempSync(join(tmpdir(), 'hearth-heartbeat-'));
  const start = Date.parse('2026-11-21T10:00:00Z');
  const clock = manualClock(start);
  const submitted: TurnRequest[] = [];
  let busy = false;
  let blocked: string | null = null;
  const agent: AgentProfile = {
    id: 'main',
    name: 'main',
    workspaceDir: workspace,
    modelRefs: ['fake/big'],
    toolPolicy: {},
    maxSteps: 4,
    turnTimeoutMs: 1000,
    contextTokens: 1000,
    maxOutputTokens: 100,
    heartbeat: { every: '30m', model: 'fake/cheap', target: 'telegram:42', activeHours: { start: '09:00', end: '18:00', timezone: 'UTC' } },
  };
  const heartbeats = createHeartbeats({
    clock,
    agents: () => [agent],
    turns: {
      submit: async (request) => {
        submitted.push(request);
        return { runId: `run_${submitted.length}`, sessionKey: request.sessionKey, duplicate: false, status: 'queued' };
      },
    },
    isBusy: () => busy,
    blockedReason: async () => blocked,
    logger: { info() {}, warn() {}, error() {} },
  });
  try {
    heartbeats.apply();
    assert.equal(clock.timers, 1);
    await clock.advance(30 * MIN);
    assert.equal(submitted.length, 0);
    assert.match(heartbeats.status()[0]?.lastSkip?.reason ?? '', /HEARTBEAT\.md is missing or empty/u);

    writeFileSync(join(workspace, 'HEARTBEAT.md'), '# Checklist\n- look at the inbox\n');
    await clock.advance(30 * MIN);
    assert.equal(submitted.length, 1);
    const [turn] = submitted;
    assert.equal(turn?.source, 'heartbeat');
    assert.equal(turn?.sessionKey, 'agent:main:main');
    assert.deepEqual(turn?.options, { model: 'fake/cheap' });
    assert.deepEqual(turn?.replyTo, { channel: 'telegram:default', target: '{"chatId":"42"}' });
    assert.match(turn?.text ?? '', /reply with exactly NO_REPLY[\s\S]*- look at the inbox/u);
    assert.equal(heartbeats.status()[0]?.nextAt, start + 90 * MIN, 'beats stay on their 30-minute grid');

    busy = true;
    await clock.advance(30 * MIN);
    assert.equal(submitted.length, 1);
    assert.equal(heartbeats.status()[0]?.lastSkip?.reason, 'the main session is busy');
    busy = false;
    blocked = 'The daily budget of agent "main" is used up';
    await clock.advance(30 * MIN);
    assert.equal(heartbeats.status()[0]?.lastSkip?.reason, blocked);
    blocked = null;
    await clock.advance(7 * 60 * MIN);
    assert.match(heartbeats.status()[0]?.lastSkip?.reason ?? '', /outside active hours \(09:00–18:00\)/u);
    const inHours = submitted.length;
    assert.ok(inHours > 1 && inHours < 16, `heartbeats ran only within active hours (${inHours})`);

    // A config without the heartbeat stops it.
    delete agent.heartbeat;
    heartbeats.apply();
    assert.equal(clock.timers, 0);
  } finally {
    heartbeats.stop();
    rmSync(workspace, { recursive: true, force: true });
  }
});
