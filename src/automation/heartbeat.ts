import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentProfile } from '../agent/agent-loop.js';
import type { HeartbeatConfig } from '../config/schema.js';
import { mainSessionKey } from '../routing/session-keys.js';
import type { Clock } from '../runtime/clock.js';
import type { TurnService } from '../sessions/turn-service.js';
import { parseChannelSpec } from './alerts.js';
import { hostTimeZone, parseDuration } from './schedule.js';

export const DEFAULT_HEARTBEAT_PROMPT =
  'This is a scheduled heartbeat. Read the checklist below and act on anything that needs attention now. If nothing does, reply with exactly NO_REPLY.';

/** What each agent's heartbeat last did, for `hearth status`. */
export interface HeartbeatStatus {
  agentId: string;
  every: string;
  nextAt: number | null;
  lastRunAt: number | null;
  lastRunId: string | null;
  lastSkip: { at: number; reason: string } | null;
}

export interface HeartbeatDeps {
  clock: Clock;
  agents: () => AgentProfile[];
  turns: Pick<TurnService, 'submit'>;
  /** True while the session has a turn running or queued. */
  isBusy: (sessionKey: string) => boolean;
  /** Why the agent may not spend now (its daily budget), or null. */
  blockedReason?: (agentId: string) => Promise<string | null>;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

/** Minutes since local midnight in a time zone. */
function minutesIn(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms));
  const value = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  return value('hour') * 60 + value('minute');
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether `ms` falls inside the active hours (an end before the start runs past midnight). */
export function withinActiveHours(ms: number, hours: HeartbeatConfig['activeHours']): boolean {
  if (!hours) return true;
  const now = minutesIn(ms, hours.timezone ?? hostTimeZone());
  const start = toMinutes(hours.start);
  const end = toMinutes(hours.end);
  if (start === end) return true;
  return start < end ? now >= start && now < end : now >= start || now < end;
}

/** The checklist without blank lines and Markdown comments; empty means nothing to check. */
export function checklistOf(text: string): string {
  return text
    .replace(/<!--[\s\S]*?-->/gu, '')
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^#+\s*$/u.test(line.trim()))
    .join('\n')
    .trim();
}

/**
 * Heartbeats: for each agent with `heartbeat` configured, a turn in its main session every
 * `every`, within its active hours, reading the checklist in the workspace's `HEARTBEAT.md`.
 * A heartbeat is skipped (and says why in `hearth status`) outside active hours, when the
 * checklist is empty, while the session is busy, or when the agent's budget is spent. It may use
 * its own model; a reply of NO_REPLY is kept in the transcript but not delivered.
 */
export function createHeartbeats(deps: HeartbeatDeps) {
  /** One entry per agent with a heartbeat; rebuilt by `apply()` when the config changes. */
  const beats = new Map<string, { config: HeartbeatConfig; everyMs: number; timer: unknown; status: HeartbeatStatus }>();
  let stopped = false;

  const arm = (agentId: string) => {
    const beat = beats.get(agentId);
    if (!beat || stopped) return;
    const now = deps.clock.now();
    const next = beat.status.nextAt !== null && beat.status.nextAt > now ? beat.status.nextAt : now + beat.everyMs;
    beat.status.nextAt = next;
    beat.timer = deps.clock.setTimer(() => {
      beat.timer = null;
      // The next beat is counted from this one's slot, not from when it finished.
      beat.status.nextAt = next + beat.everyMs * Math.max(1, Math.ceil((deps.clock.now() - next + 1) / beat.everyMs));
      void beatOnce(agentId).finally(() => arm(agentId));
    }, next - now);
  };

  const skip = (agentId: string, reason: string) => {
    const beat = beats.get(agentId);
    if (beat) beat.status.lastSkip = { at: deps.clock.now(), reason };
    deps.logger.info({ agentId }, `heartbeat skipped: ${reason}`);
    return { skipped: reason };
  };

  async function beatOnce(agentId: string): Promise<{ runId?: string; skipped?: string }> {
    const beat = beats.get(agentId);
    const agent = deps.agents().find((item) => item.id === agentId);
    if (!beat || !agent) return { skipped: 'the agent has no heartbeat' };
    const now = deps.clock.now();
    if (!withinActiveHours(now, beat.config.activeHours)) return skip(agentId, `outside active hours (${beat.config.activeHours?.start}–${beat.config.activeHours?.end})`);
    const sessionKey = mainSessionKey(agentId);
    if (deps.isBusy(sessionKey)) return skip(agentId, 'the main session is busy');
    let checklist: string;
    try {
      checklist = checklistOf(await readFile(join(agent.workspaceDir, 'HEARTBEAT.md'), 'utf8'));
    } catch {
      checklist = '';
    }
    if (checklist === '') return skip(agentId, `${join(agent.workspaceDir, 'HEARTBEAT.md')} is missing or empty: write the checklist there`);
    const blocked = deps.blockedReason ? await deps.blockedReason(agentId) : null;
    if (blocked) return skip(agentId, blocked);
    let replyTo: { channel: string; target: string } | null = null;
    if (beat.config.target) {
      const { channel, target } = parseChannelSpec(beat.config.target);
      replyTo = { channel, target: JSON.stringify(target) };
    }
    try {
      const accepted = await deps.turns.submit({
        sessionKey,
        agentId,
        source: 'heartbeat',
        text: `${beat.config.prompt ?? DEFAULT_HEARTBEAT_PROMPT}\n\n${checklist}`,
        replyTo,
        ...(beat.config.model ? { options: { model: beat.config.model } } : {}),
      });
      beat.status.lastRunAt = now;
      beat.status.lastRunId = accepted.runId;
      return { runId: accepted.runId };
    } catch (error) {
      deps.logger.error({ agentId, err: error }, 'a heartbeat could not be started');
      return skip(agentId, `could not start: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  return {
    /** Starts, restarts or stops each agent's heartbeat to match the config. */
    apply(): void {
      if (stopped) return;
      const wanted = new Map(deps.agents().filter((agent) => agent.heartbeat).map((agent) => [agent.id, agent.heartbeat!]));
      for (const [agentId, beat] of beats) {
        const config = wanted.get(agentId);
        if (config && JSON.stringify(config) === JSON.stringify(beat.config)) continue;
        if (beat.timer !== null) deps.clock.clearTimer(beat.timer);
        beats.delete(agentId);
      }
      for (const [agentId, config] of wanted) {
        if (beats.has(agentId)) continue;
        const everyMs = Math.max(60_000, parseDuration(config.every));
        beats.set(agentId, {
          config,
          everyMs,
          timer: null,
          status: { agentId, every: config.every, nextAt: null, lastRunAt: null, lastRunId: null, lastSkip: null },
        });
        arm(agentId);
      }
    },

    /** Runs one heartbeat now (skips still apply). */
    runNow: (agentId: string) => beatOnce(agentId),

    status: (): HeartbeatStatus[] => [...beats.values()].map((beat) => ({ ...beat.status })),

    stop(): void {
      stopped = true;
      for (const beat of beats.values()) if (beat.timer !== null) deps.clock.clearTimer(beat.timer);
      beats.clear();
    },
  };
}

export type Heartbeats = ReturnType<typeof createHeartbeats>;
