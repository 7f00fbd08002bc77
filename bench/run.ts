
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connectGateway, type GatewayClient } from '../src/cli/gateway-client.js';
import type { TestGateway } from '../test/support/gateway-harness.js';
import { httpRequest, keepAliveAgent } from './http-client.js';
import { loadavg } from 'node:os';
import { measureStartup } from './startup.js';
import { type FakeModelProcess as FakeProcess, medianOf, otherLoadMeter, round, sleep, startFakeModelProcess as startFakeProcess, Tracker } from './bench-support.js';
import { cpuSeconds, ownCpuSeconds, percentile, rssByMapping, rssMb } from './proc-stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));

// ------------------------------------------------------------------ settings

interface Settings {
  coldRuns: number;
  warmupTurns: number;
  measuredTurns: number;
  sequentialSessions: number;
  throughputSessions: number;
  /** The throughput phase runs at least this long and until the run's turns (all phases) reach `minTotalTurns`… */
  throughputMinMs: number;
  minTotalTurns: number;
  /** …but never longer than this. */
  throughputMaxMs: number;
  /** Upper bound on one sequential phase (warm-up + measured), ms. */
  phaseMaxMs: number;
  idleSettleMs: number;
  /** How long the WS throughput phase runs. */
  wsThroughputMs: number;
  /** How long the gateway idles after the load before the final RSS reading. */
  quietSettleMs: number;
  /** Request bodies replayed directly against the fake model for the model baseline. */
  sampledBodies: number;
}

const FULL: Settings = {
  coldRuns: 5,
  warmupTurns: 200,
  measuredTurns: 2000,
  sequentialSessions: 8,
  throughputSessions: 16,
  throughputMinMs: 10_000,
  minTotalTurns: 10_000,
  throughputMaxMs: 45_000,
  phaseMaxMs: 40_000,
  idleSettleMs: 2000,
  wsThroughputMs: 6000,
  quietSettleMs: 15_000,
  sampledBodies: 250,
};

const QUICK: Settings = {
  ...FULL,
  coldRuns: 2,
  warmupTurns: 50,
  measuredTurns: 300,
  throughputMinMs: 5000,
  minTotalTurns: 2500,
  throughputMaxMs: 10_000,
  phaseMaxMs: 10_000,
  idleSettleMs: 1000,
  wsThroughputMs: 3000,
  quietSettleMs: 8000,
  sampledBodies: 50,
};

const TARGETS = {
  coldStartMs: 500,
  readyRatio: 1.2,
  rssRatio: 1.15,
  idleRssMb: 80,
  overheadP50Ms: 2,
  overheadP99Ms: 10,
  turnsPerSecond: 1000,
  rssGrowthMb: 20,
};

/** Given facts about the incumbent, printed for scale (not measured here). */
const INCUMBENT = {
  coldStart: '~13 s',
  rss: '~1 GB',
  turn: '>1 s per turn',
};

interface Options {
  runs: number;
  cpuProfDir?: string;
  /** Probe the gateway's heap (forced GC) at idle and at the end; diagnostics only. */
  heap: boolean;
  /** Extra environment for the measured gateway (experiments, e.g. MALLOC_ARENA_MAX=2). */
  gatewayEnv: Record<string, string>;
  settings: Settings;
}

function parseOptions(argv: string[]): Options {
  let runs = 1;
  let cpuProfDir: string | undefined;
  let settings = FULL;
  let heap = false;
  const gatewayEnv: Record<string, string> = {};
  const addEnv = (pair: string | undefined) => {
    const eq = pair?.indexOf('=') ?? -1;
    if (!pair || eq <= 0) throw new Error('--gateway-env needs NAME=value');
    gatewayEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--runs') runs = Math.max(1, Math.min(10, Number(argv[++index]) || 1));
    else if (arg.startsWith('--runs=')) runs = Math.max(1, Math.min(10, Number(arg.slice(7)) || 1));
    else if (arg === '--cpu-prof') cpuProfDir = resolve(argv[++index] ?? 'bench-profiles');
    else if (arg.startsWith('--cpu-prof=')) cpuProfDir = resolve(arg.slice(11));
    else if (arg === '--quick') settings = QUICK;
    else if (arg === '--heap') heap = true;
    else if (arg === '--gateway-env') addEnv(argv[++index]);
    else if (arg.startsWith('--gateway-env=')) addEnv(arg.slice(14));
    else throw new Error(`unknown option ${arg} (known: --runs N, --cpu-prof DIR, --heap, --gateway-env NAME=value, --quick)`);
  }
  return { runs, settings, heap, gatewayEnv, ...(cpuProfDir ? { cpuProfDir } : {}) };
}

