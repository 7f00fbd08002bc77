import type { CronDelivery, CronJobSpec, CronSchedule } from '../../contracts/automation.js';

/**
 * Maps one OpenClaw cron job (either generation's shape) to a Hearth job spec, or says why it
 * cannot be mapped. Pure.
 */

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export type MappedCronJob = { ok: true; id: string; enabled: boolean; spec: CronJobSpec } | { ok: false; id: string; name: string; reason: string };

/** The Hearth id of an imported job: stable, so a second import finds it. */
export const importedJobId = (sourceId: string) => `openclaw-${sourceId.replace(/[^A-Za-z0-9_-]/gu, '_')}`;

function mapSchedule(schedule: unknown, hostZone: string): CronSchedule | string {
  if (!isObject(schedule)) return 'it has no schedule';
  if (schedule.kind === 'cron' && typeof schedule.expr === 'string') return { kind: 'cron', expr: schedule.expr, tz: typeof schedule.tz === 'string' ? schedule.tz : hostZone };
  if (schedule.kind === 'every' && typeof schedule.everyMs === 'number') return { kind: 'every', everyMs: schedule.everyMs };
  if (schedule.kind === 'at' && typeof schedule.at === 'string' && !Number.isNaN(Date.parse(schedule.at))) return { kind: 'at', at: new Date(Date.parse(schedule.at)).toISOString() };
  return `schedule kind ${JSON.stringify(schedule.kind)} has no Hearth equivalent (Hearth has at with an ISO time, every, cron)`;
}

function mapMessage(payload: unknown): string | { reason: string } {
  if (!isObject(payload)) return { reason: 'it has no payload' };
  if (payload.kind === 'agentTurn' && typeof payload.message === 'string') return payload.message;
  if (payload.kind === 'systemEvent' && typeof payload.text === 'string') return payload.text;
  return { reason: `payload kind ${JSON.stringify(payload.kind)} has no Hearth equivalent (Hearth jobs are agent turns; a command or script job runs no model)` };
}

function mapSession(target: unknown): string | null {
  if (target === undefined || target === 'isolated') return 'isolated';
  if (target === 'main') return 'main';
  if (typeof target === 'string' && target.startsWith('session:')) return target.slice('session:'.length);
  return null;
}

function mapDelivery(delivery: unknown): CronDelivery {
  if (!isObject(delivery)) return { kind: 'none' };
  if (delivery.mode === 'webhook' && typeof delivery.url === 'string') return { kind: 'webhook', url: delivery.url };
  if (delivery.mode === 'announce' && typeof delivery.channel === 'string' && typeof delivery.to === 'string') {
    return { kind: 'channel', channel: delivery.channel, accountId: typeof delivery.accountId === 'string' ? delivery.accountId : 'default', to: delivery.to };
  }
  return { kind: 'none' };
}

export function mapCronJob(job: Json, hostZone: string): MappedCronJob {
  const sourceId = String(job.id ?? job.jobId ?? job.name ?? '');
  const name = typeof job.name === 'string' && job.name.trim() ? job.name : sourceId;
  const id = importedJobId(sourceId);
  if (!sourceId) return { ok: false, id, name: '(unnamed)', reason: 'it has no id or name' };
  const schedule = mapSchedule(job.schedule, hostZone);
  if (typeof schedule === 'string') return { ok: false, id, name, reason: schedule };
  const message = mapMessage(job.payload);
  if (typeof message !== 'string') return { ok: false, id, name, reason: message.reason };
  const session = mapSession(job.sessionTarget);
  if (session === null) return { ok: false, id, name, reason: `session target ${JSON.stringify(job.sessionTarget)} has no Hearth equivalent (Hearth has isolated, main or a session key)` };
  const spec: CronJobSpec = {
    name,
    agentId: typeof job.agentId === 'string' ? job.agentId : 'main',
    schedule,
    message,
    session,
    delivery: mapDelivery(job.delivery),
    misfire: 'skip',
    catchUpWindowMs: 0,
  };
  if (isObject(job.payload) && typeof job.payload.model === 'string') spec.model = job.payload.model;
  return { ok: true, id, enabled: job.enabled !== false, spec };
}
