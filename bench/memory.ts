/**
 * Memory figures: the real memory service and index (SQLite with FTS5 and sqlite-vec, on disk in
 * a temp folder) over a generated workspace of Markdown notes, vectors from the fake
 * OpenAI-compatible embeddings server on loopback (in this process; each measured case runs in a
 * child process of its own, so its RSS, CPU and event loop are the product's alone).
 *
 *   node dist/bench/memory.js [--runs N] [--chunks 10000,100000] [--index-chunks 10000]
 *                             [--queries 300] [--dimensions 384] [--idle-seconds 10] [--quick]
 *                             [--cpu-prof DIR]
 *
 * Indexing (`--index-chunks`, keyword only and with embeddings): wall time, chunks/s, peak RSS,
 * the longest event-loop block and p99 of event-loop delay, then idle CPU with the file watcher
 * on. Search (each of `--chunks`): p50/p99 of keyword and hybrid search over `--queries` varied
 * queries, through the index and through the service as `memory_search` calls it. The search
 * indexes are filled through the product's own sync, and their vectors through `embedPending`
 * with an in-process client giving the fake server's vectors (100,000 chunks over HTTP would take
 * minutes and measure the fake server).
 */
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import type { AgentProfile } from '../src/agent/agent-loop.js';
import { type MemoryConfig, type ProviderConfig, providerSchema } from '../src/config/schema.js';
import type { EmbeddingClient } from '../src/memory/embeddings.js';
import { openMemoryIndex } from '../src/memory/memory-index.js';
import { createMemoryService } from '../src/memory/memory-service.js';
import { loadCommonJs } from '../src/runtime/load-commonjs.js';
import { createFakeEmbedder, startFakeEmbeddingsServer } from '../test/support/fake-embeddings-server.js';
import { medianOf, round, sleep } from './bench-support.js';
import { generateQueries, generateWorkspace } from './memory-workspace.js';
import { machineBusySeconds, ownCpuSeconds, percentile } from './proc-stats.js';

const MODEL = 'bench-embed';
const TARGETS = { blockMs: 50, searchP50Ms: 10, idleCpuMsPerS: 1 };

