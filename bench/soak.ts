/**
 * Months of use compressed into minutes: the real gateway answers a long stream of turns over many
 * sessions (each new session idles once its turns are done, as conversations do), with retention
 * running on a compressed clock, and every `--sample-every` turns the gateway's RSS, the state
 * database's size (file and WAL) and its row counts are recorded. Flat columns are the point:
 * memory and disk must not grow with the number of turns ever answered.
 *
 * Usage: node dist/bench/soak.js [--turns N (1000000)] [--sessions-at-once S (200)] [--turns-per-session T (50)]
 *        [--clients C (10)] [--sample-every K (50000)] [--config JSON (merged into the gateway's config)]
 */
import { existsSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type BetterSqlite3 from 'better-sqlite3';
import { loadCommonJs } from '../src/runtime/load-commonjs.js';
import { writeConfig } from '../test/support/gateway-harness.js';
import { startFakeModelProcess, Tracker } from './bench-support.js';
import { httpRequest, keepAliveAgent } from './http-client.js';
import { rssMb } from './proc-stats.js';

interface Options {
  turns: number;
  sessionsAtOnce: number;
  turnsPerSession: number;
  clients: number;
  sampleEvery: number;
  config: Record<string, unknown>;
}

interface Sample {
  turns: number;
  seconds: number;
  turnsPerSecond: number;
  rssMb: number;
  databaseMb: number;
  walMb: number;
  sessions: number;
  transcriptRows: number;
  runs: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { turns: 1_000_000, sessionsAtOnce: 200, turnsPerSession: 50, clients: 10, sampleEvery: 50_000, config: {} };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = () => argv[++index] ?? '';
    if (flag === '--turns') options.turns = Math.max(1, Number(value()));
    else if (flag === '--sessions-at-once') options.sessionsAtOnce = Math.max(1, Number(value()));
    else if (flag === '--turns-per-session') options.turnsPerSession = Math.max(1, Number(value()));
    else if (flag === '--clients') options.clients = Math.max(1, Number(value()));
    else if (flag === '--sample-every') options.sampleEvery = Math.max(1, Number(value()));
    else if (flag === '--config') options.config = JSON.parse(value()) as Record<string, unknown>;
    else throw new Error(`unknown option ${flag} (known: --turns, --sessions-at-once, --turns-per-session, --clients, --sample-every, --config)`);
  }
  return options;
}

const megabytes = (path: string) => (existsSync(path) ? statSync(path).size / 1024 / 1024 : 0);

/** Row counts read on a read-only connection of its own (WAL lets it read beside the gateway's writes). */
function counts(path: string): Pick<Sample, 'sessions' | 'transcriptRows' | 'runs'> {
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { sessions: count('sessions'), transcriptRows: count('transcript'), runs: count('runs') };
  } finally {
    db.close();
  }
}

/** Session `n`'s user id: a rolling window of `sessionsAtOnce` conversations, each `turnsPerSession` long. */
function userFor(turn: number, options: Options): string {
  const conversation = Math.floor(turn / (options.sessionsAtOnce * options.turnsPerSession)) * options.sessionsAtOnce + (turn % options.sessionsAtOnce);
  return `soak-${conversation}`;
}

async function soak(options: Options, tracker: Tracker): Promise<Sample[]> {
  const model = await startFakeModelProcess(tracker);
  const home = tracker.home();
  writeConfig(home, {
    models: { providers: { fake: { api: 'openai-chat', baseUrl: model.openaiBaseUrl, maxRetries: 0 } } },
    agents: { defaults: { model: 'fake/echo', maxConcurrent: 16 } },
    gateway: { rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } },
    logging: { level: 'warn' },
    ...options.config,
  });
  const gateway = await tracker.start({ home, env: { HEARTH_LOG_LEVEL: 'warn' } });
  const database = join(home, 'state', 'hearth.sqlite');
  const agent = keepAliveAgent(options.clients);
  const headers = { authorization: `Bearer ${gateway.token}` };
  const samples: Sample[] = [];
  const started = performance.now();
  let next = 0;
  let lastSample = { turns: 0, at: started };
  const sample = (turns: number) => {
    const at = performance.now();
    samples.push({
      turns,
      seconds: (at - started) / 1000,
      turnsPerSecond: (turns - lastSample.turns) / ((at - lastSample.at) / 1000),
      rssMb: rssMb(gateway.child.pid as number),
      databaseMb: megabytes(database),
      walMb: megabytes(`${database}-wal`),
      ...counts(database),
    });
    lastSample = { turns, at };
    const last = samples.at(-1) as Sample;
    console.error(`${turns} turns, ${last.seconds.toFixed(0)} s: ${last.turnsPerSecond.toFixed(0)} turns/s, RSS ${last.rssMb.toFixed(1)} MB, db ${last.databaseMb.toFixed(1)} + wal ${last.walMb.toFixed(1)} MB, ${last.sessions} sessions, ${last.transcriptRows} lines`);
  };
  try {
    await Promise.all(
      Array.from({ length: options.clients }, async () => {
        for (let turn = next++; turn < options.turns; turn = next++) {
          const body = JSON.stringify({ model: 'hearth', user: userFor(turn, options), messages: [{ role: 'user', content: 'what about tomorrow?' }] });
          const response = await httpRequest({ agent, port: gateway.port, path: '/v1/chat/completions', method: 'POST', headers, body, timeoutMs: 30_000 });
          if (response.status !== 200) throw new Error(`turn ${turn}: the gateway answered ${response.status}: ${response.body.slice(0, 200)}`);
          if ((turn + 1) % options.sampleEvery === 0) sample(turn + 1);
        }
      }),
    );
    return samples;
  } finally {
    agent.destroy();
    await tracker.stopGateway(gateway, 15_000);
    await model.stop();
  }
}

function printTable(samples: Sample[]): void {
  console.log('| turns | time (s) | turns/s | RSS (MB) | database (MB) | WAL (MB) | sessions | transcript lines | runs |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const s of samples) {
    console.log(`| ${s.turns} | ${s.seconds.toFixed(0)} | ${s.turnsPerSecond.toFixed(0)} | ${s.rssMb.toFixed(1)} | ${s.databaseMb.toFixed(1)} | ${s.walMb.toFixed(1)} | ${s.sessions} | ${s.transcriptRows} | ${s.runs} |`);
  }
  console.log(`BENCH_JSON ${JSON.stringify({ samples })}`);
}

const tracker = new Tracker();
process.on('exit', () => tracker.killSync());
try {
  const options = parseOptions(process.argv.slice(2));
  console.error(`load average at start: ${loadavg()[0]?.toFixed(2)}; ${options.turns} turns, ${options.sessionsAtOnce} sessions at once, ${options.turnsPerSession} turns each, config ${JSON.stringify(options.config)}`);
  printTable(await soak(options, tracker));
} finally {
  await tracker.cleanup();
}
