
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connectGateway } from '../src/cli/gateway-client.js';
import type { ChannelAccountStatus } from '../src/contracts/channel.js';
import { fakeTelegramToken, type FakeTelegramServer, type SentMessage, startFakeTelegramServer } from '../test/support/fake-telegram/fake-telegram-server.js';
import type { TestGateway } from '../test/support/gateway-harness.js';
import { httpRequest, keepAliveAgent } from './http-client.js';
import { type FakeModelProcess as FakeModel, medianOf, otherLoadMeter, round, sleep, startFakeModelProcess as startFakeModel, Tracker } from './bench-support.js';
import { cpuSeconds, ownCpuSeconds, percentile, preciseCpuSeconds, rssMb } from './proc-stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));

// ------------------------------------------------------------------ settings

interface Settings {
  warmupMessages: number;
  measuredMessages: number;
  /** People sending DMs, round-robin (each is its own DM session). */
  senders: number;
  /** Accounts in the "many accounts" gateway. */
  manyAccounts: number;
  /**
   * Idle time after every account is connected, before the idle window starts. 10 s rather than
   * 3 s: for the first ~10 s after start a gateway still does V8 housekeeping (idle-time GC, the
   * memory reducer) worth 0.2–0.8 % of a core, with or without channels, which would drown the
   * accounts' own cost in a 10 s window.
   */
  settleMs: number;
  /** The window over which idle CPU is measured. */
  idleWindowMs: number;
  /** Request bodies replayed straight at the fake model for the model baseline. */
  sampledBodies: number;
  /** Upper bound on one message's round trip before it counts as failed. */
  messageTimeoutMs: number;
  /**
   * Keep measuring idle CPU until one whole long-poll period has passed, so the window also holds
   * every account's poll renewal (accounts connected together renew together, every 30 s, which a
   * 10 s window starting 10 s after connecting never sees).
   */
  fullPollPeriod: boolean;
}

const FULL: Settings = {
  warmupMessages: 30,
  measuredMessages: 300,
  senders: 4,
  manyAccounts: 50,
  settleMs: 10_000,
  idleWindowMs: 10_000,
  sampledBodies: 100,
  messageTimeoutMs: 15_000,
  fullPollPeriod: true,
};

const QUICK: Settings = {
  ...FULL,
  warmupMessages: 10,
  measuredMessages: 60,
  settleMs: 1000,
  idleWindowMs: 3000,
  sampledBodies: 30,
  fullPollPeriod: false,
};

const TARGETS = {
  overheadP50Ms: 5,
  rssPerAccountMb: 2,
  /** "Without measurable idle CPU": below 0.5 % of one core with every account connected. */
  idleCpuPercent: 0.5,
};

/** The product's default long-poll timeout; polls are held this long when nothing happens. */
const POLL_TIMEOUT_SECONDS = 30;

interface Options {
  runs: number;
  settings: Settings;
  /** Profile the one-account gateway (diagnostics; its figures then include the profiler's cost). */
  cpuProfDir?: string;
  /** Then every built-in platform (bench/platforms.ts); off with --telegram-only. */
  platforms: boolean;
}

function parseOptions(argv: string[]): Options {
  let runs = 1;
  let settings = FULL;
  let cpuProfDir: string | undefined;
  let platforms = true;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--runs') runs = Math.max(1, Math.min(10, Number(argv[++index]) || 1));
    else if (arg.startsWith('--runs=')) runs = Math.max(1, Math.min(10, Number(arg.slice(7)) || 1));
    else if (arg === '--quick') settings = QUICK;
    else if (arg === '--cpu-prof') cpuProfDir = resolve(argv[++index] ?? 'bench-profiles');
    else if (arg.startsWith('--cpu-prof=')) cpuProfDir = resolve(arg.slice(11));
    else if (arg === '--telegram-only') platforms = false;
    else throw new Error(`unknown option ${arg} (known: --runs N, --quick, --cpu-prof DIR, --telegram-only)`);
  }
  return { runs, settings, platforms, ...(cpuProfDir ? { cpuProfDir } : {}) };
}

// ------------------------------------------------------------------ per-process figures