interface Options {
  runs: number;
  chunks: number[];
  indexChunks: number;
  queries: number;
  dimensions: number;
  idleSeconds: number;
  cpuProf?: string;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { runs: 1, chunks: [10_000, 100_000], indexChunks: 10_000, queries: 300, dimensions: 384, idleSeconds: 10 };
  for (let index = 0; index < argv.length; index++) {
    const [flag, inline] = argv[index]!.split('=', 2) as [string, string | undefined];
    const value = () => inline ?? argv[++index] ?? '';
    if (flag === '--runs') options.runs = Math.max(1, Number(value()) || 1);
    else if (flag === '--chunks') options.chunks = value().split(',').map(Number).filter((n) => n > 0);
    else if (flag === '--index-chunks') options.indexChunks = Math.max(100, Number(value()) || 10_000);
    else if (flag === '--queries') options.queries = Math.max(10, Number(value()) || 300);
    else if (flag === '--dimensions') options.dimensions = Math.max(8, Number(value()) || 384);
    else if (flag === '--idle-seconds') options.idleSeconds = Math.max(1, Number(value()) || 10);
    else if (flag === '--cpu-prof') options.cpuProf = value();
    else if (flag === '--quick') Object.assign(options, { chunks: [10_000], indexChunks: 2_000, queries: 100, idleSeconds: 3 });
    else throw new Error(`unknown option ${flag} (known: --runs, --chunks, --index-chunks, --queries, --dimensions, --idle-seconds, --cpu-prof, --quick)`);
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// The measured cases, each in a child process.

interface ChildArgs {
  role: 'index' | 'build' | 'search';
  workspace: string;
  state: string;
  /** The fake embeddings server's base URL; null: keyword only. */
  baseUrl: string | null;
  dimensions: number;
  idleSeconds: number;
  queries: number;
}

const silent = { warn() {}, debug() {} };

function service(args: ChildArgs, options: { embeddings: boolean; watch: boolean }) {
  const memory: MemoryConfig = options.embeddings && args.baseUrl ? { embeddings: { provider: 'local', model: MODEL } } : {};
  const profile = { id: 'main', workspaceDir: args.workspace, memory } as unknown as AgentProfile;
  const providers: Record<string, ProviderConfig> = args.baseUrl ? { local: providerSchema().parse({ api: 'openai-chat', baseUrl: args.baseUrl }) } : {};
  return createMemoryService({ directory: args.state, agent: (id) => (id === 'main' ? profile : undefined), providers: () => providers, logger: silent, watch: options.watch });
}

/** The fake server's vectors, computed in this process (same identity as the server, so the index takes them as its own). */
function localEmbeddings(args: ChildArgs): EmbeddingClient {
  const embed = createFakeEmbedder(args.dimensions);
  return {
    identity: { providerId: 'local', baseUrl: args.baseUrl!.replace(/\/+$/u, ''), model: MODEL },
    embed: async (texts) => texts.map((text) => Float32Array.from(embed(text))),
  };
}

/**
 * Event-loop delay while `run` runs: monitorEventLoopDelay at 1 ms resolution, how often a 1 ms
 * timer came more than 50 ms late, and the CPU this process used during the longest gap (less than
 * the gap: the process waited for a core, as on a busy machine, rather than worked).
 */
async function watchLoop<T>(run: () => Promise<T>): Promise<{ value: T; maxBlockMs: number; maxBlockCpuMs: number; p99DelayMs: number; blocksOver50: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let lastCpu = cpuMs();
  let blocksOver50 = 0;
  let longest = { wall: 0, cpu: 0 };
  const ticker = setInterval(() => {
    const now = performance.now();
    const cpu = cpuMs();
    if (now - last > TARGETS.blockMs) blocksOver50 += 1;
    if (now - last > longest.wall) longest = { wall: now - last, cpu: cpu - lastCpu };
    last = now;
    lastCpu = cpu;
  }, 1);
  histogram.enable();
  try {
    // The loop turns before and after, so a block at the very start or end is seen too.
    await sleep(20);
    const value = await run();
    await sleep(20);
    return { value, maxBlockMs: histogram.max / 1e6, maxBlockCpuMs: longest.cpu, p99DelayMs: histogram.percentile(99) / 1e6, blocksOver50 };
  } finally {
    histogram.disable();
    clearInterval(ticker);
  }
}

/** This process's RSS by kind, in MB: anonymous (heap, SQLite's cache) and file-backed (code, the index's memory map: the OS's cache). */
function rssKinds(): { anon: number; file: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'mu').exec(status)?.[1] ?? Number.NaN) / 1024;
  return { anon: field('RssAnon'), file: field('RssFile') + field('RssShmem') };
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function indexCase(args: ChildArgs) {
  // In the gateway the store has loaded better-sqlite3 long before memory is first used.
  const Database = loadCommonJs('better-sqlite3') as typeof BetterSqlite3;
  new Database(':memory:').close();
  const memory = service(args, { embeddings: args.baseUrl !== null, watch: true });
  const rssBeforeMb = process.memoryUsage.rss() / 1024 / 1024;
  const started = performance.now();
  const watched = await watchLoop(() => memory.index('main'));
  const wallMs = performance.now() - started;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const rssEnd = rssKinds();
  const result = watched.value;
  if (args.baseUrl !== null && result.vectors.pending !== 0) throw new Error(`${result.vectors.pending} chunks were left without vectors`);
  // Idle with the watcher on: V8 settles for a few seconds after the work, then nothing should run.
  await sleep(3000);
  const status = await memory.status('main');
  await sleep(500);
  const cpu0 = cpuMs();
  const elu0 = performance.eventLoopUtilization();
  await sleep(args.idleSeconds * 1000);
  const idleCpuMsPerS = (cpuMs() - cpu0) / args.idleSeconds;
  const idleLoopUtilization = performance.eventLoopUtilization(elu0).utilization;
  memory.stop();
  return {
    files: result.files,
    chunks: result.chunks,
    wallMs,
    chunksPerSecond: result.chunks / (wallMs / 1000),
    rssBeforeMb,
    peakRssMb,
    rssAnonEndMb: rssEnd.anon,
    rssFileEndMb: rssEnd.file,
    maxBlockMs: watched.maxBlockMs,
    maxBlockCpuMs: watched.maxBlockCpuMs,
    p99DelayMs: watched.p99DelayMs,
    blocksOver50: watched.blocksOver50,
    watchedPaths: status.watching.length,
    idleCpuMsPerS,
    idleLoopUtilization,
  };
}

/** Fills the search index: the files through the service's own sync (keyword), then vectors through `embedPending`. */
async function buildCase(args: ChildArgs) {
  let started = performance.now();
  const memory = service(args, { embeddings: false, watch: false });
  const result = await memory.index('main');
  memory.stop();
  const syncMs = performance.now() - started;
  started = performance.now();
  const index = openMemoryIndex(join(args.state, 'main.sqlite'));
  const embedded = await index.embedPending(localEmbeddings(args), { batchSize: 256 });
  index.close();
  return { files: result.files, chunks: result.chunks, embedded: embedded.embedded + embedded.fromCache, syncMs, embedMs: performance.now() - started, fileMb: statSync(join(args.state, 'main.sqlite')).size / 1024 / 1024 };
}

async function timeEach(queries: readonly string[], search: (query: string) => Promise<unknown>): Promise<number[]> {
  for (const query of queries.slice(0, 30)) await search(query);
  const times: number[] = [];
  for (const query of queries) {
    const started = performance.now();
    await search(query);
    times.push(performance.now() - started);
  }
  return times;
}

/** Waits (at most 60 s) until `ready()` says so; how long that took, in ms. */
async function waitUntil(ready: () => boolean | Promise<boolean>, what: string): Promise<number> {
  const started = performance.now();
  while (!(await ready())) {
    if (performance.now() - started > 60_000) throw new Error(`${what} did not happen within 60 s`);
    await sleep(10);
  }
  return performance.now() - started;
}

async function searchCase(args: ChildArgs) {
  const queries = generateQueries(args.queries);
  const index = openMemoryIndex(join(args.state, 'main.sqlite'));
  const client = localEmbeddings(args);
  const hits = { keyword: 0, hybrid: 0 };
  const keyword = await timeEach(queries, async (query) => {
    hits.keyword += (await index.search(query, null)).hits.length;
  });
  // The first search by meaning after a start loads the 8-bit copy of the vectors in the background
  // (sqlite-vec's exact scan answers meanwhile); the figures are for a gateway that has it loaded.
  const rssBeforeCopyMb = rssKinds().anon;
  const firstStarted = performance.now();
  await index.search(queries[0]!, client);
  const firstHybridMs = performance.now() - firstStarted;
  const copyLoadMs = await waitUntil(() => index.vectorCopy().loaded, 'loading the vector copy');
  const copy = { firstHybridMs, loadMs: copyLoadMs + firstHybridMs, mb: index.vectorCopy().bytes / 1024 / 1024, rssAnonGrowthMb: rssKinds().anon - rssBeforeCopyMb };
  const hybrid = await timeEach(queries, async (query) => {
    const result = await index.search(query, client);
    if (result.mode !== 'hybrid') throw new Error(`hybrid search fell back to keywords: ${result.warning}`);
    hits.hybrid += result.hits.length;
  });
  index.close();
  // As memory_search calls it: the query embedded by the fake server over loopback, the files re-checked at most once a second.
  const memory = service(args, { embeddings: true, watch: true });
  await memory.port.search('main', queries[0]!);
  await waitUntil(async () => (await memory.status('main')).vectorCopy.loaded, 'loading the service\'s vector copy');
  const viaService = await timeEach(queries, async (query) => {
    const result = await memory.port.search('main', query);
    if (result.mode !== 'hybrid') throw new Error(`memory_search fell back to keywords: ${result.warning}`);
  });
  memory.stop();
  const summary = (times: number[]) => ({ p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), maxMs: Math.max(...times) });
  return { keyword: summary(keyword), hybrid: summary(hybrid), service: summary(viaService), copy, hitsPerQuery: { keyword: hits.keyword / queries.length, hybrid: hits.hybrid / queries.length } };
}

