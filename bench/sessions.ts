/**
 * Many active conversations: the real gateway (child process, fresh home) answering 10 HTTP
 * clients that rotate over N sessions (`user` set, so every session keeps its transcript), against
 * the instant fake model in its own process. Each case: idle RSS, warm-up (every session answered
 * at least once), a measured window (throughput, p50/p99 latency, gateway CPU per 1,000 turns, peak
 * RSS and peak V8 heap sampled every 100 ms), then 30 s idle and RSS again.
 *
 * Usage: node dist/bench/sessions.js [--sessions 50,1000] [--runs N] [--seconds S (15)] [--history T (250)]
 *        [--clients C (10)] [--quiet-seconds Q (30)] [--history-cache-mb M] [--gateway-env NAME=value]
 * `--history T` writes T earlier exchanges into every session's transcript before the gateway
 * starts (long-lived conversations), so a turn's history is as long as the context allows.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { loadCommonJs } from '../src/runtime/load-commonjs.js';
import { type TestGateway, writeConfig } from '../test/support/gateway-harness.js';
import { medianOf, otherLoadMeter, round, sleep, startFakeModelProcess, Tracker } from './bench-support.js';
import { httpRequest, keepAliveAgent } from './http-client.js';
import { cpuSeconds, percentile, rssMb } from './proc-stats.js';
import type BetterSqlite3 from 'better-sqlite3';

const HERE = dirname(fileURLToPath(import.meta.url));

interface Options {
  sessions: number[];
  runs: number;
  seconds: number;
  clients: number;
  history: number;
  quietSeconds: number;
  gatewayEnv: Record<string, string>;
  /** session.historyCacheMb for the gateway (default: the gateway's own). */
  historyCacheMb?: number;
}

const TARGETS = { p99Ms: 30, peakRssMb: 150, settledRssRatio: 1.1 };

function parseOptions(argv: string[]): Options {
  const options: Options = { sessions: [50, 1000], runs: 1, seconds: 15, clients: 10, history: 250, quietSeconds: 30, gatewayEnv: {} };
  for (let index = 0; index < argv.length; index++) {
    const [flag, inline] = argv[index]!.split('=', 2) as [string, string | undefined];
    const value = () => inline ?? argv[++index] ?? '';
    if (flag === '--sessions') options.sessions = value().split(',').map(Number).filter((n) => n > 0);
    else if (flag === '--runs') options.runs = Math.max(1, Number(value()) || 1);
    else if (flag === '--seconds') options.seconds = Math.max(1, Number(value()) || 20);
    else if (flag === '--clients') options.clients = Math.max(1, Number(value()) || 10);
    else if (flag === '--history') options.history = Math.max(0, Number(value()) || 0);
    else if (flag === '--quiet-seconds') options.quietSeconds = Math.max(0, Number(value()) || 0);
    else if (flag === '--history-cache-mb') options.historyCacheMb = Math.max(0, Number(value()) || 0);
    else if (flag === '--gateway-env') {
      const pair = value();
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error('--gateway-env needs NAME=value');
      options.gatewayEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else throw new Error(`unknown option ${flag} (known: --sessions, --runs, --seconds, --clients, --history, --quiet-seconds, --history-cache-mb, --gateway-env)`);
  }
  return options;
}

const userOf = (index: number) => `bench-many-${index}`;

/**
 * What every turn asks (the fake model answers `echo: <text>`), seeded exchanges included: a window
 * then holds the same bytes whether its lines were mostly seeded (1,000 sessions: ~20 turns each in
 * the measured window) or mostly written by measured turns (50 sessions: ~500 each). Twenty
 * characters, as long as the seeded questions were when they differed from the turns' "hi" and
 * made the 1,000-session windows half as long again as the 50-session ones.
 */
const TURN_TEXT = 'what about tomorrow?';

/** Writes `turns` earlier exchanges into each session's transcript (the gateway is not running yet). */
function seedHistory(home: string, sessions: number, turns: number): void {
  mkdirSync(join(home, 'state'), { recursive: true });
  const path = join(home, 'state', 'hearth.sqlite');
  const store = createSqliteStore({ path });
  void store.close();
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path);
  try {
    const session = db.prepare('INSERT INTO sessions (key, agent_id, generation, created_at, updated_at, sid) VALUES (?, ?, 0, ?, ?, ?)');
    const line = db.prepare('INSERT INTO transcript (session_key, sid, generation, run_id, role, body, created_at) VALUES (?, ?, 0, NULL, ?, ?, ?)');
    const now = Date.now();
    db.transaction(() => {
      for (let index = 0; index < sessions; index++) {
        const key = `agent:main:openai:direct:${userOf(index)}`;
        session.run(key, 'main', now, now, index + 1);
        for (let turn = 0; turn < turns; turn++) {
          line.run(key, index + 1, 'user', JSON.stringify({ role: 'user', content: TURN_TEXT }), now);
          line.run(key, index + 1, 'assistant', JSON.stringify({ role: 'assistant', content: `echo: ${TURN_TEXT}` }), now);
        }
      }
    })();
  } finally {
    db.close();
  }
}

