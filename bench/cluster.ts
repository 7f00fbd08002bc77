/**
 * Cluster mode on PostgreSQL: throughput and latency with 1, 2 and 3 gateways sharing one
 * database, beside a single gateway on SQLite, and the failover time of a turn whose node is
 * killed.
 *
 * Throughput: real gateway processes (each its own HEARTH_HOME and HEARTH_NODE_ID, the same config
 * and, on PostgreSQL, a fresh database of their own per case) against the instant fake model in its
 * own process. C HTTP clients, each on a session of its own (`user` set), spread round-robin over the
 * nodes, each sending its next turn when the reply arrived: a warm-up, then a measured window
 * (turns/s, p50/p99 client-side latency, CPU of the gateways and of PostgreSQL per 1,000 turns).
 * After each case the database must hold exactly one assistant line per answered turn.
 *
 * Failover: 3 nodes with `cluster: { leaseMs }`, a fake model in this process that holds (never
 * answers) the first request of each round's turn. The node whose socket carries that request (found
 * through /proc) is killed with SIGKILL; the failover time is from the kill until the reply is in
 * the session's history read through another node (WS `chat.history`, polled every 20 ms). Then the
 * database is checked for exactly one reply, and the killed node is restarted with its home.
 *
 * Usage: node dist/bench/cluster.js [--runs N (3)] [--seconds S (10)] [--warmup-seconds W (3)]
 *        [--clients C (16)] [--nodes 1,2,3] [--kills K (10)] [--lease-ms L (2000)]
 *        [--round-timeout-s T (30)] [--no-throughput] [--no-failover]
 */
import { readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectGateway, type GatewayClient } from '../src/cli/gateway-client.js';
import { type FakeModelServer, type RecordedRequest, startFakeModelServer } from '../test/support/fake-model-server.js';
import type { TestGateway } from '../test/support/gateway-harness.js';
import { createTestDatabase, type TestDatabase } from '../test/support/pg-test-database.js';
import { type FakeModelProcess, medianOf, otherLoadMeter, round, sleep, startFakeModelProcess, Tracker } from './bench-support.js';
import { httpRequest, keepAliveAgent } from './http-client.js';
import { cpuSeconds, median, percentile } from './proc-stats.js';

interface Options {
  runs: number;
  seconds: number;
  warmupSeconds: number;
  clients: number;
  nodes: number[];
  kills: number;
  leaseMs: number;
  roundTimeoutMs: number;
  throughput: boolean;
  failover: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { runs: 3, seconds: 10, warmupSeconds: 3, clients: 16, nodes: [1, 2, 3], kills: 10, leaseMs: 2000, roundTimeoutMs: 30_000, throughput: true, failover: true };
  for (let index = 0; index < argv.length; index++) {
    const [flag, inline] = argv[index]!.split('=', 2) as [string, string | undefined];
    const value = () => inline ?? argv[++index] ?? '';
    if (flag === '--runs') options.runs = Math.max(1, Number(value()) || 1);
    else if (flag === '--seconds') options.seconds = Math.max(1, Number(value()) || 10);
    else if (flag === '--warmup-seconds') options.warmupSeconds = Math.max(0, Number(value()) || 0);
    else if (flag === '--clients') options.clients = Math.max(1, Number(value()) || 16);
    else if (flag === '--nodes') options.nodes = value().split(',').map(Number).filter((n) => n > 0);
    else if (flag === '--kills') options.kills = Math.max(1, Number(value()) || 10);
    else if (flag === '--lease-ms') options.leaseMs = Math.max(100, Number(value()) || 2000);
    else if (flag === '--round-timeout-s') options.roundTimeoutMs = Math.max(1, Number(value()) || 30) * 1000;
    else if (flag === '--no-throughput') options.throughput = false;
    else if (flag === '--no-failover') options.failover = false;
    else throw new Error(`unknown option ${flag} (known: --runs, --seconds, --warmup-seconds, --clients, --nodes, --kills, --lease-ms, --round-timeout-s, --no-throughput, --no-failover)`);
  }
  return options;
}

