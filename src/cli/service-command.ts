import { homedir } from 'node:os';
import { join } from 'node:path';
import { resolveHearthPaths } from '../config/paths.js';
import { hostFor } from '../gateway/bind-host.js';
import { askSupervisor } from '../service/control.js';
import { runningSupervisor, runService } from '../service/run-service.js';
import { environmentNames, readUnit, renderUnit, userUnitPath, writeUnit } from '../service/systemd-unit.js';
import { activePackage, ownPackageRoot, versionPaths } from '../service/versions.js';
import { cliConfig, CliFailure, type CliRuntime } from './cli-context.js';

export interface ServiceFlags {
  port?: string;
  bind?: string;
  readyTimeout?: string;
  probation?: string;
}

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0 || parsed > 3600) throw new CliFailure(`${flag} takes seconds between 0 and 3600, not "${value}".`);
  return Math.round(parsed * 1000);
}

/** `hearth service`: the supervisor in the foreground (what the systemd unit runs). */
export async function runServiceCommand(runtime: CliRuntime, flags: ServiceFlags): Promise<void> {
  const paths = resolveHearthPaths(runtime.env);
  const config = cliConfig(paths, runtime.env);
  const port = flags.port === undefined ? config.gateway.port : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new CliFailure(`--port takes a port number, not "${flags.port}".`);
  const readyTimeoutMs = seconds(flags.readyTimeout, '--ready-timeout');
  const probationMs = seconds(flags.probation, '--probation');
  const log = (line: string) => runtime.io.err(`${new Date().toISOString().slice(11, 19)} service  ${line}\n`);
  try {
    const code = await runService({
      paths,
      env: runtime.env,
      host: hostFor(flags.bind ?? config.gateway.bind),
      port,
      log,
      tuning: { ...(readyTimeoutMs ? { readyTimeoutMs } : {}), ...(probationMs ? { probationMs } : {}), stopTimeoutMs: config.gateway.drainTimeoutMs + 15_000 },
    });
    process.exitCode = code;
  } catch (error) {
    throw new CliFailure(`The supervisor cannot start: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** `hearth service install`: writes the systemd user unit and prints it. */
export function installService(runtime: CliRuntime, options: { print?: boolean }): void {
  const paths = resolveHearthPaths(runtime.env);
  const unitPath = userUnitPath(runtime.env, runtime.env.HOME || homedir());
  const existing = readUnit(unitPath);
  const unit = renderUnit({ node: process.execPath, pkg: ownPackageRoot(), home: paths.home, environmentFile: join(paths.home, 'service.env') }, existing);
  if (options.print) {
    runtime.io.out(masked(unit));
    return;
  }
  writeUnit(unitPath, unit);
  const kept = environmentNames(unit).filter((name) => name !== 'HEARTH_HOME');
  runtime.io.out(
    [
      `Wrote ${unitPath} (values of variables shown as …):`,
      '',
      masked(unit),
      kept.length ? `Kept from the unit that was there: ${kept.join(', ')} (values unchanged, not printed elsewhere).` : '',
      `Secrets stay where they are: in ${paths.configPath}, ${paths.credentialsDir}/, or as KEY=value lines in ${join(paths.home, 'service.env')} (mode 600), which the unit reads.`,
      'Then run:',
      '  systemctl --user daemon-reload',
      '  systemctl --user enable --now hearth',
      '  loginctl enable-linger "$USER"    # keep it running while you are logged out',
      '',
    ].join('\n'),
  );
}

/** The unit as shown: the values of its variables (other than HEARTH_HOME) are never printed. */
function masked(unit: string): string {
  return unit.replace(/^(\s*Environment\s*=\s*"?)(?!HEARTH_HOME=)([A-Za-z_][A-Za-z0-9_]*)=[^"\n]*/gmu, '$1$2=…');
}

/** `hearth service status`: the supervisor, the version it runs and its gateway. */
export async function serviceStatus(runtime: CliRuntime, options: { json?: boolean }): Promise<void> {
  const paths = resolveHearthPaths(runtime.env);
  const running = await runningSupervisor(paths.stateDir);
  if (!running) {
    if (options.json) runtime.io.out(`${JSON.stringify({ running: false, package: activePackage(versionPaths(paths.home)) })}\n`);
    else runtime.io.out(`No supervisor runs on ${paths.home}. Start one with \`hearth service\` (or \`hearth service install\` for systemd).\n`);
    process.exitCode = 3;
    return;
  }
  const answer = await askSupervisor(running.socket, { op: 'status' }, () => {});
  const status = answer.status as { pid: number; version: string; package: string; gatewayPid: number | null; since: number | null; restarts: number; switching: boolean };
  if (options.json) {
    runtime.io.out(`${JSON.stringify({ running: true, ...status })}\n`);
    return;
  }
  const up = status.since ? `up ${Math.round((Date.now() - status.since) / 1000)} s` : 'not running';
  runtime.io.out(
    `Supervisor pid ${status.pid}: Hearth ${status.version} (${status.package}); gateway ${status.gatewayPid ? `pid ${status.gatewayPid}, ${up}` : up}; restarts ${status.restarts}${status.switching ? '; switching versions now' : ''}\n`,
  );
}
