import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** One gateway process the supervisor started, from one package folder. */
export interface GatewayProcess {
  pkg: string;
  pid: number;
  startedAt: number;
  /** Settles when the process has exited: its exit code, or null when a signal ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  signal(name: NodeJS.Signals): void;
  /** Asks it to drain and exit (SIGTERM); after `timeoutMs` it is killed. Resolves once it is gone. */
  stop(timeoutMs: number): Promise<void>;
}

export interface SpawnOptions {
  pkg: string;
  fd: number;
  env: Record<string, string | undefined>;
  node?: string;
}

/**
 * Starts `<pkg>/bin/hearth.js gateway` with the shared socket as file descriptor 3. Its standard
 * input is a pipe the supervisor holds: when the supervisor dies, the gateway sees it close and
 * stops (HEARTH_SUPERVISED), so no gateway outlives it holding the port.
 */
export function spawnGateway(options: SpawnOptions): GatewayProcess {
  const child: ChildProcess = spawn(options.node ?? process.execPath, ['--max-semi-space-size=4', join(options.pkg, 'bin', 'hearth.js'), 'gateway'], {
    stdio: ['pipe', 'inherit', 'inherit', options.fd],
    // Its own process group: Ctrl-C in a terminal reaches the supervisor only, which drains the
    // gateway once (a second signal would make it stop without waiting for running turns).
    detached: true,
    env: { ...options.env, HEARTH_LISTEN_FD: '3', HEARTH_SUPERVISED: '1' },
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once('error', () => {
      done = true;
      resolve({ code: 127, signal: null });
    });
  });
  child.stdin?.on('error', () => {});
  return {
    pkg: options.pkg,
    pid: child.pid ?? -1,
    startedAt: Date.now(),
    exited,
    hasExited: () => done,
    signal: (name) => {
      if (!done) child.kill(name);
    },
    stop: async (timeoutMs) => {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Each component's status as `/readyz` lists it. */
export type ComponentStatuses = Record<string, string>;

const UP = ['ok', 'degraded'];

/** The components `/readyz` reports, or undefined when it cannot be read. */
export async function readComponents(url: string): Promise<ComponentStatuses | undefined> {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000), headers: { connection: 'close' } });
    const body = (await response.json()) as { components?: Record<string, { status: string }> };
    return Object.fromEntries(Object.entries(body.components ?? {}).map(([name, component]) => [name, component.status]));
  } catch {
    return undefined;
  }
}

/**
 * The components down now that were up in `baseline` (the version before the switch): a channel
 * whose token was already refused does not fail the new version, one it broke does.
 */
function regressions(components: ComponentStatuses, baseline: ComponentStatuses | undefined): string[] {
  return Object.entries(components)
    .filter(([name, status]) => !UP.includes(status) && (baseline === undefined || baseline[name] === undefined || UP.includes(baseline[name] as string)))
    .map(([name, status]) => `${name} ${status}`);
}

/**
 * Polls `/readyz` until the gateway is ready (200, or every component that is down was down before
 * the switch too), the process exits, or `timeoutMs` passes; resolves with why not, or null.
 */
export async function waitReady(gateway: GatewayProcess, url: string, timeoutMs: number, baseline?: ComponentStatuses): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (gateway.hasExited()) {
      const { code, signal } = await gateway.exited;
      return `it exited (${signal ?? `code ${code}`}) before it was ready`;
    }
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000), headers: { connection: 'close' } });
      const text = await response.text();
      if (response.status === 200) return null;
      const components = (JSON.parse(text) as { components?: Record<string, { status: string }> }).components;
      const statuses = components ? Object.fromEntries(Object.entries(components).map(([name, component]) => [name, component.status])) : undefined;
      if (statuses && Object.keys(statuses).length > 0 && regressions(statuses, baseline).length === 0) return null;
      last = `/readyz answered ${response.status}${statuses ? `: ${regressions(statuses, baseline).join(', ')}` : `: ${text.slice(0, 300)}`}`;
    } catch (error) {
      last = `/readyz: ${error instanceof Error ? error.message : String(error)}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return `not ready within ${Math.round(timeoutMs / 1000)} s (${last})`;
}
