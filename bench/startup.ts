/**
 * Start-up against the floor: spawn → first `/readyz` 200, and RSS right then, for the floor
 * server (`floor-server.ts`) and for `hearth gateway` with a fresh home and one configured model
 * (no channel, no cron job), alternating, `runs` times each, both with the gateway's Node flags and
 * environment (GATEWAY_NODE_FLAGS, GATEWAY_PROCESS_ENV). Prints medians and Hearth's ratios
 * to the floor. Usage: node dist/bench/startup.js [--runs N] [--baseline <another built checkout>]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { GATEWAY_NODE_FLAGS, GATEWAY_PROCESS_ENV, HEARTH_BIN, makeHome, removeHome, testEnv, writeConfig } from '../test/support/gateway-harness.js';
import { httpRequest } from './http-client.js';
import { median, preciseCpuSeconds, rssMb } from './proc-stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export interface StartupSample {
  readyMs: number;
  rssMb: number;
  /** CPU time (user + system) the process used until ready: steadier than wall time on a busy machine. */
  cpuMs: number;
}

export interface StartupSummary {
  readyMs: number;
  rssMb: number;
  cpuMs: number;
  samples: StartupSample[];
}

export interface StartupResult {
  floor: StartupSummary;
  hearth: StartupSummary;
  baseline?: StartupSummary;
  readyRatio: number;
  rssRatio: number;
  cpuRatio: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Spawns `args`, polls `/readyz` every 2 ms; returns the time to the first 200 and RSS then. */
async function timeToReady(args: string[], env: NodeJS.ProcessEnv, port: number): Promise<StartupSample & { child: ChildProcess }> {
  const since = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const deadline = since + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}: ${stderr}`);
    try {
      const response = await httpRequest({ agent: false, port, path: '/readyz', method: 'GET', timeoutMs: 1000 });
      if (response.status === 200) return { readyMs: performance.now() - since, rssMb: rssMb(child.pid!), cpuMs: preciseCpuSeconds(child.pid!) * 1000, child };
    } catch {
      // Not listening yet.
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${args.join(' ')} was not ready within 15 s: ${stderr}`);
    }
    await sleep(2);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function floorOnce(): Promise<StartupSample> {
  const home = makeHome();
  try {
    const port = await freePort();
    const started = await timeToReady([...GATEWAY_NODE_FLAGS, join(HERE, 'floor-server.js'), String(port), join(home, 'floor.sqlite')], { ...process.env, ...GATEWAY_PROCESS_ENV }, port);
    await stop(started.child);
    return { readyMs: started.readyMs, rssMb: started.rssMb, cpuMs: started.cpuMs };
  } finally {
    removeHome(home);
  }
}

async function hearthOnce(extraEnv: Record<string, string>, bin = HEARTH_BIN): Promise<StartupSample> {
  const home = makeHome();
  try {
    writeConfig(home, {
      models: { providers: { fake: { api: 'openai-chat', baseUrl: 'http://127.0.0.1:9/v1', maxRetries: 0 } } },
      agents: { defaults: { model: 'fake/echo' } },
      logging: { level: 'warn' },
    });
    const port = await freePort();
    const env = { ...GATEWAY_PROCESS_ENV, ...testEnv(home, { HEARTH_LOG_LEVEL: 'warn', ...extraEnv }) };
    const started = await timeToReady([...GATEWAY_NODE_FLAGS, bin, 'gateway', '--port', String(port)], env, port);
    await stop(started.child);
    return { readyMs: started.readyMs, rssMb: started.rssMb, cpuMs: started.cpuMs };
  } finally {
    removeHome(home);
  }
}

/**
 * Floor and Hearth alternately, `runs` times each (after one unmeasured warm-up of each); with
 * `baselineBin` (another checkout's `bin/hearth.js`), that one too, as `baseline`.
 */
