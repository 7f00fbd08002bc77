import type { ComponentHealth } from '../gateway/gateway-context.js';

/**
 * What a started subsystem hands back. `api` is what later subsystems may use; `health()` feeds
 * `/readyz` and `status` under the subsystem's name; `drain()` stops taking new work and lets
 * work in flight finish; `stop()` releases everything (timers, sockets, files). None may throw
 * on a second call.
 */
export interface Started<Api = void> {
  api: Api;
  health?(): ComponentHealth;
  drain?(): Promise<void> | void;
  stop?(): Promise<void> | void;
}

/**
 * One part of the gateway that the composition root starts and stops: a name (its `/readyz`
 * component) and a `start` that takes, by name, the dependencies it needs. A subsystem that is
 * not configured should not be started at all, so its modules are never loaded.
 */
export interface Subsystem<Deps, Api = void> {
  name: string;
  start(deps: Deps): Promise<Started<Api>> | Started<Api>;
}

/** Declares a subsystem; only gives the object its type. */
export function defineSubsystem<Deps, Api>(subsystem: Subsystem<Deps, Api>): Subsystem<Deps, Api> {
  return subsystem;
}

interface RunningEntry {
  name: string;
  started: Started<unknown>;
  /** How long its start took, in milliseconds. */
  startMs: number;
}

export interface SubsystemHostLogger {
  error(details: object, message: string): void;
}

/**
 * Starts subsystems one after the other and stops them in reverse: first every `drain()` (newest
 * first), then every `stop()` (newest first). A failing start stops what had started before it,
 * then rethrows; a failing drain or stop is logged and the others still run.
 */
export function createSubsystemHost(logger: SubsystemHostLogger) {
  const running: RunningEntry[] = [];
  let stopping: Promise<void> | undefined;

  async function start<Deps, Api>(subsystem: Subsystem<Deps, Api>, deps: Deps): Promise<Api> {
    if (stopping) throw new Error(`cannot start ${subsystem.name}: the gateway is stopping`);
    let started: Started<Api>;
    const since = performance.now();
    try {
      started = await subsystem.start(withComponentLogger(deps, subsystem.name));
    } catch (error) {
      await stop();
      throw error;
    }
    running.push({ name: subsystem.name, started, startMs: Math.round((performance.now() - since) * 10) / 10 });
    return started.api;
  }

  async function runEach(phase: 'drain' | 'stop'): Promise<void> {
    for (const entry of [...running].reverse()) {
      try {
        await entry.started[phase]?.();
      } catch (error) {
        logger.error({ err: error, subsystem: entry.name }, `${entry.name} failed to ${phase}; stopping the rest`);
      }
    }
  }

  function stop(): Promise<void> {
    stopping ??= (async () => {
      await runEach('drain');
      await runEach('stop');
    })();
    return stopping;
  }

  /** Each started subsystem's health, by name, in start order. */
  function health(): Record<string, ComponentHealth> {
    const components: Record<string, ComponentHealth> = {};
    for (const entry of running) if (entry.started.health) components[entry.name] = entry.started.health();
    return components;
  }

  /** How long each subsystem took to start, in milliseconds, in start order. */
  function startTimes(): Record<string, number> {
    return Object.fromEntries(running.map((entry) => [entry.name, entry.startMs]));
  }

  return { start, stop, health, startTimes };
}

export type SubsystemHost = ReturnType<typeof createSubsystemHost>;

/**
 * The subsystem's deps with a logger whose lines name the subsystem (`component`, which
 * `hearth logs --component` filters on), when the deps carry a pino logger; else the deps as given.
 */
function withComponentLogger<Deps>(deps: Deps, name: string): Deps {
  if (typeof deps !== 'object' || deps === null || !('logger' in deps)) return deps;
  const logger = (deps as { logger: { child?: unknown } }).logger;
  if (typeof logger?.child !== 'function') return deps;
  return { ...deps, logger: (logger as { child(bindings: object): unknown }).child({ component: name }) };
}
