import { existsSync } from 'node:fs';
import { readGatewayAddress } from '../gateway/gateway-address-file.js';
import { type GatewayProcess, readComponents, spawnGateway, waitReady } from './gateway-process.js';
import type { SharedSocket } from './listen-socket.js';
import { restoreDatabase, snapshotDatabase } from './state-snapshot.js';
import { activePackage, linkTarget, pointAt, readJournal, readPackage, type SwitchJournal, type VersionPaths, writeJournal, writeJsonAtomic } from './versions.js';

/** Exit codes after which restarting cannot help (invalid config, damaged database): the supervisor stops too. */
const FINAL_EXIT_CODES: readonly number[] = [78, 65];

export interface SupervisorOptions {
  versions: VersionPaths;
  stateDir: string;
  socket: SharedSocket;
  env: Record<string, string | undefined>;
  log(line: string): void;
  /** How long a started gateway may take to answer /readyz with 200. Default 60 s. */
  readyTimeoutMs?: number;
  /** After a switch, a crash within this long rolls back. Default 60 s. */
  probationMs?: number;
  /** How long a stopping gateway may drain before it is killed. Default 30 s. */
  stopTimeoutMs?: number;
  /** Restart delays after crashes: doubling from minMs to maxMs, back to minMs after stableMs up. */
  backoff?: { minMs: number; maxMs: number; stableMs: number };
}

/** A step of a switch, as `hearth update` prints it. */
export interface SwitchEvent {
  stage: 'promoted' | 'restarted' | 'healthy' | 'rolled back' | 'failed' | 'info';
  ok: boolean;
  message: string;
}

export interface SwitchRequest {
  to: string;
  /** Snapshot the database first (the new version's migrations will change it). */
  snapshot: boolean;
  /** A snapshot to put back before the target starts (`hearth update --rollback` after migrations). */
  restore?: string;
}

export interface Supervisor {
  start(): Promise<void>;
  /** Switches to another package folder; resolves with the events once healthy or rolled back. */
  switchTo(request: SwitchRequest, report: (event: SwitchEvent) => void): Promise<boolean>;
  status(): { pid: number; package: string; version: string; gatewayPid: number | null; since: number | null; switching: boolean; restarts: number };
  /** Drains the gateway and stops supervising; resolves with the exit code the supervisor should end with. */
  stop(): Promise<number>;
  /** Resolves when supervision ended for good (stop, or a gateway exit that restarting cannot fix). */
  ended: Promise<number>;
  /** Restarts the gateway gracefully (SIGHUP). */
  restart(): Promise<void>;
}

interface SupervisorState {
  gateway: GatewayProcess | null;
  switching: boolean;
  stopping: boolean;
  crashes: number;
  restarts: number;
  restartTimer: ReturnType<typeof setTimeout> | null;
  end: (code: number) => void;
}

