import { Cron } from 'croner';
import type { CronSchedule } from '../contracts/automation.js';
import { HearthError } from '../contracts/errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `90s`, `5m`, `1h30m`, `2d`, or a number of milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = text.trim().toLowerCase();
  if (/^\d+$/u.test(trimmed)) return Number(trimmed);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gu)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== trimmed) {
    throw new HearthError('BAD_REQUEST', `The ${what} "${text}" is not a duration: write it like 30s, 5m, 1h30m or 2d.`);
  }
  return Math.round(parts.reduce((sum, part) => sum + Number(part[1]) * (UNITS[part[2]!] ?? 0), 0));
}

export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The host's time zone, the default for cron expressions. */
export function hostTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Checks a schedule; throws an error that says what to write instead. */
export function validateSchedule(schedule: CronSchedule): void {
  if (schedule.kind === 'at') {
    if (!/^\d{4}-\d{2}-\d{2}T/u.test(schedule.at) || Number.isNaN(Date.parse(schedule.at))) {
      throw new HearthError('BAD_REQUEST', `--at "${schedule.at}" is not an ISO time: write it like 2026-12-24T18:00:00+01:00 (or …Z for UTC).`);
    }
    return;
  }
  if (schedule.kind === 'every') {
    if (!Number.isFinite(schedule.everyMs) || schedule.everyMs < 1000) {
      throw new HearthError('BAD_REQUEST', `--every must be at least 1s (got ${schedule.everyMs} ms).`);
    }
    return;
  }
  if (!isTimeZone(schedule.tz)) {
    throw new HearthError('BAD_REQUEST', `"${schedule.tz}" is not an IANA time zone: write one like Europe/Berlin, America/New_York or UTC.`);
  }
  try {
    new Cron(schedule.expr, { timezone: schedule.tz, paused: true });
  } catch (error) {
    throw new HearthError(
      'BAD_REQUEST',
      `The cron expression "${schedule.expr}" is not valid (${error instanceof Error ? error.message : String(error)}): write five fields, minute hour day month weekday, like "0 9 * * 1-5".`,
    );
  }
}

/**
 * A function giving the first occurrence strictly after a time, or null when the schedule has no
 * more. Occurrences of `every` are counted from its anchor, so they never drift however late a
 * run started. The cron expression is parsed once per stepper.
 */
export function scheduleStepper(schedule: CronSchedule): (after: number) => number | null {
  if (schedule.kind === 'at') {
    const at = Date.parse(schedule.at);
    return (after) => (at > after ? at : null);
  }
  if (schedule.kind === 'every') {
    const anchor = schedule.anchorAt ?? 0;
    const every = schedule.everyMs;
    return (after) => (after < anchor ? anchor : anchor + (Math.floor((after - anchor) / every) + 1) * every);
  }
  const cron = new Cron(schedule.expr, { timezone: schedule.tz, paused: true });
  return (after) => cron.nextRun(new Date(after))?.getTime() ?? null;
}

export function nextOccurrence(schedule: CronSchedule, after: number): number | null {
  return scheduleStepper(schedule)(after);
}

/**
 * The occurrences from `from` (inclusive) up to `until` (exclusive): the latest `limit` of them
 * and how many there were in all (a cron expression is counted up to `countLimit`).
 */
export function occurrencesBetween(schedule: CronSchedule, from: number, until: number, limit: number, countLimit = 100_000) {
  if (from >= until) return { kept: [] as number[], count: 0 };
  if (schedule.kind === 'every') {
    const count = Math.ceil((until - from) / schedule.everyMs);
    const kept: number[] = [];
    for (let index = Math.max(0, count - limit); index < count; index++) kept.push(from + index * schedule.everyMs);
    return { kept, count };
  }
  const step = scheduleStepper(schedule);
  const kept: number[] = [];
  let count = 0;
  let at: number | null = from;
  while (at !== null && at < until && count < countLimit) {
    count++;
    kept.push(at);
    if (kept.length > limit) kept.shift();
    at = step(at);
  }
  return { kept, count };
}

/** A stable text of a schedule for fingerprints and listings. */
export function describeSchedule(schedule: CronSchedule): string {
  if (schedule.kind === 'at') return `at ${schedule.at}`;
  if (schedule.kind === 'every') return `every ${formatDuration(schedule.everyMs)}`;
  return `cron "${schedule.expr}" ${schedule.tz}`;
}

/** An ISO 8601 time as the wall clock of `tz` shows it, with that zone's offset (2026-05-04T09:00:00+02:00). */
export function isoInZone(ms: number, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'longOffset',
  }).formatToParts(new Date(ms));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((item) => item.type === type)?.value ?? '';
  const offset = part('timeZoneName').replace(/^GMT/u, '') || '+00:00';
  return `${part('year')}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}:${part('second')}${offset}`;
}