// ------------------------------------------------------------------ child processes and cleanup

function gatewayConfig(openaiBaseUrl: string) {
  return {
    models: { providers: { fake: { api: 'openai-chat', baseUrl: openaiBaseUrl, maxRetries: 0 } } },
    agents: { defaults: { model: 'fake/echo', maxConcurrent: 16 } },
    gateway: { rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } },
    logging: { level: 'warn' },
  };
}

/** Polls `/readyz` every ~5 ms until it answers 200; returns ms since `since`. */
async function pollReady(port: number, since: number, timeoutMs: number, failed: () => Error | undefined): Promise<number> {
  const deadline = since + timeoutMs;
  for (;;) {
    const error = failed();
    if (error) throw error;
    try {
      const response = await httpRequest({ agent: false, port, path: '/readyz', method: 'GET', timeoutMs: 1000 });
      if (response.status === 200) return performance.now() - since;
    } catch {
      // Not listening yet.
    }
    if (performance.now() > deadline) throw new Error(`/readyz did not answer 200 within ${timeoutMs} ms`);
    await sleep(5);
  }
}

// ------------------------------------------------------------------ measurements

interface LatencySummary {
  p50: number;
  p99: number;
  mean: number;
  count: number;
  errors: number;
}

function summarize(samples: number[], errors: number): LatencySummary {
  const mean = samples.length > 0 ? samples.reduce((sum, value) => sum + value, 0) / samples.length : Number.NaN;
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), mean, count: samples.length, errors };
}