export function createSupervisor(options: SupervisorOptions): Supervisor {
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const probationMs = options.probationMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  const backoff = options.backoff ?? { minMs: 1000, maxMs: 60_000, stableMs: 60_000 };
  const url = `http://${options.socket.host === '0.0.0.0' ? '127.0.0.1' : options.socket.host === '::' ? '[::1]' : options.socket.host}:${options.socket.port}`;
  let resolveEnded: (code: number) => void = () => {};
  const ended = new Promise<number>((resolve) => {
    resolveEnded = resolve;
  });
  const state: SupervisorState = { gateway: null, switching: false, stopping: false, crashes: 0, restarts: 0, restartTimer: null, end: (code) => resolveEnded(code) };

  function launch(pkg: string): GatewayProcess {
    const gateway = spawnGateway({ pkg, fd: options.socket.fd, env: options.env });
    state.gateway = gateway;
    options.log(`started the gateway from ${pkg} (pid ${gateway.pid})`);
    void gateway.exited.then((exit) => onExit(gateway, exit));
    return gateway;
  }

  function onExit(gateway: GatewayProcess, exit: { code: number | null; signal: NodeJS.Signals | null }): void {
    if (state.gateway !== gateway || state.switching || state.stopping) return;
    state.gateway = null;
    const how = exit.signal ?? `code ${exit.code}`;
    if (exit.code !== null && FINAL_EXIT_CODES.includes(exit.code)) {
      options.log(`the gateway exited (${how}); restarting will not fix that: see its last lines above, or run \`hearth doctor\``);
      state.stopping = true;
      state.end(exit.code);
      return;
    }
    const upMs = Date.now() - gateway.startedAt;
    state.crashes = upMs >= backoff.stableMs ? 1 : state.crashes + 1;
    const delay = Math.min(backoff.maxMs, backoff.minMs * 2 ** (state.crashes - 1));
    options.log(`the gateway exited (${how}) after ${Math.round(upMs / 1000)} s; restarting in ${Math.round(delay / 100) / 10} s`);
    state.restartTimer = setTimeout(() => {
      state.restartTimer = null;
      if (state.stopping || state.switching) return;
      state.restarts++;
      launch(activePackage(options.versions));
    }, delay);
  }

  async function stopGateway(): Promise<void> {
    if (state.restartTimer) clearTimeout(state.restartTimer);
    state.restartTimer = null;
    const gateway = state.gateway;
    state.gateway = null;
    if (gateway) await gateway.stop(stopTimeoutMs);
  }

  /** Waits until no gateway of an earlier supervisor still holds the state (it stops when its supervisor goes). */
  async function waitForOrphans(): Promise<void> {
    const deadline = Date.now() + stopTimeoutMs;
    for (let address = readGatewayAddress(options.stateDir); address; address = readGatewayAddress(options.stateDir)) {
      if (Date.now() > deadline) {
        options.log(`the gateway of an earlier supervisor (pid ${address.pid}) did not stop within ${stopTimeoutMs / 1000} s: killing it`);
        process.kill(address.pid, 'SIGKILL');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function rollBack(journal: SwitchJournal, reason: string, report: (event: SwitchEvent) => void): Promise<void> {
    await stopGateway();
    const notes: string[] = [];
    if (journal.snapshot && existsSync(journal.snapshot)) {
      const aside = restoreDatabase(options.stateDir, journal.snapshot, Date.now());
      notes.push(`the database from before the switch is back; the one ${journal.to} wrote is kept in ${aside}`);
    }
    pointAt(options.versions.current, journal.from);
    writeJournal(options.versions, undefined);
    const gateway = launch(journal.from);
    const notReady = await waitReady(gateway, url, readyTimeoutMs);
    const back = notReady ? `; the previous version is not ready either: ${notReady}` : '';
    report({ stage: 'rolled back', ok: notReady === null, message: `back on ${describe(journal.from)} because ${reason}${notes.length ? `; ${notes.join('; ')}` : ''}${back}` });
    writeJsonAtomic(options.versions.lastReport, { at: Date.now(), from: journal.from, to: journal.to, result: 'rolled back', reason });
  }

  async function probation(gateway: GatewayProcess): Promise<string | null> {
    const timer = new Promise<null>((resolve) => setTimeout(() => resolve(null), probationMs));
    const crash = gateway.exited.then(({ code, signal }) => `it exited (${signal ?? `code ${code}`}) ${Math.round((Date.now() - gateway.startedAt) / 1000)} s after it started`);
    return Promise.race([timer, crash]);
  }

  async function switchTo(request: SwitchRequest, report: (event: SwitchEvent) => void): Promise<boolean> {
    if (state.switching) {
      report({ stage: 'failed', ok: false, message: 'another switch is in progress' });
      return false;
    }
    state.switching = true;
    try {
      return await runSwitch(request, report);
    } finally {
      state.switching = false;
    }
  }

  async function runSwitch(request: SwitchRequest, report: (event: SwitchEvent) => void): Promise<boolean> {
    const from = activePackage(options.versions);
    const journal: SwitchJournal = { from, to: request.to, startedAt: Date.now(), stage: 'switching' };
    writeJournal(options.versions, journal);
    const baseline = state.gateway ? await readComponents(url) : undefined;
    report({ stage: 'info', ok: true, message: `draining the gateway of ${describe(from)}` });
    await stopGateway();
    if (request.restore) {
      const aside = restoreDatabase(options.stateDir, request.restore, Date.now());
      report({ stage: 'info', ok: true, message: `restored the database from ${request.restore}; the newer one is kept in ${aside}` });
    }
    if (request.snapshot) {
      journal.snapshot = snapshotDatabase(options.stateDir, options.versions.snapshots, Date.now());
      writeJournal(options.versions, journal);
      report({ stage: 'info', ok: true, message: `the database is saved in ${journal.snapshot} (the new version's migrations will change it)` });
    }
    const previousBefore = linkTarget(options.versions.previous);
    pointAt(options.versions.current, request.to);
    if (from !== request.to) pointAt(options.versions.previous, from);
    report({ stage: 'promoted', ok: true, message: `versions/current now points at ${describe(request.to)}` });
    const gateway = launch(request.to);
    const notReady = await waitReady(gateway, url, readyTimeoutMs, baseline);
    if (notReady) return failSwitch(journal, previousBefore, `the new version failed its readiness gate: ${notReady}`, report);
    report({ stage: 'restarted', ok: true, message: `${describe(request.to)} answers /readyz (pid ${gateway.pid}); on probation for ${Math.round(probationMs / 1000)} s` });
    writeJournal(options.versions, { ...journal, stage: 'probation' });
    const crashed = await probation(gateway);
    if (crashed) return failSwitch(journal, previousBefore, `the new version crashed on probation: ${crashed}`, report);
    writeJournal(options.versions, undefined);
    writeJsonAtomic(options.versions.lastReport, { at: Date.now(), from, to: request.to, result: 'healthy', ...(journal.snapshot ? { snapshot: journal.snapshot } : {}) });
    report({ stage: 'healthy', ok: true, message: `${describe(request.to)} ran its probation without a crash` });
    return true;
  }

  async function failSwitch(journal: SwitchJournal, previousBefore: string | undefined, reason: string, report: (event: SwitchEvent) => void): Promise<false> {
    report({ stage: 'failed', ok: false, message: reason });
    await rollBack(journal, reason, report);
    if (previousBefore) pointAt(options.versions.previous, previousBefore);
    return false;
  }

  return {
    ended,
    async start() {
      await waitForOrphans();
      const journal = readJournal(options.versions, options.log);
      if (journal) {
        options.log(`a switch from ${journal.from} to ${journal.to} did not finish (the supervisor stopped during it): going back`);
        await rollBack(journal, 'the switch did not finish', (event) => options.log(`${event.stage}: ${event.message}`));
        return;
      }
      const gateway = launch(activePackage(options.versions));
      const notReady = await waitReady(gateway, url, readyTimeoutMs);
      if (notReady) options.log(`the gateway is not ready: ${notReady}`);
    },
    switchTo,
    status: () => {
      const pkg = activePackage(options.versions);
      return {
        pid: process.pid,
        package: pkg,
        version: safeVersion(pkg),
        gatewayPid: state.gateway?.pid ?? null,
        since: state.gateway?.startedAt ?? null,
        switching: state.switching,
        restarts: state.restarts,
      };
    },
    async stop() {
      state.stopping = true;
      await stopGateway();
      state.end(0);
      return 0;
    },
    async restart() {
      if (state.switching || state.stopping) return;
      await stopGateway();
      launch(activePackage(options.versions));
    },
  };
}

function safeVersion(pkg: string): string {
  try {
    return readPackage(pkg).version;
  } catch {
    return 'unknown';
  }
}

function describe(pkg: string): string {
  return `${safeVersion(pkg)} (${pkg})`;
}