type StoreKind = 'sqlite' | 'postgres';

const sessionKeyOf = (user: string) => `agent:main:openai:direct:${user}`;

function gatewayConfig(modelBaseUrl: string, store: StoreKind, extra: Record<string, unknown> = {}) {
  return {
    models: { providers: { fake: { api: 'openai-chat', baseUrl: modelBaseUrl, maxRetries: 0 } } },
    agents: { defaults: { model: 'fake/echo', maxConcurrent: 16, compaction: { enabled: false } } },
    gateway: { rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } },
    logging: { level: 'warn' },
    ...(store === 'postgres' ? { store: { kind: 'postgres' } } : {}),
    ...extra,
  };
}

function nodeEnv(index: number, database: TestDatabase | undefined): Record<string, string> {
  return { HEARTH_LOG_LEVEL: 'warn', HEARTH_NODE_ID: `node-${index + 1}`, ...(database ? { HEARTH_DATABASE_URL: database.url } : {}) };
}

/** The pids of every process named `postgres` (the server and its backends), for their CPU. */
function postgresPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** CPU seconds of the given processes, and of every postgres process, so far. */
function cpuOf(pids: number[]): { gateways: number; postgres: Map<number, number> } {
  const postgres = new Map<number, number>();
  for (const pid of postgresPids()) postgres.set(pid, cpuSeconds(pid));
  return { gateways: pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0), postgres };
}

/** PostgreSQL CPU between two readings: processes seen in both (backends of the gateways' pools live through the window). */
function postgresCpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) {
    const start = before.get(pid) ?? 0;
    if (Number.isFinite(seconds) && Number.isFinite(start)) total += seconds - start;
  }
  return total;
}

/** Lines of the gateways' output at warn level or above (pino JSON levels 40+, or plain text naming one). */
function warningLines(output: string): string[] {
  return output.split('\n').filter((line) => /"level":(4|5|6)0\b|\b(WARN|ERROR|FATAL)\b/i.test(line));
}

interface LogReport {
  count: number;
  first: string[];
}

function logReport(gateways: TestGateway[], extra: string[] = []): LogReport {
  const lines = [...extra, ...gateways.flatMap((gateway) => warningLines(gateway.output()))];
  return { count: lines.length, first: lines.slice(0, 5).map((line) => line.slice(0, 300)) };
}

/**
 * Homes for the nodes of a cluster: each its own, with `workspaces/` pointing at one shared folder,
 * as a shared mount would (cluster mode checks that every node sees the same workspaces).
 */
function clusterHomes(tracker: Tracker, count: number): { homes: string[]; shared: string } {
  const shared = tracker.home();
  const homes = Array.from({ length: count }, () => {
    const home = tracker.home();
    symlinkSync(shared, join(home, 'workspaces'));
    return home;
  });
  return { homes, shared };
}

async function startNodes(tracker: Tracker, count: number, config: unknown, database: TestDatabase | undefined): Promise<{ nodes: TestGateway[]; homes: string[] }> {
  const { homes, shared } = clusterHomes(tracker, count);
  const nodes: TestGateway[] = [];
  // One at a time: the first applies the migrations.
  for (let index = 0; index < count; index++) nodes.push(await tracker.start({ home: homes[index]!, config, env: nodeEnv(index, database), timeoutMs: 30_000 }));
  return { nodes, homes: [...homes, shared] };
}

async function stopNodes(tracker: Tracker, nodes: TestGateway[], homes: string[]): Promise<void> {
  await Promise.all(nodes.map((node) => tracker.stopGateway(node, 10_000)));
  for (const home of homes) tracker.dropHome(home);
}

// ---------------------------------------------------------------------------------------------
// Throughput

