import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LOGIN_FIELDS, readChannelCredentials, writeChannelCredentials } from '../../channels/channel-credentials.js';
import type { CronJob } from '../../contracts/automation.js';
import type { Store } from '../../contracts/store.js';
import { hostTimeZone, scheduleStepper, validateSchedule } from '../../automation/schedule.js';
import { freshJobState } from '../../automation/cron-jobs.js';
import { ensureHearthDirs, type HearthPaths } from '../../config/paths.js';
import { configSchema } from '../../config/schema.js';
import { mapOpenClawConfig, type MappedConfig } from './config-mapper.js';
import { mergeConfig } from './config-merge.js';
import { mapCronJob } from './cron-mapper.js';
import { createImportReport, type ImportReport } from './import-report.js';
import { readCronJobs, readJson5File, readOpenClawConfig, readPairingAllowlists } from './source-readers.js';
import { importSession, LEDGER_SOURCE } from './session-import.js';
import { listSourceSessions } from './session-readers.js';
import { planWorkspace, sourceWorkspace } from './workspace-import.js';

/**
 * `hearth import openclaw`: reads an OpenClaw state directory (never writing to it) and adds
 * what maps to Hearth's home. Every step is idempotent: what was imported before is found again
 * (config values equal, files with the same bytes, cron jobs by their stable id, senders already
 * approved) and reported as already imported, never duplicated.
 */