interface HeapFile {
  peak?: { heapUsed: number; heapTotal: number };
}

/** Asks the gateway (diagnostics preload) for its peak heap since the last ask, in MB. */
async function heapPeak(gateway: TestGateway, file: string): Promise<{ heapUsed: number; heapTotal: number } | undefined> {
  rmSync(file, { force: true });
  gateway.child.kill('SIGUSR2');
  for (let waited = 0; waited < 3000; waited += 20) {
    await sleep(20);
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as HeapFile).peak;
    } catch {
      // Not written yet.
    }
  }
  return undefined;
}

interface CaseResult {
  sessions: number;
  turnsPerSecond: number;
  turns: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  cpuPer1kTurns: number;
  idleRssMb: number;
  peakRssMb: number;
  peakHeapUsedMb: number;
  rssAfterQuietMb: number;
  rssAfterQuietRatio: number;
  otherCores: number;
}

async function runCase(sessions: number, options: Options, tracker: Tracker, fakeBaseUrl: string, fakePid: number): Promise<CaseResult> {
  const home = tracker.home();
  const config = {
    models: { providers: { fake: { api: 'openai-chat', baseUrl: fakeBaseUrl, maxRetries: 0 } } },
    // Compaction off: this measures the history path at a fixed window of 400 lines, as before it existed.
    agents: { defaults: { model: 'fake/echo', maxConcurrent: 16, compaction: { enabled: false } } },
    gateway: { rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } },
    logging: { level: 'warn' },
    ...(options.historyCacheMb !== undefined ? { session: { historyCacheMb: options.historyCacheMb } } : {}),
  };
  writeConfig(home, config);
  if (options.history > 0) seedHistory(home, sessions, options.history);
  const heapFile = join(home, 'bench-heap.json');
  const env: Record<string, string> = {
    HEARTH_LOG_LEVEL: 'warn',
    NODE_OPTIONS: `--import=${pathToFileURL(join(HERE, 'diagnostics-preload.js')).href}`,
    BENCH_HEAP_SAMPLE_FILE: heapFile,
    ...options.gatewayEnv,
  };
  const gateway = await tracker.start({ home, env });
  try {
    const pid = gateway.child.pid!;
    await sleep(2000);
    const idleRssMb = rssMb(pid);
    const agent = keepAliveAgent(options.clients);
    const headers = { authorization: `Bearer ${gateway.token}` };
    const bodies = Array.from({ length: sessions }, (_, index) => JSON.stringify({ model: 'hearth', user: userOf(index), messages: [{ role: 'user', content: TURN_TEXT }] }));
    let next = 0;
    const turn = async (): Promise<number> => {
      const body = bodies[next++ % sessions]!;
      const started = performance.now();
      const response = await httpRequest({ agent, port: gateway.port, path: '/v1/chat/completions', method: 'POST', headers, body, timeoutMs: 15_000 });
      if (response.status !== 200 || !response.body.includes(`"echo: ${TURN_TEXT}"`)) throw new Error(`gateway answered ${response.status}: ${response.body.slice(0, 200)}`);
      return performance.now() - started;
    };
    const drive = async (until: () => boolean, latencies: number[] | null) => {
      let errors = 0;
      let firstError: string | undefined;
      await Promise.all(
        Array.from({ length: options.clients }, async () => {
          while (until() && errors < 100) {
            try {
              const elapsed = await turn();
              latencies?.push(elapsed);
            } catch (error) {
              errors++;
              firstError ??= error instanceof Error ? error.message : String(error);
            }
          }
        }),
      );
      if (errors > 0) console.error(`${sessions} sessions: ${errors} turns failed; first: ${firstError}`);
      return errors;
    };
    // Warm-up: every session answered at least once (and the model SDK loaded).
    const warmTurns = Math.max(sessions, 500);
    await drive(() => next < warmTurns, null);
    await heapPeak(gateway, heapFile);

    let peakRssMb = rssMb(pid);
    const sampler = setInterval(() => {
      peakRssMb = Math.max(peakRssMb, rssMb(pid));
    }, 100);
    const latencies: number[] = [];
    const others = otherLoadMeter([pid, fakePid]);
    const cpu0 = cpuSeconds(pid);
    const started = performance.now();
    const end = started + options.seconds * 1000;
    const errors = await drive(() => performance.now() < end, latencies);
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const otherCores = others();
    clearInterval(sampler);
    peakRssMb = Math.max(peakRssMb, rssMb(pid));
    const peak = await heapPeak(gateway, heapFile);
    agent.destroy();

    await sleep(options.quietSeconds * 1000);
    const rssAfterQuietMb = rssMb(pid);
    return {
      sessions,
      turnsPerSecond: latencies.length / seconds,
      turns: latencies.length,
      errors,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      cpuPer1kTurns: latencies.length > 0 ? (cpu / latencies.length) * 1000 : Number.NaN,
      idleRssMb,
      peakRssMb,
      peakHeapUsedMb: peak?.heapUsed ?? Number.NaN,
      rssAfterQuietMb,
      rssAfterQuietRatio: rssAfterQuietMb / idleRssMb,
      otherCores,
    };
  } finally {
    await tracker.stopGateway(gateway, 10_000);
    tracker.dropHome(home);
  }
}