interface ThroughputResult {
  label: string;
  store: StoreKind;
  nodes: number;
  turnsPerSecond: number;
  turns: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  gatewayCpuPer1kTurns: number;
  postgresCpuPer1kTurns: number;
  otherCores: number;
  /** CPU of the idle nodes before the load (background work: polling, leases, heartbeats), cores per node. */
  idleCoresPerNode: number;
  /** Turns answered (warm-up included) and assistant lines in the database; NaN on SQLite. */
  answered: number;
  storedReplies: number;
  warnings: number;
  /** PostgreSQL transactions and rows inserted, updated or deleted per answered turn (the nodes' start and stop included). */
  transactionsPerTurn: number;
  rowsWrittenPerTurn: number;
}

/** The database's cumulative transaction and row-write counters. */
async function databaseStats(pool: ReturnType<TestDatabase['pool']>): Promise<{ transactions: number; rowsWritten: number }> {
  const { rows } = await pool.query<{ transactions: string; rows_written: string }>(
    'SELECT xact_commit + xact_rollback AS transactions, tup_inserted + tup_updated + tup_deleted AS rows_written FROM pg_stat_database WHERE datname = current_database()',
  );
  return { transactions: Number(rows[0]?.transactions), rowsWritten: Number(rows[0]?.rows_written) };
}

const TURN_TEXT = 'what about tomorrow?';
/** How long the nodes sit idle before the load, for their background CPU. */
const IDLE_MS = 3000;

async function runThroughputCase(store: StoreKind, nodeCount: number, runIndex: number, options: Options, tracker: Tracker, fake: FakeModelProcess): Promise<ThroughputResult> {
  const database = store === 'postgres' ? await createTestDatabase('hearth_bench_cluster') : undefined;
  const label = `${store} × ${nodeCount}`;
  try {
    const pool = database?.pool(1);
    const stats0 = pool ? await databaseStats(pool) : undefined;
    let result: ThroughputResult;
    const { nodes, homes } = await startNodes(tracker, nodeCount, gatewayConfig(fake.openaiBaseUrl, store), database);
    try {
      const idlePids = nodes.map((node) => node.child.pid!);
      const idle0 = cpuOf(idlePids).gateways;
      const idleStarted = performance.now();
      await sleep(IDLE_MS);
      const idleCoresPerNode = (cpuOf(idlePids).gateways - idle0) / ((performance.now() - idleStarted) / 1000) / nodes.length;
      const agents = nodes.map(() => keepAliveAgent(options.clients));
      const clients = Array.from({ length: options.clients }, (_, index) => {
        const node = nodes[index % nodes.length]!;
        return {
          node,
          agent: agents[index % nodes.length]!,
          headers: { authorization: `Bearer ${node.token}` },
          body: JSON.stringify({ model: 'hearth', user: `bench-r${runIndex}-c${index}`, messages: [{ role: 'user', content: TURN_TEXT }] }),
        };
      });
      let answered = 0;
      let errors = 0;
      let firstError: string | undefined;
      const drive = async (end: number, latencies: number[] | null) => {
        await Promise.all(
          clients.map(async (client) => {
            while (performance.now() < end && errors < 100) {
              const started = performance.now();
              try {
                const response = await httpRequest({ agent: client.agent, port: client.node.port, path: '/v1/chat/completions', method: 'POST', headers: client.headers, body: client.body, timeoutMs: 15_000 });
                if (response.status !== 200 || !response.body.includes(`"echo: ${TURN_TEXT}"`)) throw new Error(`node answered ${response.status}: ${response.body.slice(0, 200)}`);
                answered++;
                latencies?.push(performance.now() - started);
              } catch (error) {
                errors++;
                firstError ??= error instanceof Error ? error.message : String(error);
              }
            }
          }),
        );
      };
      await drive(performance.now() + options.warmupSeconds * 1000, null);
      const warmErrors = errors;
      const pids = nodes.map((node) => node.child.pid!);
      const others = otherLoadMeter([...pids, fake.pid]);
      const cpu0 = cpuOf(pids);
      const latencies: number[] = [];
      const started = performance.now();
      await drive(started + options.seconds * 1000, latencies);
      const seconds = (performance.now() - started) / 1000;
      const cpu1 = cpuOf(pids);
      const postgresCpu = store === 'postgres' ? postgresCpuBetween(cpu0.postgres, cpu1.postgres) : 0;
      // PostgreSQL's CPU is the database's work, not another process's noise.
      const otherCores = Math.max(0, others() - postgresCpu / seconds);
      for (const agent of agents) agent.destroy();
      if (errors > 0) console.error(`${label}: ${errors} turns failed; first: ${firstError}`);
      let storedReplies = Number.NaN;
      if (pool) {
        const rows = await pool.query<{ n: string }>("SELECT COUNT(*) AS n FROM transcript WHERE role = 'assistant'");
        storedReplies = Number(rows.rows[0]?.n);
        if (storedReplies !== answered) console.error(`${label}: ${answered} turns answered but ${storedReplies} assistant lines in the database`);
      }
      const logs = logReport(nodes);
      if (logs.count > 0) console.error(`${label}: ${logs.count} warning/error lines in the gateways' output; first:\n  ${logs.first.join('\n  ')}`);
      result = {
        label,
        store,
        nodes: nodeCount,
        turnsPerSecond: latencies.length / seconds,
        turns: latencies.length,
        errors: errors - warmErrors,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        gatewayCpuPer1kTurns: latencies.length > 0 ? ((cpu1.gateways - cpu0.gateways) / latencies.length) * 1000 : Number.NaN,
        postgresCpuPer1kTurns: store === 'postgres' && latencies.length > 0 ? (postgresCpu / latencies.length) * 1000 : Number.NaN,
        otherCores,
        idleCoresPerNode,
        answered,
        storedReplies,
        warnings: logs.count,
        transactionsPerTurn: Number.NaN,
        rowsWrittenPerTurn: Number.NaN,
      };
    } finally {
      await stopNodes(tracker, nodes, homes);
    }
    if (pool && stats0) {
      // The nodes' backends have exited, so their counters are in the statistics.
      await sleep(500);
      const stats1 = await databaseStats(pool);
      result.transactionsPerTurn = (stats1.transactions - stats0.transactions) / result.answered;
      result.rowsWrittenPerTurn = (stats1.rowsWritten - stats0.rowsWritten) / result.answered;
    }
    return result;
  } finally {
    await database?.drop();
  }
}