async function child(args: ChildArgs): Promise<void> {
  const cases = { index: indexCase, build: buildCase, search: searchCase };
  const result = await cases[args.role](args);
  await new Promise<void>((resolve, reject) => process.send!({ result, cpuMs: cpuMs() }, (error: Error | null) => (error ? reject(error) : resolve())));
}

// ---------------------------------------------------------------------------------------------
// The orchestrator.

type IndexResult = Awaited<ReturnType<typeof indexCase>>;
type BuildResult = Awaited<ReturnType<typeof buildCase>>;
type SearchResult = Awaited<ReturnType<typeof searchCase>>;

/** Runs one case in a fresh child process; also how busy the other processes kept the machine meanwhile (cores). */
function runChild<T>(args: ChildArgs, options: Options, label: string): Promise<T & { otherCores: number }> {
  const execArgv = options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProf, '--cpu-prof-name', `${label}-${Date.now()}.cpuprofile`] : [];
  const machine0 = machineBusySeconds();
  const own0 = ownCpuSeconds();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const process_ = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify(args)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answer: { result: T; cpuMs: number } | undefined;
    process_.on('message', (message) => {
      answer = message as { result: T; cpuMs: number };
    });
    process_.on('error', reject);
    process_.on('exit', (code) => {
      if (!answer) return reject(new Error(`the ${label} case exited with ${code} before it answered`));
      const wall = (performance.now() - started) / 1000;
      const other = machineBusySeconds() - machine0 - (ownCpuSeconds() - own0) - answer.cpuMs / 1000;
      resolve({ ...answer.result, otherCores: Math.max(0, other) / wall });
    });
  });
}

