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
 * What the gateway process runs with besides the user's environment (bin/hearth.js's first line
 * and `npm start` set the same). glibc's malloc raises its mmap threshold each time a large block
 * is freed, up to 32 MB; after that the large buffers of a busy period (request and reply bodies,
 * transcripts) come from the heap and stay resident once it is over. A fixed threshold (glibc's
 * own default, 128 KiB) gives them back when freed: 30 s after 1,000 sessions of load, RSS was
 * 80 MB against 73 (bench/README.md, "Many active conversations").
 */
export const GATEWAY_PROCESS_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

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
    env: { ...GATEWAY_PROCESS_ENV, ...options.env, HEARTH_LISTEN_FD: '3', HEARTH_SUPERVISED: '1' },
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

/** How far from healthy a status is: ok, then degraded, then anything else (down, starting). */
const severity = (status: string) => (status === 'ok' ? 0 : status === 'degraded' ? 1 : 2);

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
 * The components worse now than in `baseline` (the version before the switch), with what they
 * say: a channel whose token was already refused does not fail the new version, a channel or the
 * models it broke (ok before, degraded or down now) does. Without a baseline, or for a component
 * the old version did not have, only a component that is down counts.
 */
function regressions(components: Record<string, { status: string; detail?: string }>, baseline: ComponentStatuses | undefined): string[] {
  return Object.entries(components)
    .filter(([name, { status }]) => {
      const before = baseline?.[name];
      return before === undefined ? !UP.includes(status) : severity(status) > severity(before);
    })
    .map(([name, { status, detail }]) => `${name} ${status}${baseline?.[name] ? ` (was ${baseline[name]})` : ''}${detail ? ` — ${detail.slice(0, 200)}` : ''}`);
}

/**
 * Polls `/readyz` until the gateway is ready, the process exits, or `timeoutMs` passes; resolves
 * with why not, or null. Ready means no component is worse than in `baseline` (see regressions);
 * without a baseline, a 200 from /readyz.
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
      let components: Record<string, { status: string; detail?: string }> | undefined;
      try {
        components = (JSON.parse(text) as { components?: Record<string, { status: string; detail?: string }> }).components;
      } catch {
        components = undefined;
      }
      const known = components !== undefined && Object.keys(components).length > 0;
      if (response.status === 200 && (baseline === undefined || !known)) return null;
      const worse = known ? regressions(components ?? {}, baseline) : [];
      if (known && worse.length === 0) return null;
      last = `/readyz answered ${response.status}${known ? `: ${worse.join(', ')}` : `: ${text.slice(0, 300)}`}`;
    } catch (error) {
      last = `/readyz: ${error instanceof Error ? error.message : String(error)}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return `not ready within ${Math.round(timeoutMs / 1000)} s (${last})`;
}