function printTable<T>(header: string[], rows: [string, (value: T) => string][], values: T[]): void {
  const table = [header, ...rows.map(([name, cell]) => [name, ...values.map(cell)])];
  const widths = header.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  for (const [index, row] of table.entries()) {
    console.log(`| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`);
    if (index === 0) console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  }
}

async function throughputPart(options: Options, tracker: Tracker): Promise<ThroughputResult[]> {
  const cases: [StoreKind, number][] = [['sqlite', 1], ...options.nodes.map((nodes): [StoreKind, number] => ['postgres', nodes])];
  const perRun: ThroughputResult[][] = [];
  const fake = await startFakeModelProcess(tracker);
  try {
    for (let run = 0; run < options.runs; run++) {
      const results: ThroughputResult[] = [];
      for (const [store, nodes] of cases) results.push(await runThroughputCase(store, nodes, run, options, tracker, fake));
      perRun.push(results);
      console.log(`run ${run + 1}: BENCH_RUN_JSON ${JSON.stringify(round(results))}`);
    }
  } finally {
    await fake.stop();
  }
  const medians = cases.map((_, index) => medianOf(perRun.map((results) => results[index]!)));
  console.log(`\nThroughput: ${perRun.length > 1 ? `medians of ${perRun.length} runs, ` : ''}${options.clients} clients (one session each, round-robin over the nodes), ${options.warmupSeconds} s warm-up, ${options.seconds} s measured`);
  printTable<ThroughputResult>(
    ['figure', ...medians.map((result) => result.label)],
    [
      ['throughput (turns/s)', (r) => r.turnsPerSecond.toFixed(0)],
      ['  turns / errors in the window', (r) => `${r.turns} / ${r.errors}`],
      ['latency p50 / p99 (ms)', (r) => `${r.p50Ms.toFixed(1)} / ${r.p99Ms.toFixed(1)}`],
      ['gateways CPU per 1,000 turns (s)', (r) => r.gatewayCpuPer1kTurns.toFixed(2)],
      ['PostgreSQL CPU per 1,000 turns (s)', (r) => (Number.isNaN(r.postgresCpuPer1kTurns) ? '–' : r.postgresCpuPer1kTurns.toFixed(2))],
      ['idle CPU per node before the load (cores)', (r) => r.idleCoresPerNode.toFixed(3)],
      ['PostgreSQL transactions / rows written per turn', (r) => (Number.isNaN(r.transactionsPerTurn) ? '–' : `${r.transactionsPerTurn.toFixed(1)} / ${r.rowsWrittenPerTurn.toFixed(1)}`)],
      ['answered / replies stored', (r) => (Number.isNaN(r.storedReplies) ? `${r.answered} / –` : `${r.answered} / ${r.storedReplies}`)],
      ['warning lines in the logs', (r) => String(r.warnings)],
      ["other processes' CPU (cores, noise)", (r) => r.otherCores.toFixed(2)],
    ],
    medians,
  );
  return medians;
}

