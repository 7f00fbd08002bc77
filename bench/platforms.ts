/**
 * Every chat platform through the same path: the local server that speaks the platform's wire
 * protocol (the channel contract's harness), the real gateway process with the platform's own
 * client library, and the instant fake model. Messages from several people at once, each person's
 * next message sent when the last one was answered; the figures are what a person waits (message
 * sent at the platform's server → reply recorded by it) and what one account carries.
 *
 * Usage: node dist/bench/platforms.js [--platforms telegram,email,…] [--messages N (300)] [--senders S (8)] [--runs R (1)]
 * `bench/channels.ts` measures Telegram alone in more depth (start-up, idle CPU, many accounts).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { PlatformAccount, PlatformHarness, Person } from '../test/e2e/channel-contract.js';
import { runCli, testEnv, writeConfig } from '../test/support/gateway-harness.js';
import { createDiscordHarness } from '../test/support/platforms/discord-harness.js';
import { createEmailHarness } from '../test/support/platforms/email-harness.js';
import { createFeishuHarness } from '../test/support/platforms/feishu-harness.js';
import { createIrcHarness } from '../test/support/platforms/irc-harness.js';
import { createMatrixHarness } from '../test/support/platforms/matrix-harness.js';
import { createSignalHarness } from '../test/support/platforms/signal-harness.js';
import { createSlackHarness } from '../test/support/platforms/slack-harness.js';
import { createTelegramHarness } from '../test/support/platforms/telegram-harness.js';
import { createWhatsAppHarness } from '../test/support/platforms/whatsapp-harness.js';
import { medianOf, sleep, startFakeModelProcess, Tracker } from './bench-support.js';
import { cpuSeconds, percentile } from './proc-stats.js';

type HarnessFactory = () => Promise<Omit<PlatformHarness, 'newAccount'> & { newAccount(): Promise<PlatformAccount> }>;

const HARNESSES: Record<string, HarnessFactory> = {
  telegram: createTelegramHarness,
  discord: createDiscordHarness,
  slack: createSlackHarness,
  irc: createIrcHarness,
  signal: createSignalHarness,
  whatsapp: createWhatsAppHarness,
  feishu: createFeishuHarness,
  matrix: createMatrixHarness,
  email: createEmailHarness,
};

interface Options {
  platforms: string[];
  messages: number;
  senders: number;
  runs: number;
}

interface Result {
  platform: string;
  messagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerMessage: number;
  failed: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { platforms: Object.keys(HARNESSES), messages: 300, senders: 8, runs: 1 };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = () => argv[++index] ?? '';
    if (flag === '--platforms') options.platforms = value().split(',').filter((name) => name in HARNESSES);
    else if (flag === '--messages') options.messages = Math.max(10, Number(value()));
    else if (flag === '--senders') options.senders = Math.max(1, Number(value()));
    else if (flag === '--runs') options.runs = Math.max(1, Number(value()));
    else throw new Error(`unknown option ${flag} (known: --platforms ${Object.keys(HARNESSES).join(',')}, --messages, --senders, --runs)`);
  }
  return options;
}

/** Waits until the account's server has recorded a reply to `sender` holding `text`; resolves with when. */
async function replyAt(account: PlatformAccount, chatId: string, text: string, timeoutMs: number): Promise<number | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const found = account.sent().find((message) => message.chatId === chatId && message.text.includes(text));
    if (found) return performance.now();
    await sleep(2);
  }
  return null;
}

async function measure(platform: string, options: Options, tracker: Tracker, modelUrl: string): Promise<Result> {
  const harness = await (HARNESSES[platform] as HarnessFactory)();
  tracker.servers.add(harness);
  try {
    const account = await harness.newAccount();
    const home = tracker.home();
    harness.prepareHome?.(home);
    const settings = { ...account.settings, dmPolicy: 'open', allowFrom: ['*'], typingIntervalMs: 4000 };
    writeConfig(home, { models: { providers: { fake: { api: 'openai-chat', baseUrl: modelUrl, maxRetries: 0 } } }, agents: { defaults: { model: 'fake/echo' } }, logging: { level: 'warn' }, channels: { [platform]: settings } });
    const gateway = await tracker.start({ home, env: { HEARTH_LOG_LEVEL: 'warn' } });
    await harness.gatewayStarted?.(gateway.url, settings);
    const env = testEnv(home, { HEARTH_GATEWAY_URL: gateway.url });
    for (let waited = 0; waited < 30_000; waited += 100) {
      const status = JSON.parse((await runCli(['channels', 'status', '--json'], env)).stdout) as { connected: boolean }[];
      if (status[0]?.connected) break;
      await sleep(100);
    }
    const people: Person[] = Array.from({ length: options.senders }, (_, index) => ({ id: String(2001 + index), name: `Sender ${index}` }));
    const latencies: number[] = [];
    let failed = 0;
    let next = 0;
    const talk = async (person: Person, count: number) => {
      for (let n = 0; n < count; n++) {
        const text = `bench ${person.id} ${next++}`;
        const sent = performance.now();
        await account.dm(person, text);
        const at = await replyAt(account, account.dmChatId(person), `echo: ${text}`, 30_000);
        if (at === null) failed++;
        else latencies.push(at - sent);
      }
    };
    await Promise.all(people.map((person) => talk(person, 2)));
    latencies.length = 0;
    const cpu0 = cpuSeconds(gateway.child.pid as number);
    const started = performance.now();
    await Promise.all(people.map((person) => talk(person, Math.ceil(options.messages / options.senders))));
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(gateway.child.pid as number) - cpu0;
    await tracker.stopGateway(gateway, 10_000);
    tracker.dropHome(home);
    return {
      platform,
      messagesPerSecond: latencies.length / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      cpuMsPerMessage: latencies.length > 0 ? (cpu / latencies.length) * 1000 : Number.NaN,
      failed,
    };
  } finally {
    await harness.close();
    tracker.servers.delete(harness);
  }
}

function printTable(results: Result[], options: Options): void {
  console.log(`${options.runs > 1 ? `medians of ${options.runs} runs, ` : ''}${options.messages} messages from ${options.senders} people at once, each waiting for its answer`);
  console.log('| platform | messages/s | p50 (ms) | p99 (ms) | gateway CPU per message (ms) | unanswered |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) console.log(`| ${r.platform} | ${r.messagesPerSecond.toFixed(0)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.cpuMsPerMessage.toFixed(2)} | ${r.failed} |`);
  console.log(`BENCH_JSON ${JSON.stringify({ options, results })}`);
}

const tracker = new Tracker();
process.on('exit', () => tracker.killSync());
try {
  const options = parseOptions(process.argv.slice(2));
  console.error(`load average at start: ${loadavg()[0]?.toFixed(2)}`);
  const model = await startFakeModelProcess(tracker);
  const results: Result[] = [];
  for (const platform of options.platforms) {
    const runs: Result[] = [];
    for (let run = 0; run < options.runs; run++) runs.push(await measure(platform, options, tracker, model.openaiBaseUrl));
    results.push({ ...medianOf(runs), platform });
    console.error(`${platform}: done`);
  }
  await model.stop();
  printTable(results, options);
} finally {
  await tracker.cleanup();
}