/** Runs `turn(i)` one at a time, `count` times or until `deadline`; returns the timings (ms). */
async function sequential(count: number, deadline: number, turn: (index: number) => Promise<number>): Promise<{ samples: number[]; errors: number; firstError?: string }> {
  const samples: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  for (let index = 0; index < count && performance.now() < deadline && errors < 50; index++) {
    try {
      samples.push(await turn(index));
    } catch (error) {
      errors++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  }
  return { samples, errors, ...(firstError ? { firstError } : {}) };
}

interface PhaseResult {
  gateway: LatencySummary;
  model: LatencySummary;
  overheadP50: number;
  overheadP99: number;
  gatewayCpuPer1k: number;
  meanRequestBytes: number;
  /** Gateway RSS right after this phase's warm-up turns. */
  rssAfterWarmupMb: number;
}

/** Times the captured request bodies sent straight to the fake model (streamed, read to the end). */
async function modelBaseline(fake: FakeProcess, settings: Settings, bodies: string[]): Promise<LatencySummary> {
  if (bodies.length === 0) return summarize([], 0);
  const agent = keepAliveAgent(1);
  const headers = { authorization: 'Bearer hearth-no-api-key', accept: 'application/json' };
  const direct = async (index: number): Promise<number> => {
    const body = bodies[index % bodies.length]!;
    const started = performance.now();
    const response = await httpRequest({ agent, port: fake.port, path: '/v1/chat/completions', method: 'POST', headers, body });
    const elapsed = performance.now() - started;
    if (response.status !== 200 || !response.body.endsWith('data: [DONE]\n\n')) throw new Error(`fake model answered ${response.status}`);
    return elapsed;
  };
  try {
    const deadline = performance.now() + settings.phaseMaxMs;
    await sequential(settings.warmupTurns, deadline, direct);
    const measured = await sequential(settings.measuredTurns, deadline, direct);
    return summarize(measured.samples, measured.errors);
  } finally {
    agent.destroy();
  }
}

async function measurePhase(
  label: string,
  gateway: TestGateway,
  fake: FakeProcess,
  settings: Settings,
  turn: (index: number) => Promise<number>,
): Promise<PhaseResult> {
  const deadline = performance.now() + settings.phaseMaxMs;
  const warm = await sequential(settings.warmupTurns, deadline, turn);
  if (warm.errors > 0) throw new Error(`${label}: ${warm.errors} warm-up turns failed; first: ${warm.firstError}`);
  const pid = gateway.child.pid!;
  const rssAfterWarmupMb = rssMb(pid);
  await fake.clear();
  const cpuBefore = cpuSeconds(pid);
  const measured = await sequential(settings.measuredTurns, deadline, turn);
  const cpuUsed = cpuSeconds(pid) - cpuBefore;
  if (measured.errors > 0) console.error(`${label}: ${measured.errors} measured turns failed; first: ${measured.firstError}`);
  const sample = await fake.sample(settings.sampledBodies);
  const model = await modelBaseline(fake, settings, sample.bodies);
  const gatewaySummary = summarize(measured.samples, measured.errors);
  const meanRequestBytes = sample.bodies.length > 0 ? sample.bodies.reduce((sum, body) => sum + body.length, 0) / sample.bodies.length : 0;
  return {
    gateway: gatewaySummary,
    model,
    overheadP50: gatewaySummary.p50 - model.p50,
    overheadP99: gatewaySummary.p99 - model.p99,
    gatewayCpuPer1k: measured.samples.length > 0 ? (cpuUsed / measured.samples.length) * 1000 : Number.NaN,
    meanRequestBytes,
    rssAfterWarmupMb,
  };
}

interface HeapProbe {
  before: Record<string, number>;
  afterGc: Record<string, number>;
  /** RSS by mapping kind, read after the forced GC. */
  mappings?: Record<string, number>;
}

/** Asks the gateway (with the diagnostics preload) for its memory use before/after a full GC. */
async function probeHeap(gateway: TestGateway, file: string): Promise<HeapProbe | undefined> {
  rmSync(file, { force: true });
  gateway.child.kill('SIGUSR2');
  for (let waited = 0; waited < 3000; waited += 20) {
    await sleep(20);
    try {
      const probe = JSON.parse(readFileSync(file, 'utf8')) as HeapProbe;
      return { ...probe, mappings: rssByMapping(gateway.child.pid!) };
    } catch {
      // Not written yet.
    }
  }
  return undefined;
}

interface RunResult {
  coldStartMs: number;
  coldStartRunsMs: number[];
  /** Start-up against the floor: medians, RSS at ready, ratios. */
  startup: { floorReadyMs: number; floorRssMb: number; rssAtReadyMb: number; readyRatio: number; rssRatio: number; cpuRatio: number };
  idleRssMb: number;
  http: PhaseResult;
  ws: PhaseResult;
  throughput: {
    turnsPerSecond: number;
    turns: number;
    errors: number;
    seconds: number;
    latencyP50: number;
    latencyP99: number;
    gatewayCpuPer1k: number;
    gatewayCpuUtilization: number;
    fakeCpuPer1k: number;
    clientCpuPer1k: number;
  };
  warmupTurns: number;
  wsThroughput: { turnsPerSecond: number; turns: number; errors: number; gatewayCpuPer1k: number };
  throughputSessions: number;
  totalTurns: number;
  /** CPU cores used by other processes on the machine meanwhile (noise indicator). */
  otherLoad: { loadAvgAtStart: number; sequentialCores: number; throughputCores: number };
  rssAfterMb: number;
  rssRightAfterMb: number;
  quietSettleMs: number;
  rssGrowthMb: number;
  heap?: { idle: HeapProbe; end: HeapProbe };
  runSeconds: number;
}

function httpTurnFactory(gateway: TestGateway, agent: ReturnType<typeof keepAliveAgent>, users: string[]) {
  const headers = { authorization: `Bearer ${gateway.token}` };
  const bodies = users.map((user) => JSON.stringify({ model: 'hearth', user, messages: [{ role: 'user', content: 'hi' }] }));
  return async (index: number): Promise<number> => {
    const body = bodies[index % bodies.length]!;
    const started = performance.now();
    const response = await httpRequest({ agent, port: gateway.port, path: '/v1/chat/completions', method: 'POST', headers, body });
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`gateway answered ${response.status}: ${response.body.slice(0, 200)}`);
    if (!response.body.includes('"echo: hi"')) throw new Error(`unexpected reply: ${response.body.slice(0, 200)}`);
    return elapsed;
  };
}