// ---------------------------------------------------------------------------------------------
// Failover

/** The pid among `pids` that owns the loopback TCP connection from `localPort` to `remotePort`. */
function pidOfConnection(localPort: number, remotePort: number, pids: number[]): number | undefined {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      if (fields[1]!.endsWith(`:${hex(localPort)}`) && fields[2]!.endsWith(`:${hex(remotePort)}`)) inodes.add(fields[9]!);
    }
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match && inodes.has(match[1]!)) return pid;
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return undefined;
}

interface Hold {
  text: string;
  remotePort: number | undefined;
  at: number;
}

/** A fake model that holds the first request of each `failover-…` turn (never answers it) and echoes everything else. */
class HoldingModel {
  readonly held = new Map<string, Hold>();
  readonly requestsPerText = new Map<string, number>();
  private waiter: { text: string; resolve(hold: Hold): void } | undefined;
  server!: FakeModelServer;

  async start(tracker: Tracker): Promise<void> {
    this.server = await startFakeModelServer({ maxRecordedRequests: 1000, defaultStep: (request) => this.step(request) });
    tracker.servers.add(this.server);
  }

  private step(request: RecordedRequest) {
    const messages = (request.body as { messages?: { role: string; content: unknown }[] }).messages ?? [];
    const last = messages.findLast((message) => message.role === 'user');
    const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
    this.requestsPerText.set(text, (this.requestsPerText.get(text) ?? 0) + 1);
    if (text.startsWith('failover-') && !this.held.has(text)) {
      const hold = { text, remotePort: request.remotePort, at: performance.now() };
      this.held.set(text, hold);
      if (this.waiter?.text === text) this.waiter.resolve(hold);
      return { hang: true as const };
    }
    return { text: `echo: ${text}` };
  }

  waitForHold(text: string, timeoutMs: number): Promise<Hold> {
    const already = this.held.get(text);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no node asked the model for "${text}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        text,
        resolve: (hold) => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve(hold);
        },
      };
    });
  }
}

interface Round {
  round: number;
  sentTo: string;
  killed: string;
  /** Kill → reply readable through another node, ms; NaN when it never came. */
  failoverMs: number;
  /** The session lease after the kill: its holder, and when it expired relative to the kill and to the reply (ms; NaN without one). */
  leaseHolder: string;
  killToExpiryMs: number;
  expiryToReplyMs: number;
  storedReplies: number;
  modelRequests: number;
  runStatuses: string;
  /** What the client whose node was killed got: an error (expected) or the reply. */
  originalClient: string;
}

