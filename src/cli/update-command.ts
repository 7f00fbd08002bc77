import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { type HearthPaths, resolveHearthPaths } from '../config/paths.js';
import { askSupervisor } from '../service/control.js';
import { runningSupervisor } from '../service/run-service.js';
import { type StagedVersion, stageVersion } from '../service/stage.js';
import type { SwitchEvent, SwitchRequest } from '../service/supervisor.js';
import { checkUnitAfterUpdate, readUnit, userUnitPath } from '../service/systemd-unit.js';
import { activePackage, linkTarget, readPackage, versionPaths } from '../service/versions.js';
import { type Validation, validateVersion } from '../service/validate.js';
import { CliFailure, type CliRuntime } from './cli-context.js';

export interface UpdateFlags {
  to?: string;
  check?: boolean;
  rollback?: boolean;
  json?: boolean;
}

/** One line of the report: a stage and how it went. */
interface Stage {
  stage: string;
  ok: boolean;
  message: string;
}

function reporter(runtime: CliRuntime, json: boolean) {
  const stages: Stage[] = [];
  return {
    stages,
    add(stage: Stage) {
      stages.push(stage);
      if (!json) runtime.io.out(`${stage.ok ? 'ok  ' : 'FAIL'}  ${stage.stage.padEnd(11)} ${stage.message}\n`);
    },
    note(line: string) {
      if (!json) runtime.io.err(`${line}\n`);
    },
  };
}

/** `hearth update`: stage, validate on a copy, then (with a supervisor running) switch with a health gate. */
export async function runUpdate(runtime: CliRuntime, flags: UpdateFlags): Promise<void> {
  const paths = resolveHearthPaths(runtime.env);
  const versions = versionPaths(paths.home);
  const report = reporter(runtime, flags.json === true);
  let ok: boolean;
  if (flags.rollback) ok = await rollBack(paths, report);
  else if (!flags.to) ok = showVersions(runtime, paths, flags.json === true);
  else ok = await update(runtime, paths, flags, report);
  if (flags.json && (flags.rollback || flags.to)) runtime.io.out(`${JSON.stringify({ ok, stages: report.stages, current: activePackage(versions) }, null, 2)}\n`);
  if (!ok) process.exitCode = 1;
}

async function update(runtime: CliRuntime, paths: HearthPaths, flags: UpdateFlags, report: ReturnType<typeof reporter>): Promise<boolean> {
  const versions = versionPaths(paths.home);
  const running = activePackage(versions);
  let staged: StagedVersion;
  try {
    staged = stageVersion(flags.to as string, versions, running, report.note);
  } catch (error) {
    report.add({ stage: 'staged', ok: false, message: error instanceof Error ? error.message : String(error) });
    return false;
  }
  report.add({ stage: 'staged', ok: true, message: `${staged.version} in ${staged.dir} (${staged.reused ? 'already staged' : `dependencies ${staged.dependencies}`})` });
  const validation = await validateVersion(staged.dir, paths, runtime.env, versions.root);
  report.add({ stage: 'validated', ok: validation.ok, message: validationText(validation) });
  if (!validation.ok || flags.check) return validation.ok;
  return switchVersions(runtime, paths, { to: staged.dir, snapshot: validation.schema.after !== validation.schema.before }, report);
}

function validationText(validation: Validation): string {
  const schema = validation.schema.after === validation.schema.before ? `no migrations (schema ${validation.schema.before})` : `migrations ${validation.schema.before} → ${validation.schema.after} ran on a copy`;
  if (!validation.ok) return `its doctor found errors on a copy of the state (kept in ${validation.copy}): ${validation.errors.join('; ')}`;
  return `doctor passed on a copy of the state; ${schema}${validation.warnings.length ? `; warnings: ${validation.warnings.join('; ')}` : ''}`;
}

async function switchVersions(runtime: CliRuntime, paths: HearthPaths, request: SwitchRequest, report: ReturnType<typeof reporter>): Promise<boolean> {
  const supervisor = await runningSupervisor(paths.stateDir);
  if (!supervisor) {
    report.add({ stage: 'promoted', ok: false, message: 'no `hearth service` supervisor runs on this home, so nothing was switched: start the gateway with `hearth service` (or install it: `hearth service install`) and run this again' });
    return false;
  }
  const unitPath = userUnitPath(runtime.env, runtime.env.HOME || homedir());
  const unitBefore = readUnit(unitPath);
  const answer = await askSupervisor(supervisor.socket, { op: 'switch', ...request }, (line) => {
    const event = line.event as SwitchEvent | undefined;
    if (!event) return;
    if (event.stage === 'info') report.note(event.message);
    else report.add(event);
  });
  const lost = checkUnitAfterUpdate(unitPath, unitBefore);
  if (lost.length > 0) report.add({ stage: 'service', ok: false, message: `${unitPath} had lost ${lost.join(', ')}: restored the unit from before the update` });
  else if (unitBefore !== undefined) report.add({ stage: 'service', ok: true, message: `${unitPath} still sets every variable it did` });
  return answer.ok === true;
}

async function rollBack(paths: HearthPaths, report: ReturnType<typeof reporter>): Promise<boolean> {
  const versions = versionPaths(paths.home);
  const previous = linkTarget(versions.previous);
  if (!previous) {
    report.add({ stage: 'rolled back', ok: false, message: `there is no previous version to go back to (${versions.previous} is missing)` });
    return false;
  }
  const last = lastUpdate(versions.lastReport);
  const current = activePackage(versions);
  const restore = last?.snapshot && last.to === current && existsSync(last.snapshot) ? last.snapshot : undefined;
  const supervisor = await runningSupervisor(paths.stateDir);
  if (!supervisor) {
    report.add({ stage: 'rolled back', ok: false, message: 'no `hearth service` supervisor runs on this home: start it and run this again' });
    return false;
  }
  const answer = await askSupervisor(supervisor.socket, { op: 'switch', to: previous, snapshot: false, ...(restore ? { restore } : {}) }, (line) => {
    const event = line.event as SwitchEvent | undefined;
    if (event && event.stage !== 'info') report.add(event);
    else if (event) report.note(event.message);
  });
  return answer.ok === true;
}

function lastUpdate(file: string): { to?: string; snapshot?: string } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { to?: string; snapshot?: string };
  } catch {
    return undefined;
  }
}

function showVersions(runtime: CliRuntime, paths: HearthPaths, json: boolean): boolean {
  const versions = versionPaths(paths.home);
  const describe = (pkg: string | undefined) => (pkg ? `${safeVersion(pkg)} (${pkg})` : 'none');
  const current = activePackage(versions);
  const previous = linkTarget(versions.previous);
  const last = lastUpdate(versions.lastReport) as Record<string, unknown> | undefined;
  if (json) runtime.io.out(`${JSON.stringify({ current, version: safeVersion(current), previous: previous ?? null, lastUpdate: last ?? null }, null, 2)}\n`);
  else {
    runtime.io.out(`Running: ${describe(current)}\nPrevious: ${describe(previous)}\n`);
    if (last) runtime.io.out(`Last update: ${String(last.result)} at ${new Date(Number(last.at)).toISOString()}${last.reason ? ` (${String(last.reason)})` : ''}\n`);
    runtime.io.out('Stage and check a version with `hearth update --to <folder|tarball|version> --check`; switch to it without --check.\n');
  }
  return true;
}

function safeVersion(pkg: string): string {
  try {
    return readPackage(pkg).version;
  } catch (error) {
    throw new CliFailure(error instanceof Error ? error.message : String(error));
  }
}