interface ChatPayload {
  runId: string;
  sessionKey: string;
  state: string;
  text: string;
}

function wsTurnFactory(client: GatewayClient, sessionKeys: string[], runTag: string) {
  const waiters = new Map<string, (payload: ChatPayload) => void>();
  client.onEvent((event, payload) => {
    if (event !== 'chat') return;
    const chat = payload as ChatPayload;
    if (chat.state === 'final' || chat.state === 'error') waiters.get(chat.sessionKey)?.(chat);
  });
  let counter = 0;
  return async (index: number): Promise<number> => {
    const sessionKey = sessionKeys[index % sessionKeys.length]!;
    const idempotencyKey = `${runTag}-${counter++}`;
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    const final = new Promise<ChatPayload>((resolveFinal, reject) => {
      timer = setTimeout(() => reject(new Error(`no final chat event for ${sessionKey} in 15 s`)), 15_000);
      waiters.set(sessionKey, resolveFinal);
    });
    try {
      await client.call('chat.send', { sessionKey, text: 'hi', idempotencyKey }, 15_000);
      const payload = await final;
      const elapsed = performance.now() - started;
      if (payload.state !== 'final') throw new Error(`turn ended with ${payload.state}: ${payload.text}`);
      if (payload.text !== 'echo: hi') throw new Error(`unexpected reply: ${payload.text}`);
      return elapsed;
    } finally {
      clearTimeout(timer);
      waiters.delete(sessionKey);
      final.catch(() => undefined);
    }
  };
}