interface FailoverResult {
  rounds: Round[];
  medianMs: number;
  maxMs: number;
  killToExpiryMedianMs: number;
  expiryToReplyMedianMs: number;
  expiryToReplyMaxMs: number;
  clusterConfig: boolean;
  blocked?: string;
  warnings: LogReport;
}

/** The session's lane lease (cluster mode), or undefined when there is none (or no lease table). */
async function sessionLease(pool: ReturnType<TestDatabase['pool']>, sessionKey: string): Promise<{ holder: string; expiresAt: number } | undefined> {
  try {
    const { rows } = await pool.query<{ holder: string; expires_at: string }>('SELECT holder, expires_at FROM cluster_leases WHERE name = $1', [`session:${sessionKey}`]);
    return rows[0] ? { holder: rows[0].holder, expiresAt: Number(rows[0].expires_at) } : undefined;
  } catch {
    return undefined;
  }
}

async function historyHasReply(client: GatewayClient, user: string, reply: string): Promise<boolean> {
  const history = await client.call<{ messages: { role: string; content: unknown }[] }>('chat.history', { sessionKey: sessionKeyOf(user), limit: 20 }, 5000);
  return history.messages.some((message) => message.role === 'assistant' && JSON.stringify(message.content).includes(reply));
}

async function failoverPart(options: Options, tracker: Tracker): Promise<FailoverResult> {
  const model = new HoldingModel();
  await model.start(tracker);
  const database = await createTestDatabase('hearth_bench_failover');
  const pool = database.pool(1);
  const nodes: TestGateway[] = [];
  const { homes, shared } = clusterHomes(tracker, 3);
  const earlierOutput: string[] = [];
  const rounds: Round[] = [];
  let blocked: string | undefined;
  let clusterConfig = true;
  try {
    let config: unknown = gatewayConfig(model.server.openaiBaseUrl, 'postgres', { cluster: { leaseMs: options.leaseMs } });
    const startNode = (index: number) => tracker.start({ home: homes[index]!, config, env: nodeEnv(index, database), timeoutMs: 30_000 });
    for (let index = 0; index < 3; index++) {
      try {
        nodes.push(await startNode(index));
      } catch (error) {
        const output = (error as { output?: string }).output ?? '';
        if (index > 0 || !/cluster/.test(output)) throw error;
        // A build without cluster mode refuses the key: run the rounds anyway, they show what happens without it.
        console.log(`note: this build refuses \`cluster: { leaseMs: ${options.leaseMs} }\` (${output.trim().split('\n').find((line) => /cluster/.test(line))?.slice(0, 200)}); the nodes run without it`);
        clusterConfig = false;
        config = gatewayConfig(model.server.openaiBaseUrl, 'postgres');
        nodes.push(await startNode(index));
      }
    }
    // Warm-up: one turn through each node (model client loaded, pools open).
    for (const [index, node] of nodes.entries()) {
      const response = await httpRequest({ agent: false, port: node.port, path: '/v1/chat/completions', method: 'POST', headers: { authorization: `Bearer ${node.token}` }, body: JSON.stringify({ model: 'hearth', user: `warm-${index}`, messages: [{ role: 'user', content: 'hello' }] }), timeoutMs: 15_000 });
      if (response.status !== 200) throw new Error(`warm-up turn on node-${index + 1} answered ${response.status}: ${response.body.slice(0, 200)}`);
    }

    for (let roundIndex = 0; roundIndex < options.kills; roundIndex++) {
      const sentTo = roundIndex % nodes.length;
      const text = `failover-${roundIndex}`;
      const user = `failover-user-${roundIndex}`;
      const reply = `echo: ${text}`;
      const target = nodes[sentTo]!;
      let originalClient = 'pending';
      const original = httpRequest({ agent: false, port: target.port, path: '/v1/chat/completions', method: 'POST', headers: { authorization: `Bearer ${target.token}` }, body: JSON.stringify({ model: 'hearth', user, messages: [{ role: 'user', content: text }] }), timeoutMs: options.roundTimeoutMs + 10_000 }).then(
        (response) => {
          originalClient = response.status === 200 && response.body.includes(reply) ? 'got the reply' : `HTTP ${response.status}`;
        },
        (error: Error) => {
          originalClient = `error (${(error as NodeJS.ErrnoException).code ?? error.message.slice(0, 60)})`;
        },
      );
      const hold = await model.waitForHold(text, 15_000);
      const pids = nodes.map((node) => node.child.pid!);
      const ownerPid = hold.remotePort === undefined ? undefined : pidOfConnection(hold.remotePort, Number(new URL(model.server.url).port), pids);
      const owner = ownerPid === undefined ? -1 : pids.indexOf(ownerPid);
      if (owner < 0) throw new Error(`round ${roundIndex}: cannot tell which node holds the model request (client port ${hold.remotePort})`);
      const survivor = nodes[(owner + 1) % nodes.length]!;
      const client = await connectGateway(survivor.url, survivor.token, { name: 'hearth-bench', version: '1' });
      let failoverMs = Number.NaN;
      let killedWall = Number.NaN;
      let lease: Promise<{ holder: string; expiresAt: number } | undefined> = Promise.resolve(undefined);
      try {
        const killed = nodes[owner]!;
        const killedAt = performance.now();
        killedWall = Date.now();
        killed.child.kill('SIGKILL');
        // Read once the dead node can no longer renew it.
        lease = sleep(50).then(() => sessionLease(pool, sessionKeyOf(user)));
        const deadline = killedAt + options.roundTimeoutMs;
        while (performance.now() < deadline) {
          if (await historyHasReply(client, user, reply)) {
            failoverMs = performance.now() - killedAt;
            break;
          }
          await sleep(20);
        }
        await killed.exited;
        earlierOutput.push(...warningLines(killed.output()));
        tracker.gateways.delete(killed);
      } finally {
        client.close();
      }
      // Time for a second answer, if the cluster were to give one.
      await sleep(Number.isNaN(failoverMs) ? 0 : 1000);
      const stored = await pool.query<{ n: string }>("SELECT COUNT(*) AS n FROM transcript WHERE session_key = $1 AND role = 'assistant'", [sessionKeyOf(user)]);
      const runs = await pool.query<{ status: string }>('SELECT status FROM runs WHERE session_key = $1 ORDER BY seq', [sessionKeyOf(user)]);
      const leaseRow = await lease;
      const result: Round = {
        round: roundIndex + 1,
        sentTo: `node-${sentTo + 1}`,
        killed: `node-${owner + 1}`,
        failoverMs,
        leaseHolder: leaseRow?.holder ?? 'none',
        killToExpiryMs: leaseRow ? leaseRow.expiresAt - killedWall : Number.NaN,
        expiryToReplyMs: leaseRow ? killedWall + failoverMs - leaseRow.expiresAt : Number.NaN,
        storedReplies: Number(stored.rows[0]?.n),
        modelRequests: model.requestsPerText.get(text) ?? 0,
        runStatuses: runs.rows.map((row) => row.status).join(',') || 'none',
        originalClient,
      };
      rounds.push(result);
      console.log(
        `round ${result.round}: sent to ${result.sentTo}, killed ${result.killed}, ${Number.isNaN(failoverMs) ? `no reply within ${options.roundTimeoutMs / 1000} s` : `reply readable on node-${nodes.indexOf(survivor) + 1} after ${failoverMs.toFixed(0)} ms`}; lease held by ${result.leaseHolder}, expired ${result.killToExpiryMs.toFixed(0)} ms after the kill; replies stored ${result.storedReplies}, model requests ${result.modelRequests}, runs ${result.runStatuses}, original client: ${result.originalClient}`,
      );
      if (Number.isNaN(failoverMs)) {
        blocked = `round ${result.round}: the turn of the killed node stayed unfinished (runs: ${result.runStatuses}) for ${options.roundTimeoutMs / 1000} s on the two other nodes${clusterConfig ? '' : ' (this build has no `cluster` config)'}: they do not take over a dead node's turn`;
        console.log(blocked);
        break;
      }
      // Restart the killed node with its home, then let the original request settle.
      nodes[owner] = await startNode(owner);
      await Promise.race([original, sleep(2000)]);
    }
  } catch (error) {
    // Keep the rounds measured so far.
    blocked = `failed after ${rounds.length} rounds: ${error instanceof Error ? error.message : String(error)}`;
    console.error(blocked);
  }
  const warnings = logReport(nodes, earlierOutput);
  await Promise.all(nodes.filter((node) => node.child.exitCode === null && node.child.signalCode === null).map((node) => tracker.stopGateway(node, 10_000)));
  for (const home of [...homes, shared]) tracker.dropHome(home);
  await database.drop();
  await model.server.close();
  tracker.servers.delete(model.server);
  const times = rounds.map((r) => r.failoverMs).filter((ms) => !Number.isNaN(ms));
  const afterExpiry = rounds.map((r) => r.expiryToReplyMs).filter((ms) => !Number.isNaN(ms));
  const toExpiry = rounds.map((r) => r.killToExpiryMs).filter((ms) => !Number.isNaN(ms));
  if (warnings.count > 0) console.error(`failover: ${warnings.count} warning/error lines in the gateways' output; first:\n  ${warnings.first.join('\n  ')}`);
  return {
    rounds,
    medianMs: median(times),
    maxMs: times.length > 0 ? Math.max(...times) : Number.NaN,
    killToExpiryMedianMs: median(toExpiry),
    expiryToReplyMedianMs: median(afterExpiry),
    expiryToReplyMaxMs: afterExpiry.length > 0 ? Math.max(...afterExpiry) : Number.NaN,
    clusterConfig, ...(blocked ? { blocked } : {}), warnings };
}

