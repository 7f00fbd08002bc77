/**
 * What both benchmarks need: a tracker that stops everything they started (even on Ctrl-C), the
 * fake model in its own process, the noise meter, and the median/rounding of results.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { makeHome, removeHome, type StartOptions, startTestGateway, type TestGateway } from '../test/support/gateway-harness.js';
import { cpuSeconds, machineBusySeconds, median, ownCpuSeconds } from './proc-stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Cores used since the start by processes other than `pids` and this one. */
export function otherLoadMeter(pids: number[]): () => number {
  const started = performance.now();
  const machine0 = machineBusySeconds();
  const own0 = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) + ownCpuSeconds();
  return () => {
    const wall = (performance.now() - started) / 1000;
    const own = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) + ownCpuSeconds() - own0;
    return Math.max(0, machineBusySeconds() - machine0 - own) / wall;
  };
}

/** Everything the bench started, so it can all be stopped on success, failure or Ctrl-C. */
export class Tracker {
  readonly gateways = new Set<TestGateway>();
  readonly starting = new Set<Promise<TestGateway>>();
  readonly homes = new Set<string>();
  readonly children = new Set<ChildProcess>();
  /** Fake servers run in this process, closed on cleanup. */
  readonly servers = new Set<{ close(): Promise<unknown> }>();

  home(): string {
    const home = makeHome();
    this.homes.add(home);
    return home;
  }

  dropHome(home: string): void {
    removeHome(home);
    this.homes.delete(home);
  }

  start(options: StartOptions): Promise<TestGateway> {
    const pending = startTestGateway(options).then((gateway) => {
      this.gateways.add(gateway);
      return gateway;
    });
    this.starting.add(pending);
    const forget = () => this.starting.delete(pending);
    pending.then(forget, forget);
    return pending;
  }

  async stopGateway(gateway: TestGateway, graceMs = 5000): Promise<void> {
    const timer = setTimeout(() => void gateway.kill(), graceMs);
    try {
      await gateway.stop();
    } finally {
      clearTimeout(timer);
      this.gateways.delete(gateway);
    }
  }

  /** Kills what is still running and removes the homes; bounded in time. */
  async cleanup(): Promise<void> {
    const kills: Promise<unknown>[] = [];
    for (const gateway of this.gateways) kills.push(gateway.kill());
    for (const pending of this.starting) kills.push(pending.then((gateway) => gateway.kill(), () => undefined));
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) {
        kills.push(new Promise((done) => child.once('exit', done)));
        child.kill('SIGKILL');
      }
    }
    for (const server of this.servers) kills.push(server.close());
    await Promise.race([Promise.allSettled(kills), sleep(3000)]);
    this.servers.clear();
    this.gateways.clear();
    this.children.clear();
    for (const home of this.homes) {
      try {
        removeHome(home);
      } catch {
        // Best effort.
      }
    }
    this.homes.clear();
  }

  /** Last resort when the process exits: synchronous kills only. */
  killSync(): void {
    for (const gateway of this.gateways) if (gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
    for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const home of this.homes) {
      try {
        removeHome(home);
      } catch {
        // Best effort.
      }
    }
  }
}

export interface FakeModelProcess {
  pid: number;
  port: number;
  openaiBaseUrl: string;
  clear(): Promise<void>;
  sample(max: number): Promise<{ count: number; bodies: string[] }>;
  stop(): Promise<void>;
}

/** Forks bench/fake-model-process (an instant echo model) and talks to it over IPC. */
export async function startFakeModelProcess(tracker: Tracker): Promise<FakeModelProcess> {
  const child = fork(join(HERE, 'fake-model-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  tracker.children.add(child);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const ready = await new Promise<{ openaiBaseUrl: string; pid: number }>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error('the fake model process did not start in 10 s')), 10_000);
    child.once('message', (message: { type: string; openaiBaseUrl: string; pid: number }) => {
      clearTimeout(timer);
      resolveReady(message);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the fake model process exited with ${code} before it started`));
    });
  });
  const ask = <T>(command: object, type: string): Promise<T> =>
    new Promise<T>((resolveAnswer, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error(`the fake model process did not answer ${JSON.stringify(command)} in 10 s`));
      }, 10_000);
      const onMessage = (message: { type: string }) => {
        if (message.type !== type) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolveAnswer(message as T);
      };
      child.on('message', onMessage);
      child.send(command);
    });
  return {
    pid: ready.pid,
    port: Number(new URL(ready.openaiBaseUrl).port),
    openaiBaseUrl: ready.openaiBaseUrl,
    clear: () => ask({ cmd: 'clear' }, 'cleared').then(() => undefined),
    sample: (max) => ask({ cmd: 'sample', max }, 'sample'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
      tracker.children.delete(child);
    },
  };
}

/** The element-wise median of several results (numbers only; arrays and nested objects recurse). */
export function medianOf<T>(values: T[]): T {
  const first = values[0];
  if (typeof first === 'number') return median(values as number[]) as T;
  if (Array.isArray(first)) return first as T;
  if (first && typeof first === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(first)) out[key] = medianOf(values.map((value) => (value as Record<string, unknown>)[key]));
    return out as T;
  }
  return first as T;
}

/** Rounds every number to 3 decimals (NaN and infinities become null) for BENCH_JSON. */
export function round(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.round(value * 1000) / 1000 : null;
  if (Array.isArray(value)) return value.map(round);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, round(inner)]));
  return value;
}
