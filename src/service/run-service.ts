import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { HearthPaths } from '../config/paths.js';
import { askSupervisor, controlSocketPath, serveControl } from './control.js';
import { bindSharedSocketWithin } from './listen-socket.js';
import { createSupervisor, type SupervisorOptions } from './supervisor.js';
import { versionPaths, writeJsonAtomic } from './versions.js';

export interface ServiceOptions {
  paths: HearthPaths;
  env: Record<string, string | undefined>;
  host: string;
  port: number;
  log(line: string): void;
  tuning?: Pick<SupervisorOptions, 'readyTimeoutMs' | 'probationMs' | 'stopTimeoutMs' | 'backoff'>;
}

/** Where the running supervisor says who it is (removed when it stops). */
export function serviceFile(stateDir: string): string {
  return join(stateDir, 'service.json');
}

/** The supervisor's own record, when one is running (its control socket answers). */
export async function runningSupervisor(stateDir: string): Promise<{ pid: number; socket: string } | undefined> {
  let recorded: { pid: number; socket: string };
  try {
    recorded = JSON.parse(readFileSync(serviceFile(stateDir), 'utf8')) as { pid: number; socket: string };
  } catch {
    return undefined;
  }
  try {
    const answer = await askSupervisor(recorded.socket, { op: 'status' }, () => {});
    return answer.ok === true ? recorded : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `hearth service`: binds the gateway's address once, runs the gateway of the active version on
 * it, restarts it with backoff when it crashes, answers signals (SIGTERM/SIGINT drain the gateway
 * and stop, SIGHUP restarts it gracefully; SIGUSR1/SIGUSR2 are logged and ignored, as the gateway
 * has no use for them and Node would open an inspector or exit on them) and switches versions
 * for `hearth update`.
 * Resolves with the exit code.
 */
export async function runService(options: ServiceOptions): Promise<number> {
  const { paths } = options;
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  if (await runningSupervisor(paths.stateDir)) throw new Error(`A supervisor already runs on ${paths.home} (see ${serviceFile(paths.stateDir)}).`);
  const socket = await bindSharedSocketWithin(options.host, options.port, 30_000, (ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const versions = versionPaths(paths.home);
  const supervisor = createSupervisor({ versions, stateDir: paths.stateDir, socket, env: options.env, log: options.log, ...options.tuning });
  const control = await serveControl(controlSocketPath(paths.stateDir), supervisor);
  writeJsonAtomic(serviceFile(paths.stateDir), { pid: process.pid, socket: controlSocketPath(paths.stateDir), host: socket.host, port: socket.port, startedAt: Date.now() });
  options.log(`supervising the gateway on ${socket.host}:${socket.port}`);
  const handlers = installSignals(supervisor, options.log);
  try {
    await supervisor.start();
    return await supervisor.ended;
  } finally {
    handlers.remove();
    control.close();
    rmSync(controlSocketPath(paths.stateDir), { force: true });
    rmSync(serviceFile(paths.stateDir), { force: true });
    socket.close();
  }
}

function installSignals(supervisor: ReturnType<typeof createSupervisor>, log: (line: string) => void): { remove(): void } {
  const stop = () => {
    log('stopping: draining the gateway');
    void supervisor.stop();
  };
  const restart = () => {
    log('SIGHUP: restarting the gateway');
    void supervisor.restart();
  };
  const ignore = (signal: NodeJS.Signals) => log(`${signal} ignored: SIGHUP restarts the gateway, SIGTERM stops the service`);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', restart);
  process.on('SIGUSR1', ignore);
  process.on('SIGUSR2', ignore);
  return {
    remove() {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.off('SIGHUP', restart);
      process.off('SIGUSR1', ignore);
      process.off('SIGUSR2', ignore);
    },
  };
}