function printFailover(result: FailoverResult, options: Options): void {
  console.log(`\nFailover: 3 nodes on PostgreSQL, cluster.leaseMs ${options.leaseMs}${result.clusterConfig ? '' : ' (refused by this build: ran without it)'}; kill -9 of the node running a held turn → its reply readable through another node`);
  if (result.rounds.length === 0) {
    console.log('no round completed');
    return;
  }
  const done = result.rounds.filter((r) => !Number.isNaN(r.failoverMs));
  const ms = (value: number) => (Number.isNaN(value) ? '–' : `${value.toFixed(0)} ms`);
  console.log(
    `| kills answered | kill → reply readable, median / max | kill → lease expiry, median | lease expiry → reply readable, median / max | rounds with exactly one reply stored |\n|---|---|---|---|---|\n| ${done.length} of ${options.kills} | ${ms(result.medianMs)} / ${ms(result.maxMs)} | ${ms(result.killToExpiryMedianMs)} | ${ms(result.expiryToReplyMedianMs)} / ${ms(result.expiryToReplyMaxMs)} | ${result.rounds.filter((r) => r.storedReplies === 1).length} of ${result.rounds.length} |`,
  );
  if (result.blocked) console.log(`blocked: ${result.blocked}`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const tracker = new Tracker();
  process.on('SIGINT', () => void tracker.cleanup().finally(() => process.exit(130)));
  process.on('exit', () => tracker.killSync());
  console.log(`load average at start: ${loadavg()[0]?.toFixed(2)}`);
  const json: Record<string, unknown> = { runs: options.runs, clients: options.clients, seconds: options.seconds };
  try {
    if (options.throughput) json.throughput = round(await throughputPart(options, tracker));
    if (options.failover) {
      const result = await failoverPart(options, tracker);
      printFailover(result, options);
      json.failover = round({ leaseMs: options.leaseMs, kills: options.kills, ...result });
    }
  } finally {
    await tracker.cleanup();
  }
  console.log(`BENCH_JSON ${JSON.stringify(json)}`);
}

main().catch((error: unknown) => {
  console.error('bench failed:', error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