/** Context switches of a process's main thread (its event loop): one per wake-up, so timers show up here. */
function mainThreadSwitches(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const voluntary = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(status);
    const forced = /^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status);
    return Number(voluntary?.[1] ?? Number.NaN) + Number(forced?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

// ------------------------------------------------------------------ gateway config and status

/** Starts a gateway in a fresh home with quiet logs. */
function startGateway(tracker: Tracker, config: unknown, env: Record<string, string> = {}): Promise<TestGateway> {
  return tracker.start({ home: tracker.home(), config, env: { HEARTH_LOG_LEVEL: 'warn', ...env }, timeoutMs: 30_000 });
}

/** Stops a gateway (SIGKILL after the grace period) and removes its home. */
async function stopGateway(tracker: Tracker, gateway: TestGateway): Promise<void> {
  await tracker.stopGateway(gateway);
  tracker.dropHome(gateway.home);
}

/** Environment that makes a gateway profile itself (bench/diagnostics-preload), or nothing. */
function profileEnv(cpuProfDir: string | undefined): Record<string, string> {
  if (!cpuProfDir) return {};
  mkdirSync(cpuProfDir, { recursive: true });
  // Node 20 refuses --cpu-prof in NODE_OPTIONS, so a preload starts the profiler instead.
  return { NODE_OPTIONS: `--import=${pathToFileURL(join(HERE, 'diagnostics-preload.js')).href}`, BENCH_CPU_PROF_DIR: cpuProfDir };
}

/** A gateway with these Telegram bot tokens as accounts a1..aN (none: no `channels` at all). */
function gatewayConfig(modelBaseUrl: string, apiRoot: string, tokens: string[]) {
  const base = {
    models: { providers: { fake: { api: 'openai-chat', baseUrl: modelBaseUrl, maxRetries: 0, timeoutMs: 30_000 } } },
    agents: { defaults: { model: 'fake/echo' } },
    logging: { level: 'warn' },
  };
  if (tokens.length === 0) return base;
  const accounts = Object.fromEntries(tokens.map((botToken, index) => [`a${index + 1}`, { botToken }]));
  return {
    ...base,
    channels: { telegram: { apiRoot, dmPolicy: 'open', allowFrom: ['*'], pollTimeoutSeconds: POLL_TIMEOUT_SECONDS, accounts } },
  };
}

/** Polls the WS RPC `channels.status` until `expected` accounts are connected. */
async function waitConnected(gateway: TestGateway, expected: number, timeoutMs: number): Promise<void> {
  if (expected === 0) return;
  const client = await connectGateway(gateway.url, gateway.token, { name: 'hearth-bench-channels', version: '1' });
  try {
    const deadline = performance.now() + timeoutMs;
    let last: ChannelAccountStatus[] = [];
    for (;;) {
      last = (await client.call<{ accounts: ChannelAccountStatus[] }>('channels.status', {}, 10_000)).accounts;
      if (last.filter((account) => account.connected).length >= expected) return;
      if (performance.now() > deadline) {
        const down = last.filter((account) => !account.connected).map((account) => `${account.accountId} ${account.state} ${account.lastError ?? ''}`);
        throw new Error(`only ${last.length - down.length} of ${expected} accounts connected after ${timeoutMs} ms; not connected: ${down.slice(0, 5).join('; ')}`);
      }
      await sleep(100);
    }
  } finally {
    client.close();
  }
}

// ------------------------------------------------------------------ replies and messages

interface ReplyArrival {
  /** `performance.now()` when the fake server recorded the reply. */
  hr: number;
  message: SentMessage;
}

/**
 * Tells the bench the moment a reply reaches the fake Telegram server. The server records every
 * `sendMessage` by pushing onto its `sent` list synchronously while handling the request, so
 * wrapping that list's `push` gives a sub-millisecond timestamp (the entry's own `at` is
 * `Date.now()`, whole milliseconds; it is kept as a cross-check) without polling.
 */
function watchReplies(server: FakeTelegramServer) {
  const list = server.sent;
  const push = list.push.bind(list);
  const waiters = new Set<{ match: (message: SentMessage) => boolean; resolve: (arrival: ReplyArrival) => void }>();
  list.push = (...items: SentMessage[]): number => {
    const hr = performance.now();
    const length = push(...items);
    for (const item of items) {
      for (const waiter of waiters) {
        if (waiter.match(item)) {
          waiters.delete(waiter);
          waiter.resolve({ hr, message: item });
        }
      }
    }
    return length;
  };
  return {
    /** Resolves with the first recorded message that matches, or rejects after `timeoutMs`. */
    next(match: (message: SentMessage) => boolean, timeoutMs: number): Promise<ReplyArrival> {
      return new Promise<ReplyArrival>((resolve, reject) => {
        const waiter = {
          match,
          resolve: (arrival: ReplyArrival) => {
            clearTimeout(timer);
            resolve(arrival);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no reply within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}

type ReplyWatcher = ReturnType<typeof watchReplies>;

/** Waits (briefly) until `expected` long polls are held, i.e. every account is back to waiting for updates. */
async function pollsHeld(server: FakeTelegramServer, expected: number, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (server.pendingPolls < expected) {
    if (performance.now() > deadline) throw new Error(`only ${server.pendingPolls} of ${expected} long polls held after ${timeoutMs} ms`);
    await sleep(1);
  }
}

interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  count: number;
  errors: number;
}

function summarize(samples: number[], errors: number): LatencySummary {
  return { p50: percentile(samples, 50), p90: percentile(samples, 90), p99: percentile(samples, 99), count: samples.length, errors };
}

interface MessagePhase {
  total: LatencySummary;
  /** The same figure from whole-millisecond `Date.now()` stamps (inject vs the reply's `at`), p50. */
  totalDateNowP50: number;
  /** Injection → the fake server answering the held poll (its batching timer), p50. */
  pollAnswerP50: number;
  /** The overhead counted from the poll answer instead of the injection (the fake server's batching left out), p50 and p99. */
  afterPollOverheadP50: number;
  afterPollOverheadP99: number;
  model: LatencySummary;
  overheadP50: number;
  overheadP90: number;
  overheadP99: number;
  /** Gateway CPU per measured message, ms. */
  gatewayCpuPerMessageMs: number;
  /** This process's CPU per measured message (mostly the fake Telegram server), ms. */
  benchCpuPerMessageMs: number;
  accounts: number;
}

/**
 * Sends `warm-up + measured` DMs one at a time, round-robin over the senders and the accounts'
 * tokens, each to a held long poll, and times each until its reply reaches the fake server.
 */
async function measureMessages(
  label: string,
  gateway: TestGateway,
  server: FakeTelegramServer,
  replies: ReplyWatcher,
  model: FakeModel,
  tokens: string[],
  heldPolls: number,
  settings: Settings,
  tag: string,
): Promise<MessagePhase> {
  const pid = gateway.child.pid!;
  const senders = Array.from({ length: settings.senders }, (_, index) => ({ id: 7_000_001 + index, first_name: `Sender${index + 1}`, username: `sender_${index + 1}` }));
  let firstError: string | undefined;
  const send = async (index: number): Promise<{ hr: number; dateNow: number; pollAnswer: number }> => {
    const sender = senders[index % senders.length]!;
    // Accounts advance once per full round of senders, so every (account, sender) pair comes up.
    const token = tokens[Math.floor(index / senders.length) % tokens.length]!;
    const text = `bench ${tag} ${index}`;
    const expected = `echo: ${text}`;
    await pollsHeld(server, heldPolls);
    const reply = replies.next((message) => message.method === 'sendMessage' && message.token === token && message.chatId === sender.id && message.text === expected, settings.messageTimeoutMs);
    const startedDate = Date.now();
    const started = performance.now();
    server.injectMessage({ token, chatType: 'private', chatId: sender.id, from: sender, text });
    // The fake server answers the held poll from a setImmediate (it batches updates injected
    // together). One queued now runs right after that one, so it marks when the poll answer was
    // written: the part of the time that is the fake server's, not the gateway's.
    let pollAnswered = Number.NaN;
    setImmediate(() => {
      pollAnswered = performance.now();
    });
    const arrival = await reply;
    return { hr: arrival.hr - started, dateNow: arrival.message.at - startedDate, pollAnswer: pollAnswered - started };
  };
  const run = async (count: number, offset: number) => {
    const samples: number[] = [];
    const dateSamples: number[] = [];
    const pollAnswerSamples: number[] = [];
    const afterPollSamples: number[] = [];
    let errors = 0;
    for (let index = 0; index < count && errors < 10; index++) {
      try {
        const timing = await send(offset + index);
        samples.push(timing.hr);
        dateSamples.push(timing.dateNow);
        pollAnswerSamples.push(timing.pollAnswer);
        afterPollSamples.push(timing.hr - timing.pollAnswer);
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
    return { samples, dateSamples, pollAnswerSamples, afterPollSamples, errors };
  };

  const warm = await run(settings.warmupMessages, 0);
  if (warm.errors > 0) throw new Error(`${label}: ${warm.errors} warm-up messages got no reply; first: ${firstError}`);
  await model.clear();
  const cpu0 = cpuSeconds(pid);
  const benchCpu0 = ownCpuSeconds();
  const measured = await run(settings.measuredMessages, settings.warmupMessages);
  const cpuUsed = cpuSeconds(pid) - cpu0;
  const benchCpuUsed = ownCpuSeconds() - benchCpu0;
  if (measured.errors > 0) console.error(`${label}: ${measured.errors} measured messages got no reply; first: ${firstError}`);
  const sample = await model.sample(settings.sampledBodies);
  const modelSummary = await modelBaseline(model, sample.bodies, settings);
  const total = summarize(measured.samples, measured.errors);
  const afterPoll = summarize(measured.afterPollSamples, measured.errors);
  return {
    total,
    totalDateNowP50: percentile(measured.dateSamples, 50),
    pollAnswerP50: percentile(measured.pollAnswerSamples, 50),
    afterPollOverheadP50: afterPoll.p50 - modelSummary.p50,
    afterPollOverheadP99: afterPoll.p99 - modelSummary.p99,
    model: modelSummary,
    overheadP50: total.p50 - modelSummary.p50,
    overheadP90: total.p90 - modelSummary.p90,
    overheadP99: total.p99 - modelSummary.p99,
    gatewayCpuPerMessageMs: measured.samples.length > 0 ? (cpuUsed / measured.samples.length) * 1000 : Number.NaN,
    benchCpuPerMessageMs: measured.samples.length > 0 ? (benchCpuUsed / measured.samples.length) * 1000 : Number.NaN,
    accounts: tokens.length,
  };
}

/**
 * The model's own share of a message's time: the chat-completion bodies the gateway sent during
 * the measured messages (captured at the fake model) replayed straight at it, one at a time, over
 * a keep-alive connection, reading each (streamed) answer to its end, as bench/run.ts does. What
 * is left of the total after subtracting this is the gateway plus the channel: the Telegram poll
 * answer, parsing, persisting the message, routing, the turn, the outbox and `sendMessage`.
 */
async function modelBaseline(model: FakeModel, bodies: string[], settings: Settings): Promise<LatencySummary> {
  if (bodies.length === 0) return summarize([], 0);
  const agent = keepAliveAgent(1);
  const headers = { authorization: 'Bearer hearth-no-api-key', accept: 'application/json' };
  const direct = async (index: number): Promise<number> => {
    const body = bodies[index % bodies.length]!;
    const started = performance.now();
    const response = await httpRequest({ agent, port: model.port, path: '/v1/chat/completions', method: 'POST', headers, body });
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`fake model answered ${response.status}`);
    return elapsed;
  };
  try {
    for (let index = 0; index < settings.warmupMessages; index++) await direct(index);
    const samples: number[] = [];
    for (let index = 0; index < settings.measuredMessages; index++) samples.push(await direct(index));
    return summarize(samples, 0);
  } finally {
    agent.destroy();
  }
}

// ------------------------------------------------------------------ one run

interface IdleFigures {
  accounts: number;
  /** CPU % of one core over the window, from `cpuSeconds` (10 ms clock ticks). */
  cpuPercent: number;
  /** The same from the scheduler's nanosecond counters. */
  preciseCpuPercent: number;
  /** Event-loop thread wake-ups per second during the window. */
  wakeupsPerSecond: number;
  /** RSS at the end of the window. */
  rssMb: number;
}

interface IdleWindow {
  seconds: number;
  none: IdleFigures;
  one: IdleFigures;
  many: IdleFigures;
  /** Long polls the fake server received per second during the window (all gateways). */
  pollsPerSecond: number;
  /** CPU each account beyond the first added over the window, ms ((many − one) / extra accounts, precise counters). */
  extraCpuMsPerAccount: number;
}

interface RunResult {
  /** The idle window (10 s, after every account connected and a settle). */
  idle: IdleWindow;
  /** The same window continued to one whole long-poll period, so it holds every account's poll renewal. */
  pollPeriod?: IdleWindow;
  /** Idle RSS of the gateways with no channels, 1 and many accounts, at the end of the longest window. */
  rssNoneMb: number;
  rssOneMb: number;
  rssManyMb: number;
  rssPerExtraAccountMb: number;
  /** Cores used by other processes on the machine during the idle window (noise). */
  otherCoresIdle: number;
  oneAccount: MessagePhase;
  manyAccounts: MessagePhase;
  otherCoresMessages: number;
  connectAllMs: number;
  runSeconds: number;
}

async function runOnce(runIndex: number, model: FakeModel, server: FakeTelegramServer, replies: ReplyWatcher, tokens: string[], options: Options, tracker: Tracker): Promise<RunResult> {
  const { settings } = options;
  const runStarted = performance.now();
  const oneTokens = tokens.slice(0, 1);
  const manyTokens = tokens.slice(1, 1 + settings.manyAccounts);

  // Three gateways side by side: no channels, one account, many accounts.
  const [none, one, many] = await Promise.all([
    startGateway(tracker, gatewayConfig(model.openaiBaseUrl, server.apiRoot, [])),
    startGateway(tracker, gatewayConfig(model.openaiBaseUrl, server.apiRoot, oneTokens), profileEnv(options.cpuProfDir)),
    startGateway(tracker, gatewayConfig(model.openaiBaseUrl, server.apiRoot, manyTokens)),
  ]);
  const connectStarted = performance.now();
  await Promise.all([waitConnected(one, 1, 20_000), waitConnected(many, manyTokens.length, 30_000)]);
  const connectAllMs = performance.now() - connectStarted;
  const heldPolls = oneTokens.length + manyTokens.length;
  await pollsHeld(server, heldPolls);

  // Idle: all three gateways over the same window, after they settle.
  await sleep(settings.settleMs);
  const gateways = [none, one, many] as const;
  const pids = gateways.map((gateway) => gateway.child.pid!);
  const noise = otherLoadMeter([...pids, model.pid]);
  const readings = () => ({
    at: performance.now(),
    polls: server.pollCount,
    ticks: pids.map(cpuSeconds),
    precise: pids.map(preciseCpuSeconds),
    switches: pids.map(mainThreadSwitches),
    rss: pids.map(rssMb),
  });
  const start = readings();
  await sleep(settings.idleWindowMs);
  const tenSeconds = readings();
  const idleFigures = (from: typeof start, to: typeof start) => {
    const seconds = (to.at - from.at) / 1000;
    const figure = (index: number, accounts: number): IdleFigures => ({
      accounts,
      cpuPercent: ((to.ticks[index]! - from.ticks[index]!) / seconds) * 100,
      preciseCpuPercent: ((to.precise[index]! - from.precise[index]!) / seconds) * 100,
      wakeupsPerSecond: (to.switches[index]! - from.switches[index]!) / seconds,
      rssMb: to.rss[index]!,
    });
    const extraAccounts = Math.max(1, manyTokens.length - oneTokens.length);
    return {
      seconds,
      none: figure(0, 0),
      one: figure(1, oneTokens.length),
      many: figure(2, manyTokens.length),
      pollsPerSecond: (to.polls - from.polls) / seconds,
      extraCpuMsPerAccount: ((to.precise[2]! - from.precise[2]! - (to.precise[1]! - from.precise[1]!)) * 1000) / extraAccounts,
    };
  };
  const idle = idleFigures(start, tenSeconds);
  let pollPeriod: ReturnType<typeof idleFigures> | undefined;
  if (settings.fullPollPeriod) {
    // Up to one poll period (plus a margin for the renewed polls to be handled) from the window's start.
    await sleep(Math.max(0, start.at + POLL_TIMEOUT_SECONDS * 1000 + 1000 - performance.now()));
    pollPeriod = idleFigures(start, readings());
  }
  const otherCoresIdle = noise();
  await stopGateway(tracker, none);

  // Messages: through the one-account gateway, then spread over the many-account gateway's accounts.
  const messageNoise = otherLoadMeter([one.child.pid!, many.child.pid!, model.pid]);
  const oneAccount = await measureMessages('1 account', one, server, replies, model, oneTokens, heldPolls, settings, `r${runIndex}-one`);
  const manyAccounts = await measureMessages(`${manyTokens.length} accounts`, many, server, replies, model, manyTokens, heldPolls, settings, `r${runIndex}-many`);
  const otherCoresMessages = messageNoise();
  await Promise.all([stopGateway(tracker, one), stopGateway(tracker, many)]);

  // RSS from the end of the longest window: by then V8's memory reducer, which shrinks a fresh
  // gateway's heap some 20 s after start, has usually run in every gateway.
  const last = pollPeriod ?? idle;
  return {
    idle,
    ...(pollPeriod ? { pollPeriod } : {}),
    rssNoneMb: last.none.rssMb,
    rssOneMb: last.one.rssMb,
    rssManyMb: last.many.rssMb,
    rssPerExtraAccountMb: (last.many.rssMb - last.one.rssMb) / Math.max(1, last.many.accounts - last.one.accounts),
    otherCoresIdle,
    oneAccount,
    manyAccounts,
    otherCoresMessages,
    connectAllMs,
    runSeconds: (performance.now() - runStarted) / 1000,
  };
}

// ------------------------------------------------------------------ reporting

const ms = (value: number) => `${value.toFixed(2)} ms`;
const mb = (value: number) => `${value.toFixed(1)} MB`;
const pct = (value: number) => `${value.toFixed(2)} %`;

function printTable(result: RunResult, runs: number): void {
  type Row = [metric: string, value: string, target: string, verdict: string];
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const rows: Row[] = [];
  for (const phase of [result.oneAccount, result.manyAccounts]) {
    const where = phase.accounts === 1 ? '1 account' : `${phase.accounts} accounts, round-robin`;
    const headline = phase === result.oneAccount;
    rows.push(
      [
        `DM in → reply out, ${where}: p50 / p90 / p99`,
        `${ms(phase.total.p50)} / ${ms(phase.total.p90)} / ${ms(phase.total.p99)}`,
        '(info)',
        phase.total.errors > 0 ? `${phase.total.errors} lost` : '',
      ],
      ['  same model requests direct to the model p50 / p90 / p99', `${ms(phase.model.p50)} / ${ms(phase.model.p90)} / ${ms(phase.model.p99)}`, '(info)', ''],
      [
        `  gateway + channel overhead p50${headline ? '' : ' (info)'}`,
        ms(phase.overheadP50),
        headline ? `< ${TARGETS.overheadP50Ms} ms` : '(info)',
        headline ? verdict(phase.overheadP50 < TARGETS.overheadP50Ms) : '',
      ],
      ['  gateway + channel overhead p90 / p99', `${ms(phase.overheadP90)} / ${ms(phase.overheadP99)}`, '(info)', ''],
      ["  of which the fake server's batching before it answers the poll, p50", ms(phase.pollAnswerP50), '(info)', ''],
      ['  overhead counted from the poll answer, p50 / p99', `${ms(phase.afterPollOverheadP50)} / ${ms(phase.afterPollOverheadP99)}`, '(info)', ''],
      ['  total p50 from Date.now() stamps (cross-check)', ms(phase.totalDateNowP50), '(info)', ''],
      ['  CPU per message: gateway / bench process (fake Telegram)', `${ms(phase.gatewayCpuPerMessageMs)} / ${ms(phase.benchCpuPerMessageMs)}`, '(info)', ''],
    );
  }
  const idleRows = (window: IdleWindow, what: string, judged: boolean) => {
    for (const figure of [window.none, window.one, window.many]) {
      const many = judged && figure === window.many;
      rows.push([
        `Idle CPU over ${what}, ${figure.accounts} account${figure.accounts === 1 ? '' : 's'} (% of one core)`,
        `${pct(figure.cpuPercent)} (precise ${pct(figure.preciseCpuPercent)}, ${figure.wakeupsPerSecond.toFixed(1)} wake-ups/s)`,
        many ? `< ${TARGETS.idleCpuPercent} %` : '(info)',
        many ? verdict(figure.preciseCpuPercent < TARGETS.idleCpuPercent) : '',
      ]);
    }
    rows.push(
      [`  CPU per extra idle account over the ${Math.round(window.seconds)} s`, ms(window.extraCpuMsPerAccount), '(info)', ''],
      ['  long polls received per second, all gateways', window.pollsPerSecond.toFixed(2), '(info)', ''],
    );
  };
  const rssWindow = `${Math.round((result.pollPeriod ?? result.idle).seconds)} s`;
  idleRows(result.idle, `${Math.round(result.idle.seconds)} s`, true);
  if (result.pollPeriod) idleRows(result.pollPeriod, `${Math.round(result.pollPeriod.seconds)} s (1 poll period)`, false);
  rows.push(
    [`  time for all ${result.idle.many.accounts + result.idle.one.accounts} accounts to connect`, ms(result.connectAllMs), '(info)', ''],
    [`Idle RSS, no channels (end of the ${rssWindow} window)`, mb(result.rssNoneMb), '(info)', ''],
    [`Idle RSS, 1 / ${result.idle.many.accounts} accounts (same time)`, `${mb(result.rssOneMb)} / ${mb(result.rssManyMb)}`, '(info)', ''],
    [
      'RSS per extra idle account',
      mb(result.rssPerExtraAccountMb),
      `< ${TARGETS.rssPerAccountMb} MB`,
      verdict(result.rssPerExtraAccountMb < TARGETS.rssPerAccountMb),
    ],
    [
      "Other processes' CPU during idle window / messages",
      `${result.otherCoresIdle.toFixed(2)} / ${result.otherCoresMessages.toFixed(2)} cores`,
      '(noise)',
      result.otherCoresIdle > 0.25 || result.otherCoresMessages > 0.25 ? 'NOISY' : 'quiet',
    ],
  );
  const header: Row = ['metric', runs > 1 ? `value (median of ${runs} runs)` : 'value', 'target', 'pass/fail'];
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]!.length)));
  const line = (row: Row) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const { settings } = options;
  const tracker = new Tracker();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${signal}: stopping the gateways and the fake servers, removing temp homes…`);
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
    options.runs * 120_000,
  );
  watchdog.unref();

  const results: RunResult[] = [];
  let failed = false;
  try {
    // One fake Telegram server for every gateway: a token per account (the first is the single-account gateway's).
    const tokens = Array.from({ length: 1 + settings.manyAccounts }, (_, index) => fakeTelegramToken(5_100_000_000 + index));
    const server = await startFakeTelegramServer({ tokens });
    tracker.servers.add(server);
    const replies = watchReplies(server);
    const model = await startFakeModel(tracker);
    try {
      for (let run = 0; run < options.runs; run++) {
        const result = await runOnce(run, model, server, replies, tokens, options, tracker);
        results.push(result);
        if (options.runs > 1) {
          console.log(`\nrun ${run + 1}/${options.runs} (${result.runSeconds.toFixed(1)} s):`);
          printTable(result, 1);
          console.log(`BENCH_RUN_JSON ${JSON.stringify(round(result))}`);
        }
      }
    } finally {
      await model.stop();
      await server.close();
      tracker.servers.delete(server);
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
    if (options.cpuProfDir) console.log(`one-account gateway CPU profiles: ${options.cpuProfDir} (summarise with node dist/bench/profile-summary.js DIR)`);
  }
  if (options.platforms && !failed) failed = !everyPlatform(options);
  process.exitCode = failed ? 1 : 0;
}

/** Then every built-in platform through its own local server (bench/platforms.ts), in its own process. */
function everyPlatform(options: Options): boolean {
  console.log('\nEvery platform, each through its local server (bench/platforms.ts):');
  const args = options.settings === QUICK ? ['--messages', '50'] : [];
  return spawnSync(process.execPath, [join(HERE, 'platforms.js'), ...args], { stdio: 'inherit' }).status === 0;
}

void main();