function printTable(title: string, header: string[], rows: string[][]): void {
  const table = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)));
  console.log(`\n${title}`);
  for (const [index, row] of table.entries()) {
    console.log(`| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`);
    if (index === 0) console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  }
}

const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const count = (value: number) => Math.round(value).toLocaleString('en-US');

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.cpuProf) mkdirSync(options.cpuProf, { recursive: true });
  const root = mkdtempSync(join(tmpdir(), 'hearth-bench-memory-'));
  const server = await startFakeEmbeddingsServer({ dimensions: options.dimensions });
  console.log(`load average at start: ${loadavg()[0]?.toFixed(2)}; ${options.dimensions}-dimension vectors; ${options.queries} queries`);
  try {
    const workspaces = new Map<number, string>();
    const workspaceOf = (chunks: number) => {
      let workspace = workspaces.get(chunks);
      if (!workspace) {
        workspace = join(root, `workspace-${chunks}`);
        const started = performance.now();
        const made = generateWorkspace(workspace, chunks);
        console.log(`workspace of ${count(made.chunks)} chunks: ${made.files} files, ${(made.bytes / 1024 / 1024).toFixed(1)} MB, written in ${ms(performance.now() - started)} ms`);
        workspaces.set(chunks, workspace);
      }
      return workspace;
    };
    const base = { dimensions: options.dimensions, idleSeconds: options.idleSeconds, queries: options.queries };
    let stateCount = 0;
    const freshState = () => join(root, `state-${++stateCount}`);

    const indexRuns: { keyword: IndexResult & { otherCores: number }; embeddings: IndexResult & { otherCores: number } }[] = [];
    const indexWorkspace = workspaceOf(options.indexChunks);
    for (let run = 0; run < options.runs; run++) {
      const keyword = await runChild<IndexResult>({ role: 'index', workspace: indexWorkspace, state: freshState(), baseUrl: null, ...base }, options, 'index-keyword');
      const embeddings = await runChild<IndexResult>({ role: 'index', workspace: indexWorkspace, state: freshState(), baseUrl: server.baseUrl, ...base }, options, 'index-embeddings');
      indexRuns.push({ keyword, embeddings });
      console.log(`run ${run + 1} indexing: BENCH_RUN_JSON ${JSON.stringify(round({ keyword, embeddings }))}`);
    }

    const searches: { chunks: number; build: BuildResult; runs: (SearchResult & { otherCores: number })[] }[] = [];
    for (const chunks of options.chunks) {
      const state = freshState();
      const args: ChildArgs = { role: 'build', workspace: workspaceOf(chunks), state, baseUrl: server.baseUrl, ...base };
      const build = await runChild<BuildResult>(args, options, `build-${chunks}`);
      console.log(`index of ${count(build.chunks)} chunks built: sync ${(build.syncMs / 1000).toFixed(1)} s, vectors ${(build.embedMs / 1000).toFixed(1)} s, ${build.fileMb.toFixed(0)} MB on disk`);
      const runs: (SearchResult & { otherCores: number })[] = [];
      for (let run = 0; run < options.runs; run++) {
        const result = await runChild<SearchResult>({ ...args, role: 'search' }, options, `search-${chunks}`);
        runs.push(result);
        console.log(`run ${run + 1} search at ${chunks}: BENCH_RUN_JSON ${JSON.stringify(round(result))}`);
      }
      searches.push({ chunks: build.chunks, build, runs });
    }

    const index = medianOf(indexRuns);
    const medians = options.runs > 1 ? `medians of ${options.runs} runs` : 'one run';
    printTable(
      `Indexing ${count(index.keyword.chunks)} chunks (${index.keyword.files} files), ${medians}`,
      ['figure', 'keyword only', 'with embeddings', 'target'],
      [
        ['wall time (s)', (index.keyword.wallMs / 1000).toFixed(2), (index.embeddings.wallMs / 1000).toFixed(2), ''],
        ['chunks/s', count(index.keyword.chunksPerSecond), count(index.embeddings.chunksPerSecond), ''],
        ['peak RSS (MB; before indexing)', `${index.keyword.peakRssMb.toFixed(0)} (${index.keyword.rssBeforeMb.toFixed(0)})`, `${index.embeddings.peakRssMb.toFixed(0)} (${index.embeddings.rssBeforeMb.toFixed(0)})`, ''],
        ['  RSS when done: anonymous + file-backed (MB)', `${index.keyword.rssAnonEndMb.toFixed(0)} + ${index.keyword.rssFileEndMb.toFixed(0)}`, `${index.embeddings.rssAnonEndMb.toFixed(0)} + ${index.embeddings.rssFileEndMb.toFixed(0)}`, ''],
        ['longest event-loop block (ms)', ms(index.keyword.maxBlockMs), ms(index.embeddings.maxBlockMs), `< ${TARGETS.blockMs}`],
        ['  CPU used in it (ms; less: waiting for a core)', ms(index.keyword.maxBlockCpuMs), ms(index.embeddings.maxBlockCpuMs), ''],
        ['event-loop delay p99 (ms)', ms(index.keyword.p99DelayMs), ms(index.embeddings.p99DelayMs), ''],
        [`blocks over ${TARGETS.blockMs} ms`, String(index.keyword.blocksOver50), String(index.embeddings.blocksOver50), '0'],
        [`idle CPU after, watcher on (ms/s, ${options.idleSeconds} s)`, ms(index.keyword.idleCpuMsPerS), ms(index.embeddings.idleCpuMsPerS), `< ${TARGETS.idleCpuMsPerS}`],
        ['  paths watched', String(index.keyword.watchedPaths), String(index.embeddings.watchedPaths), ''],
        ["other processes' CPU (cores, noise)", index.keyword.otherCores.toFixed(2), index.embeddings.otherCores.toFixed(2), ''],
      ],
    );
    const searchMedians = searches.map((entry) => ({ chunks: entry.chunks, build: entry.build, ...medianOf(entry.runs) }));
    const pair = (figure: { p50Ms: number; p99Ms: number }) => `${ms(figure.p50Ms)} / ${ms(figure.p99Ms)}`;
    printTable(
      `Search, ${options.queries} queries, p50 / p99 in ms, ${medians}`,
      ['figure', ...searchMedians.map((entry) => `${count(entry.chunks)} chunks`), 'target'],
      [
        ['keyword (index.search, no embeddings)', ...searchMedians.map((entry) => pair(entry.keyword)), `p50 < ${TARGETS.searchP50Ms}`],
        ['hybrid (index.search, query vector in-process)', ...searchMedians.map((entry) => pair(entry.hybrid)), `p50 < ${TARGETS.searchP50Ms}`],
        ['memory_search (service; query embedded over loopback)', ...searchMedians.map((entry) => pair(entry.service)), ''],
        ['  hits per query (keyword / hybrid)', ...searchMedians.map((entry) => `${entry.hitsPerQuery.keyword.toFixed(1)} / ${entry.hitsPerQuery.hybrid.toFixed(1)}`), ''],
        ['  index on disk (MB)', ...searchMedians.map((entry) => entry.build.fileMb.toFixed(0)), ''],
        ['first search by meaning after start (ms; exact scan)', ...searchMedians.map((entry) => ms(entry.copy.firstHybridMs)), ''],
        ['  8-bit vector copy: loaded after (ms), size (MB)', ...searchMedians.map((entry) => `${count(entry.copy.loadMs)}, ${entry.copy.mb.toFixed(1)}`), ''],
        ['  anonymous RSS growth with the copy (MB)', ...searchMedians.map((entry) => entry.copy.rssAnonGrowthMb.toFixed(1)), ''],
        ["other processes' CPU (cores, noise)", ...searchMedians.map((entry) => entry.otherCores.toFixed(2)), ''],
      ],
    );
    console.log(`BENCH_JSON ${JSON.stringify(round({ runs: options.runs, dimensions: options.dimensions, queries: options.queries, index, search: searchMedians }))}`);
  } finally {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--child');
const entry = childAt >= 0 ? child(JSON.parse(process.argv[childAt + 1]!) as ChildArgs).then(() => process.exit(0)) : main();
entry.catch((error: unknown) => {
  console.error('bench failed:', error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