export async function measureStartup(runs: number, extraEnv: Record<string, string> = {}, baselineBin?: string): Promise<StartupResult> {
  await floorOnce();
  await hearthOnce(extraEnv);
  const floor: StartupSample[] = [];
  const hearth: StartupSample[] = [];
  const baseline: StartupSample[] = [];
  for (let run = 0; run < runs; run++) {
    floor.push(await floorOnce());
    hearth.push(await hearthOnce(extraEnv));
    if (baselineBin) baseline.push(await hearthOnce(extraEnv, baselineBin));
  }
  const summary = (samples: StartupSample[]): StartupSummary => ({
    readyMs: median(samples.map((sample) => sample.readyMs)),
    rssMb: median(samples.map((sample) => sample.rssMb)),
    cpuMs: median(samples.map((sample) => sample.cpuMs)),
    samples,
  });
  const floorSummary = summary(floor);
  const hearthSummary = summary(hearth);
  return {
    floor: floorSummary,
    hearth: hearthSummary,
    ...(baselineBin ? { baseline: summary(baseline) } : {}),
    readyRatio: hearthSummary.readyMs / floorSummary.readyMs,
    rssRatio: hearthSummary.rssMb / floorSummary.rssMb,
    cpuRatio: hearthSummary.cpuMs / floorSummary.cpuMs,
  };
}

export function formatStartup(result: StartupResult): string {
  const range = (values: number[], digits: number) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
  const cell = (side: StartupSummary, key: keyof StartupSample, unit: string, digits: number) =>
    `${side[key].toFixed(digits)} ${unit} (${range(side.samples.map((sample) => sample[key]), digits)})`.padEnd(26);
  const line = (label: string, side: StartupSummary) =>
    `${label.padEnd(34)}${cell(side, 'readyMs', 'ms', 0)}${cell(side, 'rssMb', 'MiB', 1)}${cell(side, 'cpuMs', 'ms', 0)}`;
  const ratio = (value: number, target: string) => `${value.toFixed(2)}×${target}`.padEnd(26);
  return [
    `${`start-up, median of ${result.floor.samples.length}`.padEnd(34)}${'spawn → /readyz 200'.padEnd(26)}${'RSS at ready'.padEnd(26)}CPU until ready`,
    line('floor (node:http + ws + sqlite)', result.floor),
    line('hearth gateway', result.hearth),
    ...(result.baseline ? [line('baseline (--baseline)', result.baseline)] : []),
    `${'hearth / floor'.padEnd(34)}${ratio(result.readyRatio, ' (target ≤ 1.2)')}${ratio(result.rssRatio, ' (target ≤ 1.15)')}${ratio(result.cpuRatio, '')}`,
    ...(result.baseline
      ? [
          `${'baseline / floor'.padEnd(34)}${ratio(result.baseline.readyMs / result.floor.readyMs, '')}${ratio(result.baseline.rssMb / result.floor.rssMb, '')}${ratio(result.baseline.cpuMs / result.floor.cpuMs, '')}`,
        ]
      : []),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const runsFlag = process.argv.indexOf('--runs');
  const runs = runsFlag >= 0 ? Number(process.argv[runsFlag + 1]) : 7;
  const baselineFlag = process.argv.indexOf('--baseline');
  const baselineRoot = baselineFlag >= 0 ? process.argv[baselineFlag + 1] : undefined;
  const result = await measureStartup(runs, {}, baselineRoot ? join(baselineRoot, 'bin', 'hearth.js') : undefined);
  console.log(formatStartup(result));
  const figures = (side: StartupSummary) => ({ readyMs: side.readyMs, rssMb: side.rssMb, cpuMs: side.cpuMs });
  console.log(`STARTUP_JSON ${JSON.stringify({ floor: figures(result.floor), hearth: figures(result.hearth), readyRatio: result.readyRatio, rssRatio: result.rssRatio, cpuRatio: result.cpuRatio })}`);
}