function printTable(results: CaseResult[], runs: number, options: Options): void {
  const rows: [string, (result: CaseResult) => string, string][] = [
    ['throughput (turns/s)', (r) => r.turnsPerSecond.toFixed(0), `>= the ${results[0]?.sessions ?? ''}-session figure`],
    ['  turns / errors', (r) => `${r.turns} / ${r.errors}`, ''],
    ['latency p50 / p99 (ms)', (r) => `${r.p50Ms.toFixed(1)} / ${r.p99Ms.toFixed(1)}`, `p99 < ${TARGETS.p99Ms}`],
    ['gateway CPU per 1,000 turns (s)', (r) => r.cpuPer1kTurns.toFixed(2), ''],
    ['idle RSS (MB)', (r) => r.idleRssMb.toFixed(1), ''],
    ['peak RSS under load (MB)', (r) => r.peakRssMb.toFixed(1), `< ${TARGETS.peakRssMb}`],
    ['peak V8 heap used (MB, 100 ms samples)', (r) => r.peakHeapUsedMb.toFixed(1), ''],
    [`RSS ${options.quietSeconds} s after the load (MB, ratio to idle)`, (r) => `${r.rssAfterQuietMb.toFixed(1)} (${r.rssAfterQuietRatio.toFixed(2)}×)`, `<= ${TARGETS.settledRssRatio}×`],
    ["other processes' CPU (cores, noise)", (r) => r.otherCores.toFixed(2), ''],
  ];
  const header = ['metric', ...results.map((r) => `${r.sessions} sessions`), 'target'];
  const table = [header, ...rows.map(([name, value, target]) => [name, ...results.map(value), target])];
  const widths = header.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  console.log(`${runs > 1 ? `medians of ${runs} runs, ` : ''}${options.clients} clients, ${options.seconds} s per case, ${options.history} seeded exchanges per session`);
  for (const [index, row] of table.entries()) {
    console.log(`| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`);
    if (index === 0) console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const tracker = new Tracker();
  process.on('SIGINT', () => void tracker.cleanup().finally(() => process.exit(130)));
  process.on('exit', () => tracker.killSync());
  console.log(`load average at start: ${loadavg()[0]?.toFixed(2)}`);
  const perRun: CaseResult[][] = [];
  try {
    const fake = await startFakeModelProcess(tracker);
    try {
      for (let run = 0; run < options.runs; run++) {
        const results: CaseResult[] = [];
        for (const sessions of options.sessions) results.push(await runCase(sessions, options, tracker, fake.openaiBaseUrl, fake.pid));
        perRun.push(results);
        if (options.runs > 1) console.log(`run ${run + 1}: BENCH_RUN_JSON ${JSON.stringify(round(results))}`);
      }
    } finally {
      await fake.stop();
    }
  } finally {
    await tracker.cleanup();
  }
  const medians = options.sessions.map((_, index) => medianOf(perRun.map((results) => results[index]!)));
  printTable(medians, perRun.length, options);
  console.log(`BENCH_JSON ${JSON.stringify({ runs: perRun.length, clients: options.clients, history: options.history, cases: round(medians) })}`);
}

main().catch((error: unknown) => {
  console.error('bench failed:', error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