export interface OpenClawImportOptions {
  from: string;
  paths: HearthPaths;
  dryRun: boolean;
  /** The user's home directory, for `~` in workspace paths. */
  home: string;
  now: number;
  /** Opens Hearth's store (only called when something is to be written to it). */
  openStore: () => Store;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export async function importOpenClaw(options: OpenClawImportOptions): Promise<ImportReport> {
  const report = createImportReport();
  const source = readOpenClawConfig(options.from);
  if (!source) report.add({ status: 'note', what: 'no openclaw.json', source: options.from, reason: 'no config to import; workspaces, cron and senders are still looked for' });
  const mapped = mapOpenClawConfig(source?.value ?? {}, source?.source ?? '');
  if (!options.dryRun) ensureHearthDirs(options.paths);
  const changed = source ? importConfig(mapped, options, report) : false;
  // Once the config holds every mapped value, its items were imported by an earlier run.
  if (source) for (const item of mapped.items) report.add(item.status === 'imported' && !changed ? { ...item, status: 'already' } : item);
  if (source) for (const secret of mapped.secrets) importSecret(secret, options, report);
  importWorkspaces(source?.value, options, report);
  await importStoreItems(options, report);
  return report;
}

/** Merges the mapped config into Hearth's; true when that added anything. */
function importConfig(mapped: MappedConfig, options: OpenClawImportOptions, report: ImportReport): boolean {
  const path = options.paths.configPath;
  const existing = existsSync(path) ? readJson5File(path) : {};
  if (!isObject(existing)) throw new Error(`${path} is not a config object; fix it before importing`);
  const { merged, conflicts, changed } = mergeConfig(existing, mapped.config);
  for (const conflict of conflicts) {
    report.add({ status: 'skipped', what: `config ${conflict.path}`, source: path, reason: `Hearth's config already sets it to ${JSON.stringify(conflict.existing)}; the imported ${JSON.stringify(conflict.imported)} was not applied` });
  }
  const checked = configSchema().safeParse(merged);
  if (!checked.success) {
    const problems = checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`the merged config would not be valid, so nothing was written: ${problems}`);
  }
  if (changed && !options.dryRun) {
    if (existsSync(path)) copyFileSync(path, `${path}.before-openclaw-import`);
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(merged, null, 2)}\n`, { mode: 0o600 });
    renameSync(temp, path);
    if (existsSync(`${path}.before-openclaw-import`)) report.add({ status: 'note', what: 'config merged', source: path, reason: `the previous file is kept as ${path}.before-openclaw-import (its comments are not carried over)` });
  }
  return changed;
}

function importSecret(secret: MappedConfig['secrets'][number], options: OpenClawImportOptions, report: ImportReport): void {
  const what = `${secret.platform} account ${secret.accountId} credentials (${Object.keys(secret.values).join(', ')})`;
  const saved = readChannelCredentials(options.paths.credentialsDir)[`${secret.platform}:${secret.accountId}`];
  const fields = LOGIN_FIELDS[secret.platform].map((field) => field.key);
  if (saved && fields.every((key) => saved[key] === secret.values[key] || secret.values[key] === undefined)) {
    report.add({ status: 'already', what, source: secret.source });
    return;
  }
  if (!options.dryRun) writeChannelCredentials(options.paths.credentialsDir, secret.platform, secret.accountId, { ...saved, ...secret.values });
  report.add({ status: 'imported', what, source: secret.source, reason: 'the literal token was saved to Hearth\'s credentials/ (0600), as hearth channels login does, not into hearth.json5' });
}

function agentWorkspaces(config: unknown): [string, unknown][] {
  const agents = isObject(config) && isObject(config.agents) ? config.agents : {};
  const found = new Map<string, unknown>([['main', isObject(agents.defaults) ? agents.defaults.workspace : undefined]]);
  if (isObject(agents.entries)) for (const [id, agent] of Object.entries(agents.entries)) found.set(id, isObject(agent) ? agent.workspace : undefined);
  if (Array.isArray(agents.list)) for (const agent of agents.list.filter(isObject)) if (typeof agent.id === 'string') found.set(agent.id, agent.workspace);
  return [...found];
}

function importWorkspaces(config: unknown, options: OpenClawImportOptions, report: ImportReport): void {
  for (const [agentId, configured] of agentWorkspaces(config)) {
    const from = sourceWorkspace(options.from, agentId, configured, options.home);
    for (const plan of planWorkspace(from, join(options.paths.workspacesDir, agentId))) {
      const what = `workspace ${agentId}/${plan.relative}`;
      if (plan.action === 'same') report.add({ status: 'already', what, source: plan.from });
      else if (plan.action === 'skip' || plan.action === 'conflict') report.add({ status: 'skipped', what, source: plan.from, reason: plan.reason });
      else {
        if (!options.dryRun) {
          mkdirSync(dirname(plan.to), { recursive: true });
          copyFileSync(plan.from, plan.to);
        }
        report.add({ status: 'imported', what, source: plan.from });
      }
    }
  }
}

async function importStoreItems(options: OpenClawImportOptions, report: ImportReport): Promise<void> {
  const jobs = readCronJobs(options.from);
  const senders = readPairingAllowlists(options.from);
  const sessions = listSourceSessions(options.from);
  if (jobs.length === 0 && senders.length === 0 && sessions.length === 0) return;
  const store = options.dryRun ? null : options.openStore();
  if (options.dryRun) report.add({ status: 'note', what: 'cron jobs, approved senders and sessions', source: options.paths.stateDir, reason: 'the dry run does not open Hearth\'s state database, so those imported by an earlier run are listed as to import; the real run skips them' });
  try {
    for (const session of sessions) await importSession(session, store, options.now, report);
    for (const job of jobs) await importCronJob(job.value, job.source, store, options, report);
    for (const sender of senders) {
      const what = `approved sender ${sender.channel}:${sender.accountId}:${sender.senderId}`;
      const ledgerId = `sender:${sender.channel}:${sender.accountId}:${sender.senderId}`;
      if (store && ((await store.findImported(LEDGER_SOURCE, ledgerId)) || (await store.isApprovedSender(sender.channel, sender.accountId, sender.senderId)))) {
        report.add({ status: 'already', what, source: sender.source });
        continue;
      }
      if (store) await approveSender(store, sender, options.now);
      if (store) await store.recordImported(LEDGER_SOURCE, [{ sourceId: ledgerId, target: ledgerId }], options.now);
      report.add({ status: 'imported', what, source: sender.source });
    }
  } finally {
    await store?.close();
  }
}

async function approveSender(store: Store, sender: { channel: string; accountId: string; senderId: string }, now: number): Promise<void> {
  const code = randomBytes(6).toString('hex').toUpperCase();
  await store.requestPairing({ ...sender, senderName: null, chatId: sender.senderId, code, now, ttlMs: 60_000, maxPending: 1_000_000 });
  await store.approvePairing(code, now);
}

async function importCronJob(raw: Json, source: string, store: Store | null, options: OpenClawImportOptions, report: ImportReport): Promise<void> {
  const mapped = mapCronJob(raw, hostTimeZone());
  if (!mapped.ok) {
    report.add({ status: 'skipped', what: `cron job ${mapped.name}`, source, reason: mapped.reason });
    return;
  }
  const what = `cron job ${mapped.spec.name} (as ${mapped.id})`;
  try {
    validateSchedule(mapped.spec.schedule);
  } catch (error) {
    report.add({ status: 'skipped', what, source, reason: `its schedule is not valid in Hearth: ${error instanceof Error ? error.message : String(error)}` });
    return;
  }
  // The ledger keeps a job removed in Hearth after an import from coming back with the next one.
  if (store && ((await store.findImported(LEDGER_SOURCE, `cron:${mapped.id}`)) || (await store.getCronJob(mapped.id)))) {
    report.add({ status: 'already', what, source });
    return;
  }
  if (store) await store.putCronJob(buildJob(mapped.id, mapped.spec, mapped.enabled, options.now));
  if (store) await store.recordImported(LEDGER_SOURCE, [{ sourceId: `cron:${mapped.id}`, target: mapped.id }], options.now);
  report.add({ status: 'imported', what, source, reason: mapped.enabled ? undefined : 'imported disabled, as it was in OpenClaw' });
}

function buildJob(id: string, spec: CronJob['spec'], enabled: boolean, now: number): CronJob {
  const schedule = spec.schedule.kind === 'every' && spec.schedule.anchorAt === undefined ? { ...spec.schedule, anchorAt: now + spec.schedule.everyMs } : spec.schedule;
  const full = { ...spec, schedule };
  const next = enabled ? scheduleStepper(schedule)(now - 1) : null;
  return {
    id,
    spec: full,
    state: { ...freshJobState(), enabled, disabledReason: enabled ? null : 'disabled in OpenClaw', nextRunAt: next, nextScheduledAt: next, finished: enabled && next === null },
    createdAt: now,
    updatedAt: now,
  };
}