async function runOnce(runIndex: number, fake: FakeProcess, options: Options, tracker: Tracker): Promise<RunResult> {
  const { settings } = options;
  const runStarted = performance.now();
  const loadAvgAtStart = loadavg()[0] ?? Number.NaN;
  const config = gatewayConfig(fake.openaiBaseUrl);
  const env: Record<string, string> = { HEARTH_LOG_LEVEL: 'warn' };

  // 1. Cold start against the floor (a bare node:http + ws + SQLite server), fresh home each time.
  const startup = await measureStartup(settings.coldRuns, env);

  // 2. Idle RSS of the gateway measured from here on.
  const home = tracker.home();
  const measuredEnv: Record<string, string> = { ...env, ...options.gatewayEnv };
  const heapFile = join(home, 'bench-heap.json');
  if (options.cpuProfDir || options.heap) {
    // Node 20 refuses --cpu-prof in NODE_OPTIONS, so a preload starts the profiler instead.
    const preload = `--import=${pathToFileURL(join(HERE, 'diagnostics-preload.js')).href}`;
    measuredEnv.NODE_OPTIONS = measuredEnv.NODE_OPTIONS ? `${measuredEnv.NODE_OPTIONS} ${preload}` : preload;
    if (options.cpuProfDir) {
      mkdirSync(options.cpuProfDir, { recursive: true });
      measuredEnv.BENCH_CPU_PROF_DIR = options.cpuProfDir;
    }
    if (options.heap) measuredEnv.BENCH_HEAP_FILE = heapFile;
  }
  const gateway = await tracker.start({ config, home, env: measuredEnv });
  const pid = gateway.child.pid!;
  await pollReady(gateway.port, performance.now(), 15_000, () => undefined);
  await sleep(settings.idleSettleMs);
  const idleRssMb = rssMb(pid);
  const heapIdle = options.heap ? await probeHeap(gateway, heapFile) : undefined;
  let totalTurns = 0;

  const sequentialLoad = otherLoadMeter([pid, fake.pid]);
  // 3a. Sequential turns over HTTP (8 sessions round-robin) vs. the same requests straight to the model.
  const seqAgent = keepAliveAgent(1);
  const httpUsers = Array.from({ length: settings.sequentialSessions }, (_, index) => `bench-r${runIndex}-seq-${index}`);
  const http = await measurePhase('HTTP', gateway, fake, settings, httpTurnFactory(gateway, seqAgent, httpUsers));
  seqAgent.destroy();
  totalTurns += settings.warmupTurns + http.gateway.count;

  // 3b. Sequential turns over WS: chat.send → final chat event.
  const client = await connectGateway(gateway.url, gateway.token, { name: 'hearth-bench', version: '1' });
  let ws: PhaseResult;
  try {
    const wsSessions = Array.from({ length: settings.sequentialSessions }, (_, index) => `agent:main:bench:r${runIndex}-ws-${index}`);
    ws = await measurePhase('WS', gateway, fake, settings, wsTurnFactory(client, wsSessions, `bench-r${runIndex}`));
  } finally {
    client.close();
  }
  totalTurns += settings.warmupTurns + ws.gateway.count;
  const sequentialCores = sequentialLoad();

  // 4. Throughput: 16 concurrent HTTP clients, each on its own session.
  const tpAgent = keepAliveAgent(settings.throughputSessions);
  const tpUsers = Array.from({ length: settings.throughputSessions }, (_, index) => `bench-r${runIndex}-tp-${index}`);
  const tpTurns = tpUsers.map((user) => httpTurnFactory(gateway, tpAgent, [user]));
  let issued = 0;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const cpu0 = cpuSeconds(pid);
  const fakeCpu0 = cpuSeconds(fake.pid);
  const clientCpu0 = ownCpuSeconds();
  const throughputLoad = otherLoadMeter([pid, fake.pid]);
  const tpStarted = performance.now();
  const tpDeadline = tpStarted + settings.throughputMaxMs;
  const tpMinEnd = tpStarted + settings.throughputMinMs;
  const turnsBefore = totalTurns;
  const more = () => {
    const now = performance.now();
    if (now >= tpDeadline || errors >= 100) return false;
    return now < tpMinEnd || turnsBefore + issued < settings.minTotalTurns;
  };
  await Promise.all(
    tpTurns.map(async (turn) => {
      while (more()) {
        issued++;
        try {
          latencies.push(await turn(0));
          completed++;
        } catch (error) {
          errors++;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    }),
  );
  const tpSeconds = (performance.now() - tpStarted) / 1000;
  const gatewayCpu = cpuSeconds(pid) - cpu0;
  const fakeCpu = cpuSeconds(fake.pid) - fakeCpu0;
  const clientCpu = ownCpuSeconds() - clientCpu0;
  const throughputCores = throughputLoad();
  tpAgent.destroy();
  if (errors > 0) console.error(`throughput: ${errors} turns failed; first: ${firstError}`);
  totalTurns += completed;

  // 4b. Throughput over the WS RPC: 16 sessions on one connection, each sending its next message
  // when the previous reply arrived.
  const wsClient = await connectGateway(gateway.url, gateway.token, { name: 'hearth-bench', version: '1' });
  let wsCompleted = 0;
  let wsErrors = 0;
  const wsCpu0 = cpuSeconds(pid);
  const wsStarted = performance.now();
  try {
    const wsTurns = Array.from({ length: settings.throughputSessions }, (_, index) =>
      wsTurnFactory(wsClient, [`agent:main:bench:r${runIndex}-wstp-${index}`], `bench-r${runIndex}-wstp-${index}`),
    );
    const wsEnd = wsStarted + settings.wsThroughputMs;
    await Promise.all(
      wsTurns.map(async (turn) => {
        while (performance.now() < wsEnd && wsErrors < 100) {
          try {
            await turn(0);
            wsCompleted++;
          } catch {
            wsErrors++;
          }
        }
      }),
    );
  } finally {
    wsClient.close();
  }
  const wsSeconds = (performance.now() - wsStarted) / 1000;
  const wsGatewayCpu = cpuSeconds(pid) - wsCpu0;
  totalTurns += wsCompleted;

  // 5. RSS after all the turns: right after the load, and once the gateway has been idle long
  // enough for V8 to hand unused heap back (its memory reducer runs after a few idle seconds).
  await sleep(settings.idleSettleMs);
  const rssRightAfterMb = rssMb(pid);
  await sleep(settings.quietSettleMs);
  const rssAfterMb = rssMb(pid);
  const heapEnd = options.heap ? await probeHeap(gateway, heapFile) : undefined;
  await tracker.stopGateway(gateway, 10_000);
  tracker.dropHome(home);

  const per1k = (seconds: number) => (completed > 0 ? (seconds / completed) * 1000 : Number.NaN);
  return {
    coldStartMs: startup.hearth.readyMs,
    coldStartRunsMs: startup.hearth.samples.map((sample) => sample.readyMs),
    startup: {
      floorReadyMs: startup.floor.readyMs,
      floorRssMb: startup.floor.rssMb,
      rssAtReadyMb: startup.hearth.rssMb,
      readyRatio: startup.readyRatio,
      rssRatio: startup.rssRatio,
      cpuRatio: startup.cpuRatio,
    },
    idleRssMb,
    http,
    ws,
    throughput: {
      turnsPerSecond: completed / tpSeconds,
      turns: completed,
      errors,
      seconds: tpSeconds,
      latencyP50: percentile(latencies, 50),
      latencyP99: percentile(latencies, 99),
      gatewayCpuPer1k: per1k(gatewayCpu),
      gatewayCpuUtilization: gatewayCpu / tpSeconds,
      fakeCpuPer1k: per1k(fakeCpu),
      clientCpuPer1k: per1k(clientCpu),
    },
    warmupTurns: settings.warmupTurns,
    throughputSessions: settings.throughputSessions,
    wsThroughput: {
      turnsPerSecond: wsCompleted / wsSeconds,
      turns: wsCompleted,
      errors: wsErrors,
      gatewayCpuPer1k: wsCompleted > 0 ? (wsGatewayCpu / wsCompleted) * 1000 : Number.NaN,
    },
    totalTurns,
    otherLoad: { loadAvgAtStart, sequentialCores, throughputCores },
    rssAfterMb,
    rssRightAfterMb,
    quietSettleMs: settings.quietSettleMs,
    rssGrowthMb: rssAfterMb - idleRssMb,
    ...(heapIdle && heapEnd ? { heap: { idle: heapIdle, end: heapEnd } } : {}),
    runSeconds: (performance.now() - runStarted) / 1000,
  };
}

// ------------------------------------------------------------------ reporting

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
const mb = (value: number) => `${value.toFixed(1)} MB`;

function printTable(result: RunResult, runs: number): void {
  type Row = [metric: string, value: string, target: string, verdict: string, incumbent: string];
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const rows: Row[] = [
    [`Cold start to /readyz 200 (median of ${result.coldStartRunsMs.length})`, ms(result.coldStartMs), `< ${TARGETS.coldStartMs} ms`, verdict(result.coldStartMs < TARGETS.coldStartMs), INCUMBENT.coldStart],
    ['  floor: node:http + ws + SQLite (WAL) to ready', ms(result.startup.floorReadyMs), '(info)', '', ''],
    ['  start-to-ready / floor (CPU until ready / floor)', `${result.startup.readyRatio.toFixed(2)}× (${result.startup.cpuRatio.toFixed(2)}×)`, `<= ${TARGETS.readyRatio}×`, verdict(result.startup.readyRatio <= TARGETS.readyRatio), ''],
    ['RSS at ready / floor', `${mb(result.startup.rssAtReadyMb)} / ${mb(result.startup.floorRssMb)} = ${result.startup.rssRatio.toFixed(2)}×`, `<= ${TARGETS.rssRatio}×`, verdict(result.startup.rssRatio <= TARGETS.rssRatio), ''],
    ['Idle RSS (~2 s after ready)', mb(result.idleRssMb), `< ${TARGETS.idleRssMb} MB`, verdict(result.idleRssMb < TARGETS.idleRssMb), INCUMBENT.rss],
    [`  RSS after the first ${result.warmupTurns} turns (model SDK loaded)`, mb(result.http.rssAfterWarmupMb), '(info)', '', ''],
  ];
  for (const [name, phase] of [
    ['HTTP', result.http],
    ['WS', result.ws],
  ] as const) {
    rows.push(
      [`${name} turn through gateway p50 / p99`, `${ms(phase.gateway.p50)} / ${ms(phase.gateway.p99)}`, '(info)', '', INCUMBENT.turn],
      [`${name} same requests direct to model p50 / p99`, `${ms(phase.model.p50)} / ${ms(phase.model.p99)}`, '(info)', '', ''],
      [`${name} gateway overhead p50`, ms(phase.overheadP50), `< ${TARGETS.overheadP50Ms} ms`, verdict(phase.overheadP50 < TARGETS.overheadP50Ms), ''],
      [`${name} gateway overhead p99`, ms(phase.overheadP99), `< ${TARGETS.overheadP99Ms} ms`, verdict(phase.overheadP99 < TARGETS.overheadP99Ms), ''],
      [`${name} gateway CPU per 1,000 sequential turns`, `${phase.gatewayCpuPer1k.toFixed(2)} s`, '(info)', '', ''],
    );
  }
  const tp = result.throughput;
  rows.push(
    [`Throughput, ${result.throughputSessions} concurrent HTTP sessions`, `${tp.turnsPerSecond.toFixed(0)} turns/s`, `>= ${TARGETS.turnsPerSecond} turns/s`, verdict(tp.turnsPerSecond >= TARGETS.turnsPerSecond), ''],
    ['  turns / errors / seconds', `${tp.turns} / ${tp.errors} / ${tp.seconds.toFixed(1)} s`, '(info)', '', ''],
    [
      `Throughput, ${result.throughputSessions} concurrent WS sessions`,
      `${result.wsThroughput.turnsPerSecond.toFixed(0)} turns/s (${result.wsThroughput.gatewayCpuPer1k.toFixed(2)} s CPU per 1,000)`,
      `>= ${TARGETS.turnsPerSecond} turns/s`,
      verdict(result.wsThroughput.turnsPerSecond >= TARGETS.turnsPerSecond && result.wsThroughput.errors === 0),
      '',
    ],
    ['  turn latency under load p50 / p99', `${ms(tp.latencyP50)} / ${ms(tp.latencyP99)}`, '(info)', '', ''],
    ['  gateway CPU per 1,000 turns', `${tp.gatewayCpuPer1k.toFixed(2)} s`, '(info)', '', ''],
    ['  gateway CPU utilisation (cores)', tp.gatewayCpuUtilization.toFixed(2), '(info)', '', ''],
    ['  fake model / bench client CPU per 1,000 turns', `${tp.fakeCpuPer1k.toFixed(2)} s / ${tp.clientCpuPer1k.toFixed(2)} s`, '(info)', '', ''],
    [
      "Other processes' CPU during sequential / throughput phases",
      `${result.otherLoad.sequentialCores.toFixed(2)} / ${result.otherLoad.throughputCores.toFixed(2)} cores (load avg at start ${result.otherLoad.loadAvgAtStart.toFixed(2)})`,
      '(noise)',
      result.otherLoad.sequentialCores > 0.25 || result.otherLoad.throughputCores > 0.25 ? 'NOISY' : 'quiet',
      '',
    ],
    [
      '  RSS 2 s after the load (delta from idle)',
      `${mb(result.rssRightAfterMb)} (${result.rssRightAfterMb - result.idleRssMb >= 0 ? '+' : ''}${(result.rssRightAfterMb - result.idleRssMb).toFixed(1)})`,
      '(info)',
      '',
      '',
    ],
    [
      `RSS after ${result.totalTurns.toLocaleString('en-US')} turns, idle ${Math.round(result.quietSettleMs / 1000) + 2} s (delta from idle)`,
      `${mb(result.rssAfterMb)} (${result.rssGrowthMb >= 0 ? '+' : ''}${result.rssGrowthMb.toFixed(1)})`,
      `<= idle + ${TARGETS.rssGrowthMb} MB`,
      verdict(result.rssGrowthMb <= TARGETS.rssGrowthMb),
      '',
    ],
  );
  if (result.heap) {
    const { idle, end } = result.heap;
    const heapRow = (probe: HeapProbe) =>
      `rss ${probe.afterGc.rss} / heapUsed ${probe.afterGc.heapUsed} / heapTotal ${probe.afterGc.heapTotal} / external ${probe.afterGc.external} MB`;
    rows.push(
      ['  heap at idle, after forced full GC', heapRow(idle), '(diag)', '', ''],
      ['  heap at the end, before GC', `heapUsed ${end.before.heapUsed} / heapTotal ${end.before.heapTotal} MB`, '(diag)', '', ''],
      ['  heap at the end, after forced full GC', heapRow(end), '(diag)', '', ''],
    );
    const mapRow = (probe: HeapProbe) =>
      Object.entries(probe.mappings ?? {})
        .filter(([, value]) => value >= 0.5)
        .sort((a, b) => b[1] - a[1])
        .map(([key, value]) => `${key} ${value}`)
        .join(', ');
    rows.push(['  RSS by mapping at idle (MB)', mapRow(idle), '(diag)', '', ''], ['  RSS by mapping at the end (MB)', mapRow(end), '(diag)', '', '']);
  }
  const header: Row = ['metric', runs > 1 ? `value (median of ${runs} runs)` : 'value', 'target', 'pass/fail', 'incumbent (given)'];
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]!.length)));
  const line = (row: Row) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const tracker = new Tracker();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: stopping the gateway and the fake model, removing temp homes…`);
    tracker.cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => tracker.killSync());
  // A hard bound on the whole bench, whatever happens.
  const watchdog = setTimeout(
    () => {
      console.error('bench: overall time limit reached; stopping everything');
      tracker.cleanup().finally(() => process.exit(1));
    },
    options.runs * 180_000,
  );
  watchdog.unref();

  const results: RunResult[] = [];
  let failed = false;
  try {
    const fake = await startFakeProcess(tracker);
    try {
      for (let run = 0; run < options.runs; run++) {
        const result = await runOnce(run, fake, options, tracker);
        results.push(result);
        if (options.runs > 1) {
          console.log(`\nrun ${run + 1}/${options.runs} (${result.runSeconds.toFixed(1)} s):`);
          printTable(result, 1);
          console.log(`BENCH_RUN_JSON ${JSON.stringify(round(result))}`);
        }
      }
    } finally {
      await fake.stop();
    }
  } catch (error) {
    failed = true;
    console.error('bench failed:', error instanceof Error ? (error.stack ?? error.message) : error);
  } finally {
    await tracker.cleanup();
    clearTimeout(watchdog);
  }
  if (results.length > 0) {
    const summary = medianOf(results);
    console.log(options.runs > 1 ? `\nmedians of ${results.length} runs:` : '');
    printTable(summary, results.length);
    console.log(`BENCH_JSON ${JSON.stringify({ runs: results.length, node: process.version, ...(round(summary) as object) })}`);
    if (options.cpuProfDir) console.log(`gateway CPU profiles: ${options.cpuProfDir}`);
  }
  process.exitCode = failed ? 1 : 0;
}

void main();
